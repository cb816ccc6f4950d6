// REST-shaped webhook bodies as Shopify sends them (the fields the connector reads, plus enough
// of the rest to look like the real thing): orders/create and orders/cancelled carry the order,
// refunds/create the refund with refund_line_items, fulfillments/create the fulfilment,
// inventory_levels/update the level.
import { gid, levelGid, type InventoryState, type LevelChange, type ShopOrder, type ShopOrderLine } from './inventory-state.js';

export function levelPayload(c: LevelChange) {
  return {
    inventory_item_id: c.itemId,
    location_id: c.locationId,
    available: c.available,
    updated_at: c.updatedAt,
    admin_graphql_api_id: levelGid(c.locationId, c.itemId),
  };
}

function lineItem(state: InventoryState, l: ShopOrderLine) {
  const item = state.items.get(l.itemId)!;
  return {
    id: l.id, admin_graphql_api_id: gid('LineItem', l.id), variant_id: item.variantId, product_id: item.productId,
    sku: item.sku, title: item.title, name: item.title, quantity: l.quantity, current_quantity: l.quantity - l.refunded,
    fulfillable_quantity: l.quantity - l.fulfilled - l.refunded, fulfillment_status: l.fulfilled >= l.quantity ? 'fulfilled' : null,
    requires_shipping: true, price: '10.00', variant_inventory_management: 'shopify',
  };
}

export function orderPayload(state: InventoryState, o: ShopOrder) {
  const address = o.shippingAddress
    ? { first_name: 'Ada', last_name: 'Lovelace', address1: '1 Main St', city: 'Amsterdam', zip: '1011', country_code: 'NL', latitude: o.shippingAddress.latitude, longitude: o.shippingAddress.longitude }
    : null;
  return {
    id: o.id, admin_graphql_api_id: gid('Order', o.id), name: o.name, order_number: o.id, email: 'ada@example.com',
    created_at: o.createdAt, updated_at: o.cancelledAt ?? o.createdAt, processed_at: o.createdAt,
    cancelled_at: o.cancelledAt, cancel_reason: o.cancelledAt ? 'customer' : null,
    currency: 'EUR', financial_status: o.cancelledAt ? 'refunded' : 'paid', fulfillment_status: null,
    // Shopify sets location_id for orders taken at a location (POS); online orders carry null.
    location_id: o.pickup ? o.locationId : null,
    source_name: 'web',
    shipping_address: address,
    shipping_lines: o.pickup
      ? [{ id: o.id + 1, code: 'Pickup', source: 'shopify', title: 'Pickup in store', price: '0.00' }]
      : [{ id: o.id + 1, code: 'Standard', source: 'shopify', title: 'Standard', price: '5.00' }],
    line_items: o.lines.map((l) => lineItem(state, l)),
  };
}

/** `restockType`: 'return' (units back on the shelf), 'cancel' (the refund Shopify creates when an order is cancelled with restock), 'no_restock'. */
export function refundPayload(state: InventoryState, o: ShopOrder, refundId: number, lines: Array<{ id: number; line: ShopOrderLine; quantity: number; locationId: number }>, restockType = 'return') {
  return {
    id: refundId, admin_graphql_api_id: gid('Refund', refundId), order_id: o.id, created_at: state.stamp(), processed_at: state.stamp(),
    note: null, restock: true,
    refund_line_items: lines.map((r) => ({
      id: r.id, line_item_id: r.line.id, location_id: r.locationId, quantity: r.quantity, restock_type: restockType,
      subtotal: 10 * r.quantity, total_tax: 0, line_item: lineItem(state, r.line),
    })),
    transactions: [],
  };
}

export function fulfillmentPayload(state: InventoryState, o: ShopOrder, fulfillmentId: number, shipped: Array<{ line: ShopOrderLine; quantity: number }>) {
  return {
    id: fulfillmentId, admin_graphql_api_id: gid('Fulfillment', fulfillmentId), order_id: o.id, status: 'success',
    created_at: state.stamp(), updated_at: state.stamp(), location_id: o.locationId, name: `${o.name}.1`, tracking_number: null,
    line_items: shipped.map((s) => ({ ...lineItem(state, s.line), quantity: s.quantity })),
  };
}
