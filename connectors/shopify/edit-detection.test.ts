import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyLevelChange, type LevelFigures } from './edit-detection.js';

const base = { available: 10, onHand: 12 };
/** Many runs: a counterexample such as an edit and an order of the same size ([3, 3]) is a few in a thousand draws. */
const RUNS = { numRuns: 20_000 };

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

  it('an edit and an order of the same size between two reads ([3, 3]): available did not move, the edit is still found', () => {
    expect(classifyLevelChange(base, { available: 10, onHand: 15 }, new Set())).toEqual({ kind: 'merchant-edit', delta: 3, pendingAfter: 0 });
    // …and with a reported fulfilment of the same size as well: nothing moved at all, yet +3 was edited.
    expect(classifyLevelChange(base, { available: 10, onHand: 12 }, new Set(), -3)).toEqual({ kind: 'merchant-edit', delta: 3, pendingAfter: 0 });
  });

  it('an edit with orders (or cancellations), fulfilments and restocks reported meanwhile counts exactly the edit', () => {
    fc.assert(fc.property(
      fc.integer({ min: -50, max: 50 }).filter((d) => d !== 0), fc.integer({ min: -20, max: 20 }), fc.nat(10), fc.nat(10),
      (edit, ordered, shipped, restocked) => {
        const now = { available: base.available + edit - ordered + restocked, onHand: base.onHand + edit - shipped + restocked };
        const v = classifyLevelChange(base, now, new Set(), restocked - shipped);
        if (now.available === base.available && now.onHand < base.onHand) {
          // An edit of −q offset by a cancellation of q reads as a fulfilment not reported yet:
          // the q units stay pending for the next read (the sequence property below).
          expect(v).toEqual({ kind: 'fulfilment', pendingAfter: -edit });
        } else {
          expect(v).toEqual({ kind: 'merchant-edit', delta: edit, pendingAfter: 0 });
        }
      },
    ), RUNS);
  });

  it('orders, cancellations, fulfilments and restocks alone never become adjustments', () => {
    fc.assert(fc.property(fc.integer({ min: -50, max: 50 }), fc.nat(10), fc.nat(10), (ordered, shipped, restocked) => {
      const now = { available: base.available - ordered + restocked, onHand: base.onHand - shipped + restocked };
      const v = classifyLevelChange(base, now, new Set(), restocked - shipped);
      expect(v.kind).not.toBe('merchant-edit');
    }), RUNS);
  });

  it('over any sequence of reads, with webhooks reported late, the adjustments minus what is left pending are exactly the edits', () => {
    const step = fc.record({
      edit: fc.integer({ min: -20, max: 20 }), ordered: fc.integer({ min: -10, max: 10 }), shipped: fc.nat(5), restocked: fc.nat(5),
      // How many reads later each of this step's fulfilment and refund webhooks arrives.
      shipReportLag: fc.nat(3), restockReportLag: fc.nat(3),
    });
    fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), (steps) => {
      let shown: LevelFigures = { ...base };
      let accounted: LevelFigures = { ...base };
      let pending = 0;
      let adjusted = 0;
      const reports = new Map<number, number>(); // read index → on_hand change reported then
      const report = (at: number, change: number) => reports.set(at, (reports.get(at) ?? 0) + change);
      const read = (i: number) => {
        pending += reports.get(i) ?? 0;
        const v = classifyLevelChange(accounted, shown, new Set(), pending);
        if (v.kind === 'merchant-edit') adjusted += v.delta;
        if ('pendingAfter' in v) pending = v.pendingAfter;
        accounted = shown;
      };
      steps.forEach((s, i) => {
        shown = { available: shown.available + s.edit - s.ordered + s.restocked, onHand: shown.onHand + s.edit - s.shipped + s.restocked };
        report(i + s.shipReportLag, -s.shipped);
        report(i + s.restockReportLag, s.restocked);
        read(i);
      });
      // Every webhook has arrived by now (later reads of an unchanged level).
      for (let i = steps.length; i < steps.length + 4; i++) read(i);
      expect(adjusted - pending).toBe(steps.reduce((a, s) => a + s.edit, 0));
    }), RUNS);
  });
});
