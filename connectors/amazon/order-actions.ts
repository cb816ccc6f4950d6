// What an Amazon order means for our ledger, with no I/O. Merchant-fulfilled (MFN) orders hold
// stock from the moment we first see them, whatever their status then; Amazon-fulfilled (AFN)
// orders ship from Amazon's warehouses and touch nothing of ours. An Amazon address carries no
// coordinates: the order is routed without a destination (contract §7), unless the merchant has
// loaded coordinates for its postal code (the poller looks them up; here they arrive resolved).
import type { Coordinates } from '../../src/routing/postal-code.js';

export interface AmazonOrder {
  AmazonOrderId: string;
  OrderStatus: string;
  FulfillmentChannel?: 'MFN' | 'AFN';
  PurchaseDate: string;
  LastUpdateDate: string;
  ShippingAddress?: { PostalCode?: string; CountryCode?: string };
}

export interface AmazonOrderItem {
  OrderItemId: string;
  SellerSKU?: string;
  QuantityOrdered: number;
  QuantityShipped?: number;
}

export interface OrderLines {
  lines: Array<{ sku: string; quantity: number; lineRef: string }>;
  /** Items we cannot route (no seller SKU): quarantined with the order. */
  unmapped: Array<{ orderItemId: string; reason: string }>;
}

export type OrderAction =
  | { kind: 'ignore'; reason: string }
  /** Hold stock (idempotent per order): Pending, Unshipped, PartiallyShipped, PendingAvailability. */
  | { kind: 'place'; destination?: { lat: number; lon: number }; shipped: Array<{ sku: string; quantity: number }> }
  /** Release the hold (a tombstone if we never held one). */
  | { kind: 'cancel' }
  /** Everything shipped: hold if never held, then fulfil (on hand drops). */
  | { kind: 'fulfil'; destination?: { lat: number; lon: number } };

const HOLDING = new Set(['Pending', 'Unshipped', 'PartiallyShipped', 'PendingAvailability']);
const SHIPPED = new Set(['Shipped', 'InvoiceUnconfirmed']);

/** The address's (postal code, country) when it has both: what a postal lookup is keyed by. */
export function postalKey(order: AmazonOrder): { postalCode: string; countryCode: string } | null {
  const a = order.ShippingAddress;
  return a?.PostalCode && a.CountryCode ? { postalCode: a.PostalCode, countryCode: a.CountryCode } : null;
}

/** `coords`: the destination from the merchant's postal-code table, null when it has none. */
export function orderAction(order: AmazonOrder, items: readonly AmazonOrderItem[], coords: Coordinates | null = null): OrderAction {
  if (order.FulfillmentChannel === 'AFN') return { kind: 'ignore', reason: 'fulfilled by Amazon' };
  if (order.OrderStatus === 'Canceled') return { kind: 'cancel' };
  const destination = coords ? { destination: coords } : {};
  if (SHIPPED.has(order.OrderStatus)) return { kind: 'fulfil', ...destination };
  if (HOLDING.has(order.OrderStatus)) {
    const shipped = items.filter((i) => (i.QuantityShipped ?? 0) > 0 && i.SellerSKU).map((i) => ({ sku: i.SellerSKU!, quantity: i.QuantityShipped! }));
    return { kind: 'place', ...destination, shipped };
  }
  return { kind: 'ignore', reason: `status ${order.OrderStatus} is not one we act on` };
}

/** Lines by seller SKU; an item without one cannot be matched and is reported, never guessed. */
export function orderLines(items: readonly AmazonOrderItem[]): OrderLines {
  const out: OrderLines = { lines: [], unmapped: [] };
  for (const i of items) {
    if (!i.SellerSKU) out.unmapped.push({ orderItemId: i.OrderItemId, reason: 'order item without a SellerSKU' });
    else if (i.QuantityOrdered > 0) out.lines.push({ sku: i.SellerSKU, quantity: i.QuantityOrdered, lineRef: i.OrderItemId });
  }
  return out;
}
