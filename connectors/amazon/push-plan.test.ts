import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bestConvergenceMs, feedFinishMs, patchFinishMs, planBatchSize, planPush, type Budget } from './push-plan.js';

const full: Budget = { patchTokens: 5, patchPerSecond: 5, feedTokens: 15, feedPerSecond: 0.0083, feedTurnaroundMs: 120_000 };
const skus = (n: number) => Array.from({ length: n }, (_, i) => `S-${i}`);

describe('patch or feed', () => {
  it('patches a few SKUs, feeds a bulk change with the most urgent patched meanwhile', () => {
    expect(planPush(skus(3), full)).toEqual({ patch: skus(3), deferred: [], feeds: [] });
    // 5 now + 480 within the two minutes a feed takes (at 80% of 5/s): 485 go by patch, 480 of them in later calls
    expect(planPush(skus(485), full)).toEqual({ patch: skus(5), deferred: skus(485).slice(5), feeds: [] });
    const bulk = planPush(skus(5000), full);
    expect(bulk.patch).toEqual(skus(5));
    expect(bulk.deferred).toEqual(skus(485).slice(5));
    expect(bulk.feeds).toEqual([skus(5000).slice(485)]);
    expect(planPush(skus(60_000), full).feeds.map((f) => f.length)).toEqual([25_000, 25_000, 9_515]);
  });

  it('goes by patch when no feed can be created now', () => {
    const noFeeds = { ...full, feedTokens: 0 }; // next createFeed token in two minutes, then two more to process
    expect(feedFinishMs(noFeeds)).toBeCloseTo(120_482 + 120_000, -2);
    expect(planPush(skus(1000), noFeeds)).toEqual({ patch: skus(5), deferred: skus(1000).slice(5), feeds: [] });
    // More feeds than createFeed tokens: the rest waits.
    const one = planPush(skus(60_000), { ...full, feedTokens: 1 });
    expect(one.feeds.map((f) => f.length)).toEqual([25_000]);
    expect(one.deferred).toHaveLength(60_000 - 5 - 25_000);
  });

  it('always patches one item, even with the bucket empty', () => {
    expect(planPush(skus(2), { ...full, patchTokens: 0.3 }).patch).toEqual(skus(1));
  });

  it('sizes batches so that a call defers nothing unless it feeds', () => {
    expect(planBatchSize(3, full, 5)).toBe(3);
    expect(planBatchSize(480, full, 5)).toBe(5);
    expect(planBatchSize(5000, full, 5)).toBe(5000);
    expect(planBatchSize(5000, { ...full, feedTokens: 0.5 }, 5)).toBe(5);
    expect(planBatchSize(5000, { ...full, patchTokens: 0 }, 5)).toBe(5000);
    expect(planBatchSize(40, { ...full, patchTokens: 0 }, 5)).toBe(1);
  });

  it('never loses or repeats an item', () => {
    fc.assert(fc.property(fc.nat(60_000), fc.nat(5), fc.nat(15), fc.integer({ min: 1_000, max: 600_000 }), (n, patchTokens, feedTokens, turnaround) => {
      const items = skus(n);
      const plan = planPush(items, { ...full, patchTokens, feedTokens, feedTurnaroundMs: turnaround });
      expect([...plan.patch, ...plan.deferred, ...plan.feeds.flat()].sort()).toEqual([...items].sort());
      expect(plan.patch).toEqual(items.slice(0, plan.patch.length)); // the most urgent go first
      expect(plan.feeds.every((f) => f.length > 0 && f.length <= 25_000)).toBe(true);
      expect(plan.feeds.length).toBeLessThanOrEqual(feedTokens);
      if (n > 0) expect(plan.patch.length).toBeGreaterThanOrEqual(1);
    }), { numRuns: 50 });
  });

  it('gives the best schedule the published rates allow', () => {
    expect(patchFinishMs(5, full)).toBe(0);
    expect(bestConvergenceMs(100, full)).toBe(19_000); // 95 beyond the burst at 5/s
    expect(bestConvergenceMs(5000, full)).toBe(120_000); // one feed
    expect(bestConvergenceMs(5000, { ...full, feedTurnaroundMs: 2_000_000 })).toBe(999_000); // patches win
  });
});
