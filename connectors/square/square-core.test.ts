import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SquareStandIn } from '../../test/standins/square/square-standin.js';
import { squareQuantity, stateRole, wholeUnits } from './square-quantity.js';
import { squareSignature, verifySquareSignature } from './square-signature.js';

describe('Square quantities', () => {
  it('take whole units only, refusing fractions with the reason', () => {
    expect(wholeUnits('3')).toEqual({ ok: true, units: 3 });
    expect(wholeUnits('3.00000')).toEqual({ ok: true, units: 3 });
    expect(wholeUnits('-2')).toEqual({ ok: true, units: -2 });
    expect(wholeUnits('1.5')).toEqual({ ok: false, error: 'quantity: "1.5" is not a whole number of units' });
    expect(wholeUnits('1.000001', 'counts.0.quantity')).toEqual({ ok: false, error: 'counts.0.quantity: "1.000001" is not a Square decimal quantity' });
    expect(wholeUnits('abc').ok).toBe(false);
    expect(wholeUnits('99999999999').ok).toBe(false);
  });
  it('round-trip every whole number', () => {
    fc.assert(fc.property(fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }), (n) => {
      expect(wholeUnits(squareQuantity(n))).toEqual({ ok: true, units: n === 0 ? 0 : n });
    }));
  });
  it('give each state a deliberate role', () => {
    expect(['IN_STOCK', 'SOLD', 'WASTE', 'RESERVED_FOR_SALE', 'IN_TRANSIT', 'NONE'].map(stateRole)).toEqual(['on-hand', 'sold', 'waste', 'unavailable', 'outside', 'outside']);
  });
});

describe('Square webhook signatures', () => {
  it('match what the stand-in sends, over notification URL + raw body, and nothing altered', () => {
    const square = new SquareStandIn({ signatureKey: 'k3y' });
    const url = 'https://shop.example/webhooks/square/sq-1';
    const body = Buffer.from('{"event_id":"e1","type":"inventory.count.updated"}');
    const header = square.sign(body.toString('utf8'), url);
    expect(squareSignature('k3y', url, body)).toBe(header);
    expect(verifySquareSignature('k3y', url, body, header)).toBe(true);
    expect(verifySquareSignature('k3y', `${url}/`, body, header)).toBe(false);
    expect(verifySquareSignature('k3y', url, Buffer.from(`${body.toString('utf8')} `), header)).toBe(false);
    expect(verifySquareSignature('other', url, body, header)).toBe(false);
    expect(verifySquareSignature('k3y', url, body, undefined)).toBe(false);
    expect(verifySquareSignature('k3y', url, body, [header])).toBe(false);
  });
});
