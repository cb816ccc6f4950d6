// The reconciler: folds log batches into the ledger. Each batch is one transaction holding the
// partition's stored offset (row-locked, so a zombie consumer after a rebalance waits and then
// skips what was applied), the dead letters, the event-id claims, ledger rows, positions and
// the new offset. A crash anywhere before COMMIT leaves nothing; after it, the offset says so.
import type { Database, Sql } from '../db/database.js';
import { isDataError, isRetriableDbError } from '../db/database.js';
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

/**
 * Transactions applied at once. Each alternates between its database backend and this thread
 * (building the next statement), so with two, both backends often waited on this thread
 * together and a core idled; with four that happens far less (BENCHMARKS.md, spine). They
 * never contend with each other on rows: a partition's batches are handed over one at a time,
 * and one SKU's events all live on one partition.
 */
export const MAX_TRANSACTIONS_IN_FLIGHT = 4;
const MAX_EVENTS_PER_TRANSACTION = 20_000;

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

  /**
   * Group commit: partitions deliver batches concurrently; whatever arrives while a
   * transaction runs is applied together in the next one. Bigger transactions, fewer commits.
   */
  private readonly queue: Array<{ batch: LogBatch; started: number; resolve: () => void; reject: (e: unknown) => void }> = [];
  private inFlight = 0;

  private handle(batch: LogBatch, ctx: { heartbeat(): Promise<void>; isActive(): boolean }): Promise<void> {
    return this.withRetry(batch, ctx);
  }

  private async withRetry(batch: LogBatch, ctx: { heartbeat(): Promise<void>; isActive(): boolean }): Promise<void> {
    let attempt = 0;
    for (;;) {
      try {
        await new Promise<void>((resolve, reject) => {
          this.queue.push({ batch, started: performance.now(), resolve, reject });
          this.drain();
        });
        return;
      } catch (err) {
        attempt += 1;
        this.o.logger.error({ err, partition: batch.partition, attempt }, 'reconciler batch failed; retrying');
        if (!ctx.isActive()) throw err;
        // Refused twice for its data: not a passing fault. Find the message(s) at fault rather
        // than stall the partition behind them.
        if (isDataError(err) && attempt >= 2) return this.applyOneByOne(batch);
        if (!isRetriableDbError(err) && attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 5_000)));
        await ctx.heartbeat().catch(() => {});
      }
    }
  }

  private drain(): void {
    while (this.inFlight < MAX_TRANSACTIONS_IN_FLIGHT && this.queue.length > 0) {
      const group: typeof this.queue = [];
      let events = 0;
      while (this.queue.length > 0 && (group.length === 0 || events + this.queue[0]!.batch.messages.length <= MAX_EVENTS_PER_TRANSACTION)) {
        const next = this.queue.shift()!;
        events += next.batch.messages.length;
        group.push(next);
      }
      this.inFlight += 1;
      this.applyBatches(group.map((g) => g.batch)).then(
        (outcomes) => {
          group.forEach((g, i) => this.afterCommit(g.batch, outcomes[i]!, g.started));
          group.forEach((g) => g.resolve());
        },
        (err: unknown) => group.forEach((g) => g.reject(err)),
      ).finally(() => {
        this.inFlight -= 1;
        this.drain();
      });
    }
  }

  /** One batch, one transaction. Exposed for tests and the benchmark. */
  async applyBatch(batch: LogBatch): Promise<BatchOutcome> {
    return (await this.applyBatches([batch]))[0]!;
  }

  /** Several batches (distinct partitions or consecutive ones), one transaction. */
  async applyBatches(batches: readonly LogBatch[]): Promise<Array<BatchOutcome & { dead: DeadLetter[] }>> {
    const { db, groupId } = this.o;
    // Parsing needs no database: done before the transaction, so the connection (and the row
    // locks) are not held while this thread decodes thousands of events.
    const decoded = await decodeYielding(batches);
    return db.transaction(async (tx) => {
      // Offsets are locked in (topic, partition) order; a zombie member after a rebalance waits
      // here and then finds the messages already applied.
      const next = await lockOffsets(tx, groupId, batches);
      const dead: DeadLetter[][] = batches.map(() => []);
      for (const b of decoded.bad) {
        if (b.m.offset >= next[b.batch]!) dead[b.batch]!.push(deadLetter(b.m, b.reason));
      }
      const known = await this.locations.filterKnown(tx, decoded.rows);
      // Usually every row lies past its partition's stored offset and names a known location:
      // then the decoded arrays are used as they are.
      const keep = (k: number) => decoded.rowMessage[k]!.offset >= next[decoded.rowBatch[k]!]! && known.has(decoded.rows[k]!.locationId);
      let { rows, rowBatch } = decoded;
      if (!rows.every((_, k) => keep(k))) {
        rows = [];
        rowBatch = [];
        decoded.rows.forEach((row, k) => {
          const i = decoded.rowBatch[k]!;
          const m = decoded.rowMessage[k]!;
          if (keep(k)) {
            rows.push(row);
            rowBatch.push(i);
          } else if (m.offset >= next[i]!) dead[i]!.push(deadLetter(m, `unknown locationId: ${row.locationId}`));
        });
      }
      const allDead = dead.flat();
      if (allDead.length > 0) await insertDeadLetters(tx, batches, dead);
      const written = await writeLedger(tx, rows, { dedupe: true });
      await storeOffsets(tx, groupId, batches.flatMap((b, i) => {
        const last = b.messages[b.messages.length - 1];
        return last && last.offset >= next[i]! ? [{ topic: b.topic, partition: b.partition, next: last.offset + 1 }] : [];
      }));
      if (this.o.log instanceof EmbeddedEventLog && written.changed.length > 0) {
        // Embedded: the change announcement commits with the batch (an outbox in the same DB).
        await this.o.log.appendIn(tx, this.o.atpTopic, changeRecords(written.changed));
      }
      // Attribute results to the batches they came from (the changes go with the first).
      const perBatch = batches.map((_, i) => ({ applied: 0, duplicates: 0, deadLettered: dead[i]!.length, changed: [] as PositionKey[], dead: dead[i]! }));
      if (written.duplicates === 0) {
        // The usual case: every row applied, and no set of thousands of ids to build.
        for (const i of rowBatch) perBatch[i]!.applied += 1;
      } else {
        const appliedIds = new Set(written.applied.map((r) => r.entryId));
        rows.forEach((r, k) => {
          const o = perBatch[rowBatch[k]!]!;
          if (appliedIds.delete(r.entryId)) o.applied += 1;
          else o.duplicates += 1;
        });
      }
      if (perBatch[0]) perBatch[0].changed = written.changed;
      return perBatch;
    });
  }

  /**
   * A batch the database keeps refusing for its data (validation should have caught it; this is
   * the net under it): each message in its own transaction, in order, and one the database
   * refuses goes to dead_letters with the database's reason. Progress is stored per message, so
   * a crash here resumes after the last one done.
   */
  private async applyOneByOne(batch: LogBatch): Promise<void> {
    for (const m of batch.messages) {
      const single: LogBatch = { ...batch, messages: [m] };
      const started = performance.now();
      let outcome: BatchOutcome & { dead: DeadLetter[] };
      try {
        outcome = (await this.applyBatches([single]))[0]!;
      } catch (err) {
        if (!isDataError(err)) throw err;
        outcome = await this.quarantine(single, `refused by the database: ${(err as Error).message}`);
      }
      this.afterCommit(single, outcome, started);
    }
  }

  /** Dead-letters a one-message batch and moves its partition's offset past it. */
  private async quarantine(batch: LogBatch, reason: string): Promise<BatchOutcome & { dead: DeadLetter[] }> {
    const m = batch.messages[0]!;
    return this.o.db.transaction(async (tx) => {
      const [next] = await lockOffsets(tx, this.o.groupId, [batch]);
      if (m.offset < next!) return { applied: 0, duplicates: 0, deadLettered: 0, changed: [], dead: [] };
      const dead = [deadLetter(m, reason)];
      await insertDeadLetters(tx, [batch], [dead]);
      await storeOffsets(tx, this.o.groupId, [{ topic: batch.topic, partition: batch.partition, next: m.offset + 1 }]);
      return { applied: 0, duplicates: 0, deadLettered: 1, changed: [], dead };
    });
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

type LogMessage = LogBatch['messages'][number];

/** Spelled out, not spread: a message's key and value may be getters (packed-messages.ts). */
function deadLetter(m: LogMessage, reason: string): DeadLetter {
  return { partition: m.partition, offset: m.offset, key: m.key, payload: m.value, reason };
}

/** Messages decoded between two turns of the event loop (about 2 ms of work). */
const DECODE_SLICE = 500;

/**
 * A group's messages decoded: ledger rows, each with the batch (index) and message it came from,
 * in parallel arrays rather than an object per message, and the messages that are not events.
 */
interface Decoded {
  rows: LedgerRow[];
  rowBatch: number[];
  rowMessage: LogMessage[];
  bad: Array<{ batch: number; m: LogMessage; reason: string }>;
}

/**
 * Decodes every message, giving the event loop a turn every DECODE_SLICE messages. The other
 * transactions in flight wait on this thread between their statements; decoding a whole group
 * (~10k events, tens of ms) in one go left their backends idle meanwhile.
 */
async function decodeYielding(batches: readonly LogBatch[]): Promise<Decoded> {
  const out: Decoded = { rows: [], rowBatch: [], rowMessage: [], bad: [] };
  let sinceYield = 0;
  for (let i = 0; i < batches.length; i++) {
    for (const m of batches[i]!.messages) {
      const d = decode(m.value);
      if (typeof d === 'string') out.bad.push({ batch: i, m, reason: d });
      else {
        out.rows.push(d);
        out.rowBatch.push(i);
        out.rowMessage.push(m);
      }
      if (++sinceYield === DECODE_SLICE) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }
  return out;
}

/** A message's value as a ledger row, or the reason it goes to dead letters. */
function decode(value: string): LedgerRow | string {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return 'not JSON';
  }
  const r = parseStockEvent(json);
  return r.ok ? rowFromEvent(r.event) : `invalid event: ${r.error}`;
}

/**
 * Locks the stored offsets of the batches' partitions in one statement and returns, per batch,
 * the next offset to apply. The no-op DO UPDATE takes the row lock (in input order, sorted
 * byte-wise like every reconciler's) and returns the latest committed value, as FOR UPDATE would.
 */
async function lockOffsets(tx: Sql, group: string, batches: readonly LogBatch[]): Promise<number[]> {
  const parts = [...new Map(batches.map((b) => [`${b.topic}\u0000${b.partition}`, { topic: b.topic, partition: b.partition }])).values()];
  const rows = await tx.query<{ topic: string; partition: number; next_offset: number }>(
    `INSERT INTO consumer_offsets AS o (consumer_group, topic, partition, next_offset)
     SELECT $1, t, p, 0 FROM unnest($2::text[], $3::int4[]) AS x(t, p) ORDER BY t COLLATE "C", p
     ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET next_offset = o.next_offset
     RETURNING topic, partition, next_offset`,
    [group, parts.map((p) => p.topic), parts.map((p) => p.partition)],
  );
  const next = new Map(rows.map((r) => [`${r.topic}\u0000${r.partition}`, r.next_offset]));
  return batches.map((b) => next.get(`${b.topic}\u0000${b.partition}`) ?? 0);
}

/** Stores each partition's next offset (the highest, where a group holds consecutive batches of one partition). */
async function storeOffsets(tx: Sql, group: string, all: ReadonlyArray<{ topic: string; partition: number; next: number }>): Promise<void> {
  const highest = new Map<string, { topic: string; partition: number; next: number }>();
  for (const o of all) {
    const k = `${o.topic}\u0000${o.partition}`;
    if ((highest.get(k)?.next ?? -1) < o.next) highest.set(k, o);
  }
  const offsets = [...highest.values()];
  if (offsets.length === 0) return;
  await tx.query(
    `UPDATE consumer_offsets o SET next_offset = x.n, updated_at = now()
       FROM unnest($2::text[], $3::int4[], $4::int8[]) AS x(t, p, n)
      WHERE o.consumer_group = $1 AND o.topic = x.t AND o.partition = x.p`,
    [group, offsets.map((o) => o.topic), offsets.map((o) => o.partition), offsets.map((o) => o.next)],
  );
}

/** PostgreSQL text cannot hold NUL, which a raw Kafka key or value may: shown as U+FFFD instead. */
const storable = (s: string) => (s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s);

async function insertDeadLetters(tx: Sql, batches: readonly LogBatch[], deadPerBatch: readonly DeadLetter[][]): Promise<void> {
  const topics: string[] = [];
  const dead: DeadLetter[] = [];
  deadPerBatch.forEach((list, i) => list.forEach((d) => { topics.push(batches[i]!.topic); dead.push(d); }));
  await tx.query(
    `INSERT INTO dead_letters (topic, partition, "offset", key, payload, reason)
     SELECT * FROM unnest($1::text[], $2::int[], $3::int8[], $4::text[], $5::text[], $6::text[])`,
    [topics, dead.map((d) => d.partition), dead.map((d) => d.offset), dead.map((d) => (d.key === null ? null : storable(d.key))),
      dead.map((d) => storable(d.payload.slice(0, 1_000_000))), dead.map((d) => storable(d.reason))],
  );
}
