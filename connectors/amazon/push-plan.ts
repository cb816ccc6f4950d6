// Patch or feed, with no I/O. patchListingsItem sets one SKU at once and is cheap in latency but
// allows 5 a second; a JSON_LISTINGS_FEED carries up to 25,000 SKUs but createFeed allows one a
// couple of minutes and Amazon takes minutes to process it. Given what is waiting and what the
// buckets hold, send by patch what patches can finish before a feed would, and the rest by
// feeds; the most urgent items (the engine's order: zero and low stock first) go by patch.
import { MAX_FEED_MESSAGES } from './listings-feed.js';

export interface Budget {
  /** patchListingsItem tokens now, and its refill per second. */
  patchTokens: number;
  patchPerSecond: number;
  /** createFeed tokens now, and its refill per second. */
  feedTokens: number;
  feedPerSecond: number;
  /** How long a feed takes from createFeed to DONE, as measured on recent feeds. */
  feedTurnaroundMs: number;
}

export interface PushPlan<T> {
  /** Patched in this call (the bucket's tokens now; at least one). */
  patch: T[];
  /** Left for later calls: patches will reach them before a feed would, or no feed can be created now. */
  deferred: T[];
  /** Zero or more feeds, each at most MAX_FEED_MESSAGES items. */
  feeds: T[][];
}

/** When the last of `n` patches would go out, from now. */
export function patchFinishMs(n: number, b: Pick<Budget, 'patchTokens' | 'patchPerSecond'>): number {
  const beyond = Math.max(0, n - Math.floor(b.patchTokens));
  return (beyond / b.patchPerSecond) * 1000;
}

/** When a feed created as soon as the bucket allows would be processed. */
export function feedFinishMs(b: Pick<Budget, 'feedTokens' | 'feedPerSecond' | 'feedTurnaroundMs'>): number {
  const wait = b.feedTokens >= 1 ? 0 : ((1 - b.feedTokens) / b.feedPerSecond) * 1000;
  return wait + b.feedTurnaroundMs;
}

/**
 * Patches go a little slower than their bucket allows (each is a call, after a getListingsItem
 * check, between our outbox's round trips), while one more item in a feed costs nothing: plan
 * patches at this share of the rate, so they finish before the feed rather than after it.
 */
const PATCH_PACE = 0.8;

/** How many items patches can finish no later than a feed created now would be processed. */
export function patchableBeforeFeed(b: Budget): number {
  return Math.floor(b.patchTokens) + Math.floor((feedFinishMs(b) / 1000) * b.patchPerSecond * PATCH_PACE);
}

/**
 * `items` in priority order (most urgent first). The most urgent go by patch now, as many as
 * the bucket holds; the least urgent by feed when there are more than patches could finish
 * before that feed and a feed can be created now; the rest wait for the next call's tokens.
 */
export function planPush<T>(items: readonly T[], b: Budget): PushPlan<T> {
  const now = Math.min(items.length, Math.max(1, Math.floor(b.patchTokens)));
  const patch = items.slice(0, now);
  const patchable = Math.max(now, patchableBeforeFeed(b));
  if (items.length <= patchable || b.feedTokens < 1) return { patch, deferred: items.slice(now), feeds: [] };
  const deferred = items.slice(now, patchable);
  const rest = items.slice(patchable);
  const feeds: T[][] = [];
  for (let i = 0; i < rest.length; i += MAX_FEED_MESSAGES) feeds.push(rest.slice(i, i + MAX_FEED_MESSAGES));
  // Feeds beyond createFeed's tokens wait for a later call rather than block this one.
  const creatable = Math.floor(b.feedTokens);
  return { patch, deferred: [...deferred, ...feeds.slice(creatable).flat()], feeds: feeds.slice(0, creatable) };
}

/** How many of `due` waiting items the next call should carry under `planPush` (nothing deferred in the common case). */
export function planBatchSize(due: number, b: Budget, patchBurst: number): number {
  if (due > patchableBeforeFeed(b) && b.feedTokens >= 1) return due;
  return Math.max(1, Math.min(due, patchBurst, Math.floor(b.patchTokens)));
}

/**
 * The best convergence time the published rates allow for `n` SKUs changed at once, starting
 * with full buckets: all by patch, or the bulk by feeds created at once (createFeed's burst) while
 * patches cover what they can. The benchmark's yardstick (target: within 1.2× of it).
 */
export function bestConvergenceMs(n: number, b: Budget): number {
  const allPatches = patchFinishMs(n, b);
  const feedsNeeded = Math.ceil(n / MAX_FEED_MESSAGES);
  // Feeds beyond the bucket's tokens wait for refills, one after another.
  const lastFeedWait = Math.max(0, feedsNeeded - Math.floor(b.feedTokens)) / b.feedPerSecond * 1000;
  return Math.min(allPatches, lastFeedWait + b.feedTurnaroundMs);
}
