import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyLevelChange } from './edit-detection.js';

const base = { available: 10, onHand: 12 };

describe('classifyLevelChange', () => {
  it('tells Shopify order decrements, fulfilments, echoes, restocks and edits apart', () => {
    expect(classifyLevelChange(base, base, new Set(), 0).kind).toBe('unchanged');
    expect(classifyLevelChange(base, { available: 8, onHand: 12 }, new Set(), 0).kind).toBe('shopify-order');
    expect(classifyLevelChange(base, { available: 10, onHand: 9 }, new Set(), 0).kind).toBe('fulfilment');
    expect(classifyLevelChange(base, { available: 7, onHand: 9 }, new Set([7]), 0).kind).toBe('echo');
    expect(classifyLevelChange(base, { available: 13, onHand: 15 }, new Set(), 3)).toEqual({ kind: 'restock-explained', creditUsed: 3 });
    expect(classifyLevelChange(base, { available: 15, onHand: 17 }, new Set(), 3)).toEqual({ kind: 'merchant-edit', delta: 2, creditUsed: 3 });
    expect(classifyLevelChange(base, { available: 4, onHand: 6 }, new Set(), 0)).toEqual({ kind: 'merchant-edit', delta: -6, creditUsed: 0 });
  });

  it('an edit combined with orders placed meanwhile counts only the edit', () => {
    fc.assert(fc.property(fc.integer({ min: -50, max: 50 }).filter((d) => d !== 0), fc.integer({ min: 0, max: 20 }), (edit, ordered) => {
      const now = { available: base.available + edit - ordered, onHand: base.onHand + edit };
      const v = classifyLevelChange(base, now, new Set(), 0);
      expect(v).toEqual({ kind: 'merchant-edit', delta: edit, creditUsed: 0 });
    }));
  });

  it('orders and cancellations alone never become adjustments', () => {
    fc.assert(fc.property(fc.integer({ min: -50, max: 50 }), (moved) => {
      const v = classifyLevelChange(base, { available: base.available + moved, onHand: base.onHand }, new Set(), 5);
      expect(v.kind === 'unchanged' || v.kind === 'shopify-order').toBe(true);
    }));
  });
});
