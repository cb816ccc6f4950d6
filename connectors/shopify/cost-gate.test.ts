import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CostGate } from './cost-gate.js';
import { pageSizeFor, shrinkPage } from './paging.js';

describe('CostGate', () => {
  it('lets everything go until Shopify has reported its bucket, then waits exactly for the missing points', () => {
    let now = 0;
    const g = new CostGate(() => now);
    expect(g.reserve(500)).toBe(0);
    g.observe({ maximumAvailable: 100, currentlyAvailable: 10, restoreRate: 100 });
    expect(g.reserve(15)).toBe(50); // 5 points short at 100/s
    now = 50;
    expect(g.reserve(15)).toBe(0);
    expect(g.reserve(15)).toBe(150); // the last reservation took them
    expect(g.reserve(1_000)).toBe(1_000); // more than the bucket: waits for a full bucket, never for ever
  });

  it('never lets more through than the bucket and its restore rate allow, in any window', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(500), fc.integer({ min: 1, max: 60 })), { minLength: 1, maxLength: 100 }), (steps) => {
      let now = 0;
      const g = new CostGate(() => now);
      g.observe({ maximumAvailable: 100, currentlyAvailable: 100, restoreRate: 100 });
      const sent: Array<[number, number]> = [];
      for (const [dt, cost] of steps) {
        now += dt;
        if (g.reserve(cost) === 0) sent.push([now, cost]);
      }
      for (const [t0] of sent) {
        const inWindow = sent.filter(([t]) => t >= t0 && t < t0 + 1000).reduce((n, [, c]) => n + c, 0);
        expect(inWindow).toBeLessThanOrEqual(100 + 100 + 1e-9);
      }
    }), { numRuns: 2_000 });
  });
});

describe('page sizes', () => {
  it('fit the bucket (and the 1,000-point query limit, and 250 nodes)', () => {
    expect(pageSizeFor(100, { fixed: 2, perNode: 1 })).toBe(98);
    expect(pageSizeFor(100, { fixed: 3, perNode: 3 })).toBe(32);
    expect(pageSizeFor(2000, { fixed: 3, perNode: 3 })).toBe(250);
    expect(pageSizeFor(5, { fixed: 3, perNode: 3 })).toBe(1);
  });

  it('shrinking always makes progress and reaches a page that fits', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 250 }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 11, max: 1000 }), (first, fixed, perNode, limit) => {
      let f = first;
      for (let cost = fixed + f * perNode; cost > limit && f > 1; cost = fixed + f * perNode) {
        const next = shrinkPage(f, cost, limit);
        expect(next).toBeLessThan(f);
        expect(next).toBeGreaterThanOrEqual(1);
        f = next;
      }
      expect(fixed + f * perNode <= limit || f === 1).toBe(true);
    }));
  });
});
