// From "these positions changed" to outbox rows: the engine's publisher. Changes arrive from
// the reconciler's `inventory.atp` stream (Kafka or the embedded log, its own consumer group)
// and, for low lag, from the in-process listeners (reconciler and reservations in this
// process). Both only name positions; the figures are re-read from the ledger, so duplicates
// and reordering are harmless. Flushes are serialised and coalesce everything noted meanwhile.
import type { Database } from '../db/database.js';
import { atpBySku, channelFigures, relevantLocations, type ChannelShape, type PositionAtp } from './channel-figures.js';
import { enqueueFigures } from './outbox.js';

export interface PublishedChannel {
  id: string;
  shape: ChannelShape;
  lowStockThreshold: number;
  /** Called after new figures were enqueued. */
  wake(): void;
}

const READ_CHUNK = 2_000;

export async function readAtps(db: Database, skus: readonly string[], locationIds: readonly string[]): Promise<Map<string, Map<string, number>>> {
  const rows: PositionAtp[] = [];
  for (let i = 0; i < skus.length; i += READ_CHUNK) {
    const part = await db.query<Record<string, unknown>>(
      `SELECT p.sku, p.location_id, p.on_hand, p.reserved, p.unavailable + p.missing AS unavailable, l.safety_stock, l.active
         FROM positions p JOIN locations l ON l.id = p.location_id
        WHERE p.sku = ANY($1::text[]) AND p.location_id = ANY($2::text[])`,
      [skus.slice(i, i + READ_CHUNK), locationIds],
    );
    for (const r of part) {
      rows.push({
        sku: r.sku as string, locationId: r.location_id as string, onHand: Number(r.on_hand), reserved: Number(r.reserved),
        unavailable: Number(r.unavailable), safetyStock: Number(r.safety_stock), active: r.active as boolean,
      });
    }
  }
  return atpBySku(rows);
}

/** Works out and enqueues one channel's figures for `skus`. */
export async function publishSkus(db: Database, ch: PublishedChannel, skus: readonly string[]): Promise<number> {
  if (skus.length === 0) return 0;
  const atps = await readAtps(db, skus, [...relevantLocations(ch.shape)]);
  const n = await enqueueFigures(db, ch.id, channelFigures(ch.shape, skus, atps), ch.lowStockThreshold);
  if (n > 0) ch.wake();
  return n;
}

/** Every SKU the channel could show (a new channel, a settings change): all are enqueued; unchanged figures coalesce away. */
export async function publishAll(db: Database, ch: PublishedChannel): Promise<number> {
  const locs = [...relevantLocations(ch.shape)];
  if (locs.length === 0) return 0;
  const skus = (await db.query<{ sku: string }>('SELECT DISTINCT sku FROM positions WHERE location_id = ANY($1::text[])', [locs])).map((r) => r.sku);
  let n = 0;
  for (let i = 0; i < skus.length; i += READ_CHUNK) n += await publishSkus(db, ch, skus.slice(i, i + READ_CHUNK));
  return n;
}

export class ChangeIntake {
  private pending = new Map<string, Set<string>>();
  private flushing: Promise<void> | null = null;
  private scheduled: Promise<void> | null = null;

  constructor(
    private readonly db: Database,
    private readonly channels: () => readonly PublishedChannel[],
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Notes changed positions; the promise resolves once their figures are in the outbox. */
  note(changes: Iterable<{ sku: string; locationIds: readonly string[] }>): Promise<void> {
    for (const c of changes) {
      let s = this.pending.get(c.sku);
      if (!s) this.pending.set(c.sku, (s = new Set()));
      for (const l of c.locationIds) s.add(l);
    }
    if (!this.scheduled) {
      this.scheduled = (async () => {
        await this.flushing?.catch(() => {});
        this.scheduled = null;
        const p = this.flush();
        this.flushing = p;
        await p.finally(() => { if (this.flushing === p) this.flushing = null; });
      })();
    }
    return this.scheduled;
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    if (batch.size === 0) return;
    for (const ch of this.channels()) {
      const relevant = relevantLocations(ch.shape);
      const skus: string[] = [];
      for (const [sku, locs] of batch) {
        for (const l of locs) {
          if (relevant.has(l)) {
            skus.push(sku);
            break;
          }
        }
      }
      try {
        await publishSkus(this.db, ch, skus);
      } catch (err) {
        // Put them back: the next flush (or the drift job) tries again.
        for (const sku of skus) {
          const s = this.pending.get(sku) ?? new Set<string>();
          for (const l of batch.get(sku) ?? []) s.add(l);
          this.pending.set(sku, s);
        }
        this.onError(err);
        throw err;
      }
    }
  }
}
