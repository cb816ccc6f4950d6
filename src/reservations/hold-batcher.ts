// Group commit for holds. Under hot SKUs a hold's cost is its commit: the WAL flush during
// which its position rows stay locked, so every other hold of those positions queues behind
// it. Holds that arrive while a batch is in flight wait for the next one and share a single
// transaction (`omnistock_hold_batch`, migration 0009), each still all-or-nothing on its own.
// A lone request goes out at once: nothing waits for a timer.
import type { Database } from '../db/database.js';
import { isRetriableDbError } from '../db/database.js';
import type { PositionKey } from '../ledger/ledger-row.js';
import type { ReservedLine } from './reserved-positions.js';

export interface BatchedHold {
  id: string;
  channel: string;
  orderRef: string | null;
  fingerprint: string;
  ttlSeconds: number;
  expiresAt: string;
  now: string;
  lines: readonly ReservedLine[];
}

export type BatchedOutcome = { outcome: 'held' } | { outcome: 'exists' } | { outcome: 'missed'; missed: PositionKey };

interface Pending {
  hold: BatchedHold;
  resolve: (o: BatchedOutcome) => void;
  reject: (err: unknown) => void;
}

interface Row {
  ord: number;
  outcome: 'held' | 'exists' | 'missed' | 'error';
  sku: string | null;
  location_id: string | null;
  detail: string | null;
}

export interface HoldBatcherOptions {
  /** Holds per transaction; below 64 so the subtransactions stay in PostgreSQL's per-backend cache. */
  maxBatch?: number;
  /** Transactions in flight at once; two keep the pipe full while one commits. */
  maxInFlight?: number;
  maxAttempts?: number;
  onRetry?: () => void;
}

export class HoldBatcher {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly maxAttempts: number;
  /** Batches sent and holds in them, for the benchmark's report. */
  readonly stats = { batches: 0, holds: 0 };

  constructor(private readonly db: Database, private readonly opts: HoldBatcherOptions = {}) {
    this.maxBatch = opts.maxBatch ?? 48;
    this.maxInFlight = opts.maxInFlight ?? 2;
    this.maxAttempts = opts.maxAttempts ?? 3;
  }

  hold(hold: BatchedHold): Promise<BatchedOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ hold, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      this.inFlight += 1;
      void this.run(batch).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  /** The next batch; a second request for an id already in it waits for a later batch. */
  private take(): Pending[] {
    const batch: Pending[] = [];
    const ids = new Set<string>();
    for (let i = 0; i < this.queue.length && batch.length < this.maxBatch; ) {
      const p = this.queue[i]!;
      if (ids.has(p.hold.id)) {
        i += 1;
        continue;
      }
      ids.add(p.hold.id);
      batch.push(p);
      this.queue.splice(i, 1);
    }
    return batch;
  }

  private async run(batch: Pending[]): Promise<void> {
    const holds = batch.map((p) => p.hold);
    const lines = holds.flatMap((h, i) => h.lines.map((l) => ({ res: i + 1, l })));
    const params = [
      holds.map((h) => h.id), holds.map((h) => h.channel), holds.map((h) => h.orderRef), holds.map((h) => h.fingerprint),
      holds.map((h) => h.ttlSeconds), holds.map((h) => h.expiresAt), holds.map((h) => h.now),
      lines.map((x) => x.res), lines.map((x) => x.l.lineNo), lines.map((x) => x.l.sku), lines.map((x) => x.l.locationId), lines.map((x) => x.l.quantity),
    ];
    let rows: Row[];
    try {
      rows = await this.attempt(params);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.stats.batches += 1;
    this.stats.holds += batch.length;
    for (const r of rows) {
      const p = batch[r.ord - 1];
      if (!p) continue;
      if (r.outcome === 'held' || r.outcome === 'exists') p.resolve({ outcome: r.outcome });
      else if (r.outcome === 'missed') p.resolve({ outcome: 'missed', missed: { sku: r.sku ?? '', locationId: r.location_id ?? '' } });
      else p.reject(new Error(`hold of reservation "${p.hold.id}" failed: ${r.detail ?? 'unknown error'}`));
    }
  }

  private async attempt(params: unknown[]): Promise<Row[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        // One statement outside an explicit transaction is its own: the commit follows the
        // last position update inside the server, with no client round trip under row locks.
        return await this.db.query<Row>(
          `SELECT ord, outcome, sku, location_id, detail FROM omnistock_hold_batch(
             $1::text[], $2::text[], $3::text[], $4::text[], $5::int4[], $6::timestamptz[], $7::timestamptz[],
             $8::int4[], $9::int4[], $10::text[], $11::text[], $12::int8[])`,
          params,
        );
      } catch (err) {
        if (!isRetriableDbError(err) || attempt >= this.maxAttempts) throw err;
        this.opts.onRetry?.();
      }
    }
  }
}
