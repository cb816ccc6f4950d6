// A token bucket per channel, sized from the vendor's published limits (Shopify: a bucket of
// 2,000 points restoring 100/s on Plus). Pure: the clock is passed in, so it is tested without
// waiting. `pauseUntil` follows the vendor when it says "throttled, retry after".
export interface BucketLimits {
  ratePerSecond: number;
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private at: number;
  private pausedUntil = 0;

  constructor(private limits: BucketLimits, now: number) {
    this.tokens = limits.burst;
    this.at = now;
  }

  get ratePerSecond(): number {
    return this.limits.ratePerSecond;
  }

  get burst(): number {
    return this.limits.burst;
  }

  /** Tokens available at `now` (may be fractional). */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /**
   * Takes `cost` tokens if it can and answers 0; otherwise answers how many ms to wait before
   * asking again. A cost above the burst is clamped to the burst, so a big call is never stuck.
   */
  take(cost: number, now: number): number {
    this.refill(now);
    if (now < this.pausedUntil) return this.pausedUntil - now;
    const need = Math.min(cost, this.limits.burst);
    if (this.tokens >= need) {
      this.tokens -= need;
      return 0;
    }
    return Math.ceil(((need - this.tokens) / this.limits.ratePerSecond) * 1000);
  }

  /** The vendor said to wait: no tokens until then, and the bucket restarts empty-ish. */
  pauseUntil(until: number, now: number): void {
    this.refill(now);
    this.pausedUntil = Math.max(this.pausedUntil, until);
    this.tokens = 0;
  }

  throttledUntil(now: number): number | null {
    return now < this.pausedUntil ? this.pausedUntil : null;
  }

  setLimits(limits: BucketLimits, now: number): void {
    this.refill(now);
    this.limits = limits;
    this.tokens = Math.min(this.tokens, limits.burst);
  }

  private refill(now: number): void {
    if (now > this.at) {
      const from = Math.max(this.at, Math.min(now, this.pausedUntil));
      const earned = ((now - from) / 1000) * this.limits.ratePerSecond;
      this.tokens = Math.min(this.limits.burst, this.tokens + Math.max(0, earned));
      this.at = now;
    }
  }
}
