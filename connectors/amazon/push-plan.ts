// Patch or feed, with no I/O. patchListingsItem sets one SKU at once and is cheap in latency but
// allows 5 a second; a JSON_LISTINGS_FEED carries up to 25,000 SKUs but createFeed allows one a
// couple of minutes and Amazon takes minutes to process it. Given what is waiting and what the
// buckets hold, send by patch what patches can finish before a feed would, and the rest by one
// feed; the most urgent items (the engine's order: zero and low stock first) go by patch.
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
  patch: T[];
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

/** `items` in priority order (most urgent first). */
export function planPush<T>(items: readonly T[], b: Budget): PushPlan<T> {
  const viaFeed = feedFinishMs(b);
  // Patches that go out no later than the feed would be done.
  const patchable = Math.floor(b.patchTokens) + Math.floor((viaFeed / 1000) * b.patchPerSecond);
  if (items.length <= patchable) return { patch: [...items], feeds: [] };
  const patch = items.slice(0, Math.floor(b.patchTokens));
  const rest = items.slice(patch.length);
  const feeds: T[][] = [];
  for (let i = 0; i < rest.length; i += MAX_FEED_MESSAGES) feeds.push(rest.slice(i, i + MAX_FEED_MESSAGES));
  return { patch, feeds };
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
