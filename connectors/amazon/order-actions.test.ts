import { describe, expect, it } from 'vitest';
import { normalisePostalCode, orderAction, orderLines, type AmazonOrder } from './order-actions.js';

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

  it('routes without a destination unless the merchant loaded the postal code', () => {
    const postal = (code: string, country: string) => (code === '1011AB' && country === 'NL' ? { lat: 52.37, lon: 4.9 } : null);
    expect(orderAction(order({ ShippingAddress: { PostalCode: '1011 ab', CountryCode: 'NL' } }), items, postal)).toEqual({ kind: 'place', destination: { lat: 52.37, lon: 4.9 }, shipped: [] });
    expect(orderAction(order({ ShippingAddress: { PostalCode: '9999', CountryCode: 'NL' } }), items, postal)).toEqual({ kind: 'place', shipped: [] });
    expect(normalisePostalCode(' 1011 ab ')).toBe('1011AB');
  });

  it('maps items by seller SKU and reports those without one', () => {
    expect(orderLines(items)).toEqual({ lines: [{ sku: 'A-1', quantity: 2, lineRef: 'i1' }], unmapped: [{ orderItemId: 'i2', reason: 'order item without a SellerSKU' }] });
  });
});
