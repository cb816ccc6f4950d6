import { describe, expect, it } from 'vitest';
import { normalisePostalCode } from '../../src/routing/postal-code.js';
import { orderAction, orderLines, postalKey, type AmazonOrder } from './order-actions.js';

const order = (o: Partial<AmazonOrder>): AmazonOrder => ({ AmazonOrderId: '302-1', OrderStatus: 'Unshipped', FulfillmentChannel: 'MFN', PurchaseDate: '2026-12-01T10:00:00Z', LastUpdateDate: '2026-12-01T10:00:00Z', ...o });
const items = [{ OrderItemId: 'i1', SellerSKU: 'A-1', QuantityOrdered: 2, QuantityShipped: 0 }, { OrderItemId: 'i2', QuantityOrdered: 1 }];

describe('Amazon order actions', () => {
  it('holds MFN orders while open, releases on Canceled, fulfils on Shipped, ignores AFN', () => {
    expect(orderAction(order({ OrderStatus: 'Pending' }), items)).toEqual({ kind: 'place', shipped: [] });
    expect(orderAction(order({}), items)).toEqual({ kind: 'place', shipped: [] });
    expect(orderAction(order({ OrderStatus: 'PartiallyShipped' }), [{ OrderItemId: 'i1', SellerSKU: 'A-1', QuantityOrdered: 2, QuantityShipped: 1 }])).toEqual({ kind: 'place', shipped: [{ sku: 'A-1', quantity: 1 }] });
    expect(orderAction(order({ OrderStatus: 'Canceled' }), items)).toEqual({ kind: 'cancel' });
    expect(orderAction(order({ OrderStatus: 'Shipped' }), items)).toEqual({ kind: 'fulfil' });
    expect(orderAction(order({ FulfillmentChannel: 'AFN' }), items)).toEqual({ kind: 'ignore', reason: 'fulfilled by Amazon' });
    expect(orderAction(order({ FulfillmentChannel: 'AFN', OrderStatus: 'Canceled' }), items).kind).toBe('ignore');
    expect(orderAction(order({ OrderStatus: 'Unfulfillable' }), items).kind).toBe('ignore');
  });

  it('routes with the destination the postal table gave, and without one when it gave none', () => {
    const at = { lat: 52.37, lon: 4.9 };
    expect(orderAction(order({}), items, at)).toEqual({ kind: 'place', destination: at, shipped: [] });
    expect(orderAction(order({ OrderStatus: 'Shipped' }), items, at)).toEqual({ kind: 'fulfil', destination: at });
    expect(orderAction(order({}), items, null)).toEqual({ kind: 'place', shipped: [] });
    expect(postalKey(order({ ShippingAddress: { PostalCode: '1011 ab', CountryCode: 'NL' } }))).toEqual({ postalCode: '1011 ab', countryCode: 'NL' });
    expect(postalKey(order({ ShippingAddress: { PostalCode: '1011 ab' } }))).toBeNull();
    expect(postalKey(order({}))).toBeNull();
    expect(normalisePostalCode(' 1011 ab ')).toBe('1011AB');
  });

  it('maps items by seller SKU and reports those without one', () => {
    expect(orderLines(items)).toEqual({ lines: [{ sku: 'A-1', quantity: 2, lineRef: 'i1' }], unmapped: [{ orderItemId: 'i2', reason: 'order item without a SellerSKU' }] });
  });
});
