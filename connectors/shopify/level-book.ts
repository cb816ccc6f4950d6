// What the connector has accounted for at each Shopify inventory level (item × location): the
// baseline figures, a sequence number for stable adjustment ids, and restock units that
// refunds/create already returned. Kept in the channel's durable state, cached in memory, and
// changed one level at a time (a per-level queue), so that a webhook, a push's answer and a
// pull never classify the same change twice.
import type { ConnectorState } from '../channel-connector.js';
import type { StockEvent } from '../../src/core/stock-event.js';
import type { LevelFigures } from './edit-detection.js';

const UNSENT_INDEX = 'levels:unsent';

export interface LevelRecord extends LevelFigures {
  seq: number;
  /** The on_hand change fulfilment and refund webhooks reported and no classification matched yet (classifyLevelChange). */
  pending: number;
  /** Fulfilment and refund lines already counted in `pending` (a redelivery adds nothing). */
  causes: string[];
  /**
   * The adjustment this baseline implies, stored with it before it is sent (write-ahead): a crash
   * between storing and sending sends the same event (same id) again, never a recomputed one.
   */
  unsent?: StockEvent;
}

export class LevelBook {
  private readonly cache = new Map<string, LevelRecord | null>();
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Figures we sent and have not yet seen answered, per level (echo detection). */
  readonly inFlight = new Map<string, Set<number>>();
  /**
   * What the last pull read at levels without a baseline (memory only: a large catalogue's first
   * pull writes no state): the figure a first push compares against (changeFromQuantity).
   */
  private readonly seen = new Map<string, LevelFigures>();

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

  /** Loads the records of `keys` not in memory yet, in one read where the state store allows. */
  async warm(keys: readonly string[]): Promise<void> {
    const missing = keys.filter((k) => !this.cache.has(k));
    if (missing.length === 0) return;
    const found = this.state.getMany ? await this.state.getMany(missing) : new Map((await Promise.all(missing.map(async (k) => [k, await this.state.get(k)] as const))).filter((e): e is [string, string] => e[1] !== null));
    for (const k of missing) if (!this.cache.has(k)) this.cache.set(k, found.has(k) ? (JSON.parse(found.get(k)!) as LevelRecord) : null);
  }

  /**
   * Replaces many levels' records in one write: each level's queue is held (as `exclusive`)
   * from computing its record until the write is done, so no other task of that level
   * interleaves. Every batch takes its levels' places in the queues at once, so two batches
   * never wait for each other in a cycle.
   */
  async putMany(keys: readonly string[], next: (key: string, current: LevelRecord | null) => LevelRecord): Promise<void> {
    const unique = [...new Set(keys)];
    await this.warm(unique);
    let release!: () => void;
    const written = new Promise<void>((r) => { release = r; });
    const computed = unique.map((key) => new Promise<[string, LevelRecord]>((resolve, reject) => {
      this.exclusive(key, async () => {
        resolve([key, next(key, await this.get(key))]);
        await written;
      }).catch(reject);
    }));
    try {
      const entries = await Promise.all(computed);
      if (this.state.setMany) await this.state.setMany(entries.map(([k, r]) => [k, JSON.stringify(r)] as const));
      else for (const [k, r] of entries) await this.state.set(k, JSON.stringify(r));
      for (const [k, r] of entries) {
        this.cache.set(k, r);
        this.seen.delete(k);
      }
    } finally {
      release();
    }
  }

  /** The record if this process has it in memory (no storage read). */
  peek(key: string): LevelRecord | null | undefined {
    return this.cache.get(key);
  }

  async put(key: string, rec: LevelRecord): Promise<void> {
    const prev = this.cache.get(key);
    if (prev && prev.available === rec.available && prev.onHand === rec.onHand && prev.seq === rec.seq && prev.pending === rec.pending
      && prev.causes.length === rec.causes.length && prev.unsent?.eventId === rec.unsent?.eventId) return;
    await this.state.set(key, JSON.stringify(rec));
    this.cache.set(key, rec);
    this.seen.delete(key);
  }

  private readonly unsent = new Set<string>();
  private unsentWrites: Promise<void> = Promise.resolve();

  /** Levels whose record may hold an unsent adjustment (written before the record, cleared after the send). */
  async loadUnsent(): Promise<string[]> {
    const raw = await this.state.get(UNSENT_INDEX);
    for (const k of raw ? (JSON.parse(raw) as string[]) : []) this.unsent.add(k);
    return [...this.unsent];
  }

  /** Adds or removes a level in the durable index; writes are serialised so that none is lost. */
  markUnsent(key: string, on: boolean): Promise<void> {
    if (on === this.unsent.has(key)) return this.unsentWrites;
    if (on) this.unsent.add(key);
    else this.unsent.delete(key);
    const write = this.unsentWrites.then(() => this.state.set(UNSENT_INDEX, JSON.stringify([...this.unsent])));
    this.unsentWrites = write.catch(() => undefined);
    return write;
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

  noteSeen(key: string, figures: LevelFigures): void {
    this.seen.set(key, figures);
  }

  /** The figures Shopify last showed us at this level: the baseline, else the last pull's read. */
  lastSeen(key: string): LevelFigures | undefined {
    return this.cache.get(key) ?? this.seen.get(key);
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
