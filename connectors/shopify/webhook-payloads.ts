// The Shopify webhook bodies the connector reads (REST JSON, the fields it needs), and their
// mapping onto the engine's order callbacks. Pure: no I/O.
import { z } from 'zod';
import { SKU_PATTERN } from '../../src/core/ids.js';
import type { ChannelOrder } from '../channel-connector.js';

export const SHOPIFY_TOPICS = ['inventory_levels/update', 'orders/create', 'orders/cancelled', 'refunds/create', 'fulfillments/create'] as const;
export type ShopifyTopic = (typeof SHOPIFY_TOPICS)[number];

const id = z.number().int().positive();
const at = z.iso.datetime({ offset: true });
const lineItem = z.object({ id, sku: z.string().nullable().optional(), quantity: z.number().int().min(0), variant_id: id.nullable().optional() });

export const levelUpdateSchema = z.object({ inventory_item_id: id, location_id: id, available: z.number().int().nullable(), updated_at: at });
export const orderSchema = z.object({
  id,
  created_at: at,
  cancelled_at: at.nullable().optional(),
  location_id: id.nullable().optional(),
  shipping_address: z.object({ latitude: z.number().nullable().optional(), longitude: z.number().nullable().optional() }).nullable().optional(),
  shipping_lines: z.array(z.object({ code: z.string().nullable().optional(), source: z.string().nullable().optional() })).optional(),
  line_items: z.array(lineItem).min(1),
});
export const refundSchema = z.object({
  id, order_id: id, created_at: at,
  refund_line_items: z.array(z.object({
    id, line_item_id: id, location_id: id.nullable().optional(), quantity: z.number().int().min(0),
    restock_type: z.string(), line_item: lineItem,
  })),
});
export const fulfillmentSchema = z.object({ id, order_id: id, created_at: at, status: z.string(), line_items: z.array(lineItem) });

export const locationGid = (n: number) => `gid://shopify/Location/${n}`;
export const itemGid = (n: number) => `gid://shopify/InventoryItem/${n}`;

export type Mapped<T> = { ok: true; value: T } | { ok: false; reason: string };

const isOurSku = (s: string | null | undefined): s is string => typeof s === 'string' && SKU_PATTERN.test(s);

/** orders/create → the engine's order; every line must carry a SKU of ours, a pickup store must be mapped. */
export function mapOrder(o: z.infer<typeof orderSchema>, locationMap: Readonly<Record<string, string>>): Mapped<ChannelOrder> {
  const lines: ChannelOrder['lines'] = [];
  for (const l of o.line_items) {
    if (l.quantity === 0) continue;
    if (!isOurSku(l.sku)) return { ok: false, reason: `line ${l.id}: sku ${JSON.stringify(l.sku ?? null)} does not match any of ours` };
    lines.push({ sku: l.sku, quantity: l.quantity, lineRef: String(l.id) });
  }
  if (lines.length === 0) return { ok: false, reason: 'order has no line with a quantity' };
  const pickup = (o.shipping_lines ?? []).some((s) => (s.code ?? '').toLowerCase() === 'pickup');
  const order: ChannelOrder = { orderRef: String(o.id), method: pickup ? 'pickup' : 'ship', lines, occurredAt: o.created_at };
  if (pickup) {
    const store = o.location_id ? locationMap[locationGid(o.location_id)] : undefined;
    if (!store) return { ok: false, reason: `pickup location ${o.location_id ?? 'none'} is not in locationMap` };
    order.pickupLocationId = store;
  }
  const lat = o.shipping_address?.latitude;
  const lon = o.shipping_address?.longitude;
  if (!pickup && typeof lat === 'number' && typeof lon === 'number') order.destination = { lat, lon };
  return { ok: true, value: order };
}

/** refunds/create: lines put back on a shelf ("return"; "legacy_restock" in older refunds), split into mapped and not. */
export function mapRestock(r: z.infer<typeof refundSchema>, locationMap: Readonly<Record<string, string>>) {
  const lines: Array<{ sku: string; locationId: string; quantity: number }> = [];
  const unmapped: Array<{ lineId: number; reason: string }> = [];
  for (const l of r.refund_line_items) {
    if (!['return', 'legacy_restock'].includes(l.restock_type) || l.quantity === 0) continue;
    const loc = l.location_id ? locationMap[locationGid(l.location_id)] : undefined;
    if (!isOurSku(l.line_item.sku)) unmapped.push({ lineId: l.id, reason: `sku ${JSON.stringify(l.line_item.sku ?? null)} does not match any of ours` });
    else if (!loc) unmapped.push({ lineId: l.id, reason: `location ${l.location_id ?? 'none'} is not in locationMap` });
    else lines.push({ sku: l.line_item.sku, locationId: loc, quantity: l.quantity });
  }
  return { lines, unmapped };
}

export function mapFulfilment(f: z.infer<typeof fulfillmentSchema>) {
  return f.line_items.filter((l) => isOurSku(l.sku) && l.quantity > 0).map((l) => ({ sku: l.sku as string, quantity: l.quantity }));
}
