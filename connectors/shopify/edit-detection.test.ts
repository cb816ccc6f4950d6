import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyLevelChange } from './edit-detection.js';

const base = { available: 10, onHand: 12 };

describe('classifyLevelChange', () => {
  it('tells Shopify order decrements, fulfilments, echoes, restocks and edits apart', () => {
    expect(classifyLevelChange(base, base, new Set()).kind).toBe('unchanged');
    expect(classifyLevelChange(base, { available: 8, onHand: 12 }, new Set()).kind).toBe('shopify-order');
    expect(classifyLevelChange(base, { available: 10, onHand: 9 }, new Set(), -3)).toEqual({ kind: 'fulfilment', pendingAfter: 0 });
    expect(classifyLevelChange(base, { available: 10, onHand: 9 }, new Set(), 0)).toEqual({ kind: 'fulfilment', pendingAfter: 3 });
    expect(classifyLevelChange(base, { available: 7, onHand: 9 }, new Set([7]))).toEqual({ kind: 'echo' });
    expect(classifyLevelChange(base, { available: 13, onHand: 15 }, new Set(), 3)).toEqual({ kind: 'explained', pendingAfter: 0 });
    expect(classifyLevelChange(base, { available: 15, onHand: 17 }, new Set(), 3)).toEqual({ kind: 'merchant-edit', delta: 2, pendingAfter: 0 });
    expect(classifyLevelChange(base, { available: 4, onHand: 6 }, new Set())).toEqual({ kind: 'merchant-edit', delta: -6, pendingAfter: 0 });
    // A fulfilment of 2 and a restock of 1 since the baseline, both reported: no edit.
    expect(classifyLevelChange({ available: 4, onHand: 6 }, { available: 5, onHand: 5 }, new Set(), -2 + 1)).toEqual({ kind: 'explained', pendingAfter: 0 });
  });

  it('an edit combined with orders, fulfilments and restocks reported meanwhile counts only the edit', () => {
    fc.assert(fc.property(
      fc.integer({ min: -50, max: 50 }).filter((d) => d !== 0), fc.integer({ min: -20, max: 20 }), fc.nat(10), fc.nat(10),
      (edit, ordered, shipped, restocked) => {
        const now = { available: base.available + edit - ordered + restocked, onHand: base.onHand + edit - shipped + restocked };
        fc.pre(now.available !== base.available); // an edit always moves available
        const v = classifyLevelChange(base, now, new Set(), restocked - shipped);
        expect(v).toEqual({ kind: 'merchant-edit', delta: edit, pendingAfter: 0 });
      },
    ));
  });

  it('orders, cancellations, fulfilments and restocks alone never become adjustments', () => {
    fc.assert(fc.property(fc.integer({ min: -50, max: 50 }), fc.nat(10), fc.nat(10), (ordered, shipped, restocked) => {
      const now = { available: base.available - ordered + restocked, onHand: base.onHand - shipped + restocked };
      const v = classifyLevelChange(base, now, new Set(), restocked - shipped);
      expect(v.kind).not.toBe('merchant-edit');
    }));
  });
});
