// SP-API's usage plans: one token bucket per operation with the rate and burst published in the
// model (patchListingsItem 5/s burst 5, createFeed 0.0083/s burst 15, getOrders 0.0167/s burst
// 20, ...). `scale` speeds every refill up alike (tests and benchmarks cannot wait a minute for
// one getOrders token); 1 is Amazon's figure. A storm makes chosen operations answer 429 whatever
// their bucket holds, as SP-API does when it sheds load.
export interface Storm {
  operations: ReadonlySet<string> | null;
  remaining: number;
  until: number;
}

export class RateLimits {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private storms: Storm[] = [];
  scale: number;

  constructor(private readonly plans: ReadonlyMap<string, { perSecond: number; burst: number }>, scale = 1, private readonly clock: () => number = () => performance.now()) {
    this.scale = scale;
  }

  private readonly rates = new Map<string, number>();

  plan(operationId: string): { perSecond: number; burst: number } {
    const p = this.plans.get(operationId);
    if (!p) throw new Error(`no usage plan for ${operationId}`);
    const rate = this.rates.get(operationId);
    return rate === undefined ? p : { ...p, perSecond: rate };
  }

  /** The selling partner's own plan differs from the model's (SP-API says so in x-amzn-RateLimit-Limit). */
  setRate(operationId: string, perSecond: number): void {
    this.rates.set(operationId, perSecond);
  }

  /** True when the call may go ahead (a token taken); false for a 429. */
  take(operationId: string): boolean {
    const now = this.clock();
    this.storms = this.storms.filter((s) => s.remaining > 0 && s.until > now);
    const storm = this.storms.find((s) => s.operations === null || s.operations.has(operationId));
    if (storm) {
      storm.remaining -= 1;
      return false;
    }
    const { perSecond, burst } = this.plan(operationId);
    const b = this.buckets.get(operationId) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond * this.scale);
    b.at = now;
    this.buckets.set(operationId, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** The next `count` calls (of these operations, or all) within `forMs` answer 429. */
  storm(opts: { operations?: string[]; count?: number; forMs?: number }): void {
    this.storms.push({
      operations: opts.operations ? new Set(opts.operations) : null,
      remaining: opts.count ?? Number.POSITIVE_INFINITY,
      until: this.clock() + (opts.forMs ?? Number.POSITIVE_INFINITY),
    });
  }

  /** Tokens left now (for tests). */
  tokens(operationId: string): number {
    const { perSecond, burst } = this.plan(operationId);
    const b = this.buckets.get(operationId);
    if (!b) return burst;
    return Math.min(burst, b.tokens + ((this.clock() - b.at) / 1000) * perSecond * this.scale);
  }
}
