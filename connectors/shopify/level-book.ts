// What the connector has accounted for at each Shopify inventory level (item × location): the
// baseline figures, a sequence number for stable adjustment ids, and restock units that
// refunds/create already returned. Kept in the channel's durable state, cached in memory, and
// changed one level at a time (a per-level queue), so that a webhook, a push's answer and a
// pull never classify the same change twice.
import type { ConnectorState } from '../channel-connector.js';
import type { LevelFigures } from './edit-detection.js';

export interface LevelRecord extends LevelFigures { seq: number; credit: number; refundLines: string[] }

export class LevelBook {
  private readonly cache = new Map<string, LevelRecord | null>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Figures we sent and have not yet seen answered, per level (echo detection). */
  readonly inFlight = new Map<string, Set<number>>();

  constructor(private readonly state: ConnectorState) {}

  static key(itemNum: number, locNum: number): string {
    return `level:${itemNum}:${locNum}`;
  }

  async get(key: string): Promise<LevelRecord | null> {
    if (this.cache.has(key)) return this.cache.get(key)!;
    const raw = await this.state.get(key);
    const rec = raw ? (JSON.parse(raw) as LevelRecord) : null;
    this.cache.set(key, rec);
    return rec;
  }

  async put(key: string, rec: LevelRecord): Promise<void> {
    const prev = this.cache.get(key);
    if (prev && prev.available === rec.available && prev.onHand === rec.onHand && prev.seq === rec.seq && prev.credit === rec.credit && prev.refundLines.length === rec.refundLines.length) return;
    await this.state.set(key, JSON.stringify(rec));
    this.cache.set(key, rec);
  }

  /** Runs `fn` after every earlier task for the same level. */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => { if (this.queues.get(key) === tail) this.queues.delete(key); });
    return next;
  }

  notePushing(key: string, quantity: number): void {
    let s = this.inFlight.get(key);
    if (!s) this.inFlight.set(key, (s = new Set()));
    s.add(quantity);
  }

  donePushing(key: string, quantity: number): void {
    const s = this.inFlight.get(key);
    s?.delete(quantity);
    if (s && s.size === 0) this.inFlight.delete(key);
  }
}
