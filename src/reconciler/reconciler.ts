// The reconciler: folds log batches into the ledger. Each batch is one transaction holding the
// partition's stored offset (row-locked, so a zombie consumer after a rebalance waits and then
// skips what was applied), the dead letters, the event-id claims, ledger rows, positions and
// the new offset. A crash anywhere before COMMIT leaves nothing; after it, the offset says so.
import type { Database, Sql } from '../db/database.js';
import { isRetriableDbError } from '../db/database.js';
import { parseStockEvent } from '../core/stock-event.js';
import type { EventLog, LogBatch, Subscription } from '../eventlog/event-log.js';
import { EmbeddedEventLog } from '../eventlog/embedded-event-log.js';
import { writeLedger } from '../ledger/ledger-writer.js';
import { rowFromEvent, type LedgerRow, type PositionKey } from '../ledger/ledger-row.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { LocationDirectory } from './location-directory.js';
import { changeRecords } from './change-announcement.js';

export interface ReconcilerOptions {
  db: Database;
  log: EventLog;
  logger: Logger;
  metrics: Metrics;
  eventsTopic: string;
  atpTopic: string;
  groupId: string;
  /** Called after each committed batch with the positions it changed (in-process listeners). */
  onChanged?: (keys: PositionKey[]) => void;
  /** Called after each committed batch (benchmarks measure append→applied lag with it). */
  onCommitted?: (batch: LogBatch, outcome: BatchOutcome) => void;
}

interface DeadLetter {
  partition: number;
  offset: number;
  key: string | null;
  payload: string;
  reason: string;
}

export interface BatchOutcome {
  applied: number;
  duplicates: number;
  deadLettered: number;
  changed: PositionKey[];
}

export class Reconciler {
  private readonly locations = new LocationDirectory();
  private subscription: Subscription | null = null;

  constructor(private readonly o: ReconcilerOptions) {}

  async start(): Promise<void> {
    this.subscription = await this.o.log.subscribe({
      topic: this.o.eventsTopic,
      groupId: this.o.groupId,
      handler: (batch, ctx) => this.handle(batch, ctx),
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
    this.subscription = null;
  }

  private async handle(batch: LogBatch, ctx: { heartbeat(): Promise<void>; isActive(): boolean }): Promise<void> {
    const started = performance.now();
    let attempt = 0;
    for (;;) {
      try {
        const outcome = await this.applyBatch(batch);
        this.afterCommit(batch, outcome, started);
        return;
      } catch (err) {
        attempt += 1;
        this.o.logger.error({ err, partition: batch.partition, attempt }, 'reconciler batch failed; retrying');
        if (!ctx.isActive() || (!isRetriableDbError(err) && attempt >= 5)) throw err;
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 5_000)));
        await ctx.heartbeat().catch(() => {});
      }
    }
  }

  /** One batch, one transaction. Exposed for tests and the benchmark. */
  async applyBatch(batch: LogBatch): Promise<BatchOutcome> {
    const { db, groupId } = this.o;
    const outcome = await db.transaction(async (tx) => {
      const next = await lockOffset(tx, groupId, batch.topic, batch.partition);
      const messages = batch.messages.filter((m) => m.offset >= next);
      if (messages.length === 0) return { applied: 0, duplicates: 0, deadLettered: 0, changed: [] };

      const dead: DeadLetter[] = [];
      const parsed: Array<{ row: LedgerRow; m: (typeof messages)[number] }> = [];
      for (const m of messages) {
        let json: unknown;
        try {
          json = JSON.parse(m.value);
        } catch {
          dead.push({ ...m, payload: m.value, reason: 'not JSON' });
          continue;
        }
        const r = parseStockEvent(json);
        if (!r.ok) dead.push({ ...m, payload: m.value, reason: `invalid event: ${r.error}` });
        else parsed.push({ row: rowFromEvent(r.event), m });
      }
      const known = await this.locations.filterKnown(tx, parsed.map((p) => p.row.locationId));
      const rows: LedgerRow[] = [];
      for (const p of parsed) {
        if (known.has(p.row.locationId)) rows.push(p.row);
        else dead.push({ ...p.m, payload: p.m.value, reason: `unknown locationId: ${p.row.locationId}` });
      }
      if (dead.length > 0) await insertDeadLetters(tx, batch.topic, dead);
      const written = await writeLedger(tx, rows, { dedupe: true });
      const last = messages[messages.length - 1]!;
      await tx.query(
        'UPDATE consumer_offsets SET next_offset = $4, updated_at = now() WHERE consumer_group = $1 AND topic = $2 AND partition = $3',
        [groupId, batch.topic, batch.partition, last.offset + 1],
      );
      if (this.o.log instanceof EmbeddedEventLog && written.changed.length > 0) {
        // Embedded: the change announcement commits with the batch (an outbox in the same DB).
        await this.o.log.appendIn(tx, this.o.atpTopic, changeRecords(written.changed));
      }
      return { applied: written.applied.length, duplicates: written.duplicates, deadLettered: dead.length, changed: written.changed, dead };
    });
    return outcome;
  }

  private afterCommit(batch: LogBatch, outcome: BatchOutcome & { dead?: DeadLetter[] }, started: number): void {
    const { metrics, logger } = this.o;
    const now = Date.now();
    this.o.onCommitted?.(batch, outcome);
    metrics.batchDuration.observe((performance.now() - started) / 1000);
    metrics.batchSize.observe(batch.messages.length);
    metrics.eventsApplied.inc(outcome.applied);
    metrics.eventsDuplicate.inc(outcome.duplicates);
    for (const d of outcome.dead ?? []) {
      metrics.deadLetters.inc({ reason: d.reason.split(':')[0] ?? 'invalid' });
      logger.warn({ partition: d.partition, offset: d.offset, reason: d.reason }, 'message quarantined in dead_letters');
    }
    logger.debug({ partition: batch.partition, messages: batch.messages.length, applied: outcome.applied, duplicates: outcome.duplicates }, 'batch applied');
    for (const m of batch.messages) metrics.applyLag.observe(Math.max(0, now - m.appendedAt) / 1000);
    const last = batch.messages[batch.messages.length - 1];
    if (last) metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, batch.highWatermark - last.offset - 1));
    if (outcome.changed.length === 0) return;
    if (this.o.log instanceof EmbeddedEventLog) this.o.log.notifyAppended(this.o.atpTopic);
    else {
      // Kafka: announced after commit. A crash in between loses only the announcement; the
      // ledger is already right and subscribers re-read positions on their periodic refresh.
      this.o.log.append(this.o.atpTopic, changeRecords(outcome.changed)).catch((err: unknown) => {
        logger.warn({ err }, 'could not announce ATP changes');
      });
    }
    this.o.onChanged?.(outcome.changed);
  }
}

async function lockOffset(tx: Sql, group: string, topic: string, partition: number): Promise<number> {
  await tx.query(
    'INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING',
    [group, topic, partition],
  );
  const rows = await tx.query<{ next_offset: number }>(
    'SELECT next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2 AND partition = $3 FOR UPDATE',
    [group, topic, partition],
  );
  return rows[0]?.next_offset ?? 0;
}

async function insertDeadLetters(tx: Sql, topic: string, dead: readonly DeadLetter[]): Promise<void> {
  await tx.query(
    `INSERT INTO dead_letters (topic, partition, "offset", key, payload, reason)
     SELECT $1, * FROM unnest($2::int[], $3::int8[], $4::text[], $5::text[], $6::text[])`,
    [topic, dead.map((d) => d.partition), dead.map((d) => d.offset), dead.map((d) => d.key), dead.map((d) => d.payload.slice(0, 1_000_000)), dead.map((d) => d.reason)],
  );
}
