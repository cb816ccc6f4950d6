// SP-API usage plans as published in the models (rate per second, burst), and a token bucket per
// operation that the client waits on before each call: staying inside the plan is cheaper than
// collecting 429s. A plan changes when SP-API says so in `x-amzn-RateLimit-Limit`.
export const PUBLISHED_PLANS: Readonly<Record<string, { perSecond: number; burst: number }>> = {
  getOrders: { perSecond: 0.0167, burst: 20 },
  getOrder: { perSecond: 0.5, burst: 30 },
  getOrderItems: { perSecond: 0.5, burst: 30 },
  patchListingsItem: { perSecond: 5, burst: 5 },
  getListingsItem: { perSecond: 5, burst: 10 },
  createFeedDocument: { perSecond: 0.5, burst: 15 },
  createFeed: { perSecond: 0.0083, burst: 15 },
  getFeed: { perSecond: 2, burst: 15 },
  getFeeds: { perSecond: 0.0222, burst: 10 },
  getFeedDocument: { perSecond: 0.0222, burst: 10 },
};

export class OperationBucket {
  private tokens: number;
  private at: number;

  constructor(public perSecond: number, readonly burst: number, private readonly now: () => number) {
    this.tokens = burst;
    this.at = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.at) / 1000) * this.perSecond);
    this.at = t;
  }

  /** Tokens there now (the remaining budget a planner may spend). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Milliseconds until one token is there (0: now). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }

  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** SP-API said 429: our count was optimistic, the bucket is empty. */
  drain(): void {
    this.refill();
    this.tokens = Math.min(this.tokens, 0);
  }
}
