// Shopify webhooks (POST /webhooks/shopify/{channelId}): HMAC of the raw body with the app's
// secret, the delivery id for the engine's dedupe, and each topic mapped to the orders sink or
// to the level accounting (merchant edits). Anything that cannot be mapped is quarantined and
// acknowledged, so that Shopify does not retry it for days.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookHeaders, WebhookOutcome, WebhookReceiver } from '../channel-connector.js';
import { formatZodIssues } from '../../src/core/stock-event.js';
import type { ShopifyConnector } from './shopify-connector.js';
import {
  fulfillmentSchema, levelUpdateSchema, locationGid, mapFulfilment, mapOrder, mapRestock, orderSchema, refundSchema, SHOPIFY_TOPICS, type ShopifyTopic,
} from './webhook-payloads.js';

function header(headers: WebhookHeaders, name: string): string | undefined {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

type Result = { outcome: WebhookOutcome; detail?: string };

export class ShopifyWebhooks implements WebhookReceiver {
  constructor(private readonly c: ShopifyConnector) {}

  verify(rawBody: Buffer, headers: WebhookHeaders): boolean {
    const given = header(headers, 'x-shopify-hmac-sha256');
    if (!given) return false;
    const expected = createHmac('sha256', this.c.ctx.settings.apiSecret).update(rawBody).digest();
    const got = Buffer.from(given, 'base64');
    return got.length === expected.length && timingSafeEqual(got, expected);
  }

  deliveryId(_raw: Buffer, headers: WebhookHeaders): string | null {
    return header(headers, 'x-shopify-webhook-id') ?? null;
  }

  async handle(rawBody: Buffer, headers: WebhookHeaders): Promise<Result> {
    // The library's own validation as well: signature and the headers Shopify always sends.
    const lib = await this.c.client.api.webhooks.validate({
      rawBody: rawBody.toString('utf8'),
      rawRequest: { headers: { ...headers }, method: 'POST', url: `/webhooks/shopify/${this.c.channelId}` },
      rawResponse: {},
    } as never);
    if (!lib.valid) {
      const missing = 'missingHeaders' in lib ? (lib.missingHeaders as string[]) : [];
      return { outcome: 'malformed', detail: missing.length ? `missing Shopify headers: ${missing.join(', ')}` : `webhook refused by @shopify/shopify-api: ${lib.reason}` };
    }
    const topic = header(headers, 'x-shopify-topic') ?? '';
    if (!(SHOPIFY_TOPICS as readonly string[]).includes(topic)) return { outcome: 'unknown-topic', detail: `topic ${JSON.stringify(topic)} is not one this connector subscribes to` };
    const domain = header(headers, 'x-shopify-shop-domain');
    if (domain !== this.c.ctx.settings.shop) return { outcome: 'ignored', detail: `shop ${domain} is not this channel's ${this.c.ctx.settings.shop}` };
    let json: unknown;
    try {
      json = JSON.parse(rawBody.toString('utf8'));
    } catch {
      return { outcome: 'malformed', detail: 'body is not JSON' };
    }
    return this.dispatch(topic as ShopifyTopic, json);
  }

  private async dispatch(topic: ShopifyTopic, json: unknown): Promise<Result> {
    const s = this.c.ctx.settings;
    const orders = this.c.ctx.orders;
    switch (topic) {
      case 'orders/create': {
        const p = orderSchema.safeParse(json);
        if (!p.success) return { outcome: 'malformed', detail: `orders/create: ${formatZodIssues(p.error.issues)}` };
        const m = mapOrder(p.data, s.locationMap);
        if (!m.ok) {
          await this.c.ctx.quarantine([{ channelRef: `gid://shopify/Order/${p.data.id}`, reason: m.reason, payload: json }]);
          return { outcome: 'quarantined', detail: m.reason };
        }
        const r = await orders.placed(m.value);
        if (r.state === 'unfulfillable') return { outcome: 'quarantined', detail: r.detail ?? 'order could not be reserved' };
        return { outcome: r.duplicate ? 'ignored' : 'applied', detail: `order ${r.orderRef}: ${r.state}` };
      }
      case 'orders/cancelled': {
        const p = orderSchema.partial({ line_items: true, created_at: true }).safeParse(json);
        if (!p.success) return { outcome: 'malformed', detail: `orders/cancelled: ${formatZodIssues(p.error.issues)}` };
        const r = await orders.cancelled(String(p.data.id), p.data.cancelled_at ?? new Date().toISOString());
        return { outcome: r.duplicate ? 'ignored' : 'applied', detail: `order ${r.orderRef}: ${r.state}` };
      }
      case 'fulfillments/create': {
        const p = fulfillmentSchema.safeParse(json);
        if (!p.success) return { outcome: 'malformed', detail: `fulfillments/create: ${formatZodIssues(p.error.issues)}` };
        if (p.data.status !== 'success') return { outcome: 'ignored', detail: `fulfilment status ${p.data.status}` };
        const shippedFrom = p.data.location_id;
        if (shippedFrom) {
          for (const l of p.data.line_items) {
            const itemNum = l.sku ? this.c.catalogue.itemOf(l.sku) : undefined;
            if (itemNum !== undefined && l.quantity > 0) await this.c.noteOnHandCause(itemNum, shippedFrom, `fulfilment:${p.data.id}:${l.id}`, -l.quantity);
          }
        }
        const r = await orders.fulfilled(String(p.data.order_id), p.data.created_at, mapFulfilment(p.data));
        return { outcome: r.duplicate ? 'ignored' : 'applied', detail: `order ${r.orderRef}: ${r.state}` };
      }
      case 'refunds/create': {
        const p = refundSchema.safeParse(json);
        if (!p.success) return { outcome: 'malformed', detail: `refunds/create: ${formatZodIssues(p.error.issues)}` };
        const { lines, unmapped } = mapRestock(p.data, s.locationMap);
        if (unmapped.length) {
          await this.c.ctx.quarantine(unmapped.map((u) => ({ channelRef: `gid://shopify/RefundLineItem/${u.lineId}`, reason: u.reason, payload: json })));
        }
        if (lines.length === 0) return { outcome: unmapped.length ? 'quarantined' : 'ignored', detail: unmapped.length ? unmapped[0]!.reason : 'no restocked lines' };
        // Remember the restock per level first, so that its inventory_levels/update is not taken for an edit.
        for (const l of p.data.refund_line_items) {
          const sku = l.line_item.sku;
          const itemNum = sku ? this.c.catalogue.itemOf(sku) : undefined;
          if (itemNum !== undefined && l.location_id && ['return', 'legacy_restock'].includes(l.restock_type)) {
            await this.c.noteOnHandCause(itemNum, l.location_id, `refund:${p.data.id}:${l.id}`, l.quantity);
          }
        }
        const r = await orders.restocked(String(p.data.order_id), String(p.data.id), lines, p.data.created_at);
        return { outcome: 'applied', detail: `refund ${p.data.id}: ${lines.length} lines restocked (order ${r.state})` };
      }
      case 'inventory_levels/update': {
        const p = levelUpdateSchema.safeParse(json);
        if (!p.success) return { outcome: 'malformed', detail: `inventory_levels/update: ${formatZodIssues(p.error.issues)}` };
        const { inventory_item_id: itemNum, location_id: locNum } = p.data;
        if (!this.c.ourLocation(locNum)) {
          await this.c.quarantineOnce([{ channelRef: locationGid(locNum), reason: 'Shopify location is not in locationMap', payload: json }]);
          return { outcome: 'quarantined', detail: `location ${locNum} is not in locationMap` };
        }
        const sku = await this.c.skuOfItem(itemNum);
        if (!sku) {
          await this.c.quarantineOnce([{ channelRef: `gid://shopify/InventoryItem/${itemNum}`, reason: 'Shopify variant has no SKU of ours', payload: json }]);
          return { outcome: 'quarantined', detail: `inventory item ${itemNum} has no SKU of ours` };
        }
        // A figure already accounted for (the echo of our push once its answer is recorded, a
        // redelivery) needs no read; anything else is read again from Shopify, so that
        // reordered or repeated deliveries change nothing.
        // A figure we are setting there right now is our push's echo: no read (a burst of
        // pushes would otherwise spend the shop's budget reading back every level).
        if (p.data.available !== null && this.c.isBeingPushed(itemNum, locNum, p.data.available)) {
          return { outcome: 'ignored', detail: `level of ${sku}: echo of our push` };
        }
        if (p.data.available !== null && (await this.c.accountedAvailable(itemNum, locNum)) === p.data.available) {
          return { outcome: 'ignored', detail: `level of ${sku}: already accounted for` };
        }
        const v = await this.c.reconcileLevel(itemNum, locNum);
        if (v?.kind === 'merchant-edit') return { outcome: 'applied', detail: `merchant edit of ${sku}: ${v.delta > 0 ? '+' : ''}${v.delta}` };
        return { outcome: 'ignored', detail: `level of ${sku}: ${v?.kind ?? 'not stocked'}` };
      }
    }
  }
}
