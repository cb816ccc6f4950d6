// A mirror of the shop's GraphQL cost bucket, kept from the `extensions.cost.throttleStatus`
// Shopify returns with every answer (THROTTLED ones included), so that a request waits for the
// bucket to hold its cost instead of being sent, refused and retried with a blind backoff. Every
// request of one channel (pull, push, read-back, webhook reads) goes through the same gate, so
// reads and pushes of this process share the shop's budget; other processes' use shows up in the
// next throttleStatus. Pure: the clock is passed in.
import type { ThrottleStatus } from './admin-client.js';

export class CostGate {
  private available: number | null = null;
  private maximum = Infinity;
  private restoreRate = 0;
  private at = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** The bucket's size as Shopify last reported it (Infinity: not known yet). */
  get maximumAvailable(): number {
    return this.maximum;
  }

  /**
   * Reserves `cost` points and answers 0 if the bucket holds them now; otherwise answers how
   * many ms until it will (nothing reserved). Before Shopify has reported anything: 0.
   */
  reserve(cost: number): number {
    if (this.available === null || this.restoreRate <= 0) return 0;
    this.refill();
    const need = Math.min(cost, this.maximum);
    if (this.available >= need) {
      this.available -= need;
      return 0;
    }
    return Math.ceil(((need - this.available) / this.restoreRate) * 1000);
  }

  /** Shopify's own figures after a request: they replace the estimate. */
  observe(s: ThrottleStatus): void {
    this.available = s.currentlyAvailable;
    this.maximum = s.maximumAvailable;
    this.restoreRate = s.restoreRate;
    this.at = this.now();
  }

  private refill(): void {
    const t = this.now();
    this.available = Math.min(this.maximum, (this.available ?? 0) + ((t - this.at) / 1000) * this.restoreRate);
    this.at = t;
  }
}
