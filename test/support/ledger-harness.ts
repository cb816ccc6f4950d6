// Helpers for the ledger-writer property tests (test/ledger-writer.property.test.ts): random
// stock histories as fast-check arbitraries, their delivery as log batches (shuffled, duplicated,
// redelivered), an in-order reference fold, what the database holds for one run, and a
// fault-injecting wrapper around the Database port (the adapters themselves are the real ones).
import fc from 'fast-check';
import type { CopyInput, Database, Sql } from '../../src/db/database.js';
import { foldEntries } from '../../src/core/fold.js';
import { entryFromEvent, type LedgerEntry } from '../../src/core/ledger-entry.js';
import { positionKey } from '../../src/core/ids.js';
import type { StockEvent } from '../../src/core/stock-event.js';
import type { LogBatch, LogMessage } from '../../src/eventlog/event-log.js';
import { upsertLocation } from '../../src/locations/location-store.js';
import { referenceInOrder, type Figures } from './reference-fold.js';


export const LOCATIONS = ['ams-01', 'rtm-02'] as const;
export const SKUS_PER_RUN = 3;

export async function addLocations(db: Database): Promise<void> {
  for (const id of LOCATIONS) {
    await upsertLocation(db, id, {
      name: id, type: 'store', lat: 52.37, lon: 4.89, shipFromStore: true, pickup: true, rank: 100, dailyCapacity: null,
      safetyStock: 0, active: true,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Histories

/** One event before it gets its run-specific names. Few SKUs, locations and instants: ties are common. */
export interface EventSpec {
  type: 'count' | 'received' | 'sold' | 'returned' | 'returned-unsellable' | 'adjusted' | 'unavailable';
  sku: number;
  loc: number;
  /** Minute slot 0..5. */
  minute: number;
  /** Millisecond inside the minute: 0 (ties), 1 (just after), 59_999 (just before the next slot). */
  ms: number;
  q: number;
  negative: boolean;
  /** The offset the time is written with; the instant is the same. */
  tz: 'Z' | '+01:00' | '-05:30';
}

export const eventSpecArb: fc.Arbitrary<EventSpec> = fc.record({
  type: fc.constantFrom<EventSpec['type']>('count', 'count', 'received', 'sold', 'sold', 'returned', 'returned-unsellable', 'adjusted', 'unavailable'),
  sku: fc.nat(SKUS_PER_RUN - 1),
  loc: fc.nat(LOCATIONS.length - 1),
  minute: fc.nat(5),
  ms: fc.constantFrom(0, 0, 0, 1, 59_999),
  q: fc.integer({ min: 0, max: 12 }),
  negative: fc.boolean(),
  tz: fc.constantFrom<EventSpec['tz']>('Z', '+01:00', '-05:30'),
});

const T0 = Date.parse('2026-11-23T09:00:00Z');

function isoWithOffset(ms: number, tz: EventSpec['tz']): string {
  if (tz === 'Z') return new Date(ms).toISOString();
  const minutes = tz === '+01:00' ? 60 : -330;
  return `${new Date(ms + minutes * 60_000).toISOString().slice(0, -1)}${tz}`;
}

export function skuName(run: string, i: number): string {
  return `${run}-S${i}`;
}

/** A valid §3 stock event; ids and SKUs carry the run name so runs share one database. */
export function toEvent(run: string, i: number, s: EventSpec): StockEvent {
  const common = {
    eventId: `${run}-e${i}`,
    sku: skuName(run, s.sku),
    locationId: LOCATIONS[s.loc]!,
    occurredAt: isoWithOffset(T0 + s.minute * 60_000 + s.ms, s.tz),
    source: 'property-test',
  };
  const q = Math.max(1, s.q);
  switch (s.type) {
    case 'count': return { ...common, type: 'stock.counted', quantity: s.q * 2 };
    case 'received': return { ...common, type: 'stock.received', quantity: q };
    case 'sold': return { ...common, type: 'stock.sold', quantity: q };
    case 'returned': return { ...common, type: 'stock.returned', quantity: q, sellable: true };
    case 'returned-unsellable': return { ...common, type: 'stock.returned', quantity: q, sellable: false };
    case 'adjusted': return { ...common, type: 'stock.adjusted', delta: s.negative ? -q : q, reason: 'cycle fix' };
    case 'unavailable': return { ...common, type: 'stock.unavailable', quantity: s.negative ? -q : q, reason: 'damaged' };
  }
}

// ---------------------------------------------------------------------------------------------
// Reference


/** Expected stored position per key: figures from the in-order replay, the count in force from the pure fold. */
export function expectedByKey(entries: readonly LedgerEntry[]): Map<string, StoredPosition> {
  const seen = new Set<string>();
  const byKey = new Map<string, LedgerEntry[]>();
  for (const e of entries) {
    if (seen.has(e.entryId)) continue;
    seen.add(e.entryId);
    const k = positionKey(e.sku, e.locationId);
    byKey.set(k, [...(byKey.get(k) ?? []), e]);
  }
  const out = new Map<string, StoredPosition>();
  for (const [k, list] of byKey) {
    const f = foldEntries(list);
    out.set(k, { ...referenceInOrder(list), countAt: f.countAt, countEntryId: f.countEntryId, countQuantity: f.countQuantity });
  }
  return out;
}

export function entriesOf(events: readonly StockEvent[]): LedgerEntry[] {
  return events.map(entryFromEvent);
}

// ---------------------------------------------------------------------------------------------
// Delivery: the history plus redelivered copies, shuffled, spread over partitions, cut into
// batches, applied in an interleaving that keeps each partition's order (what a log guarantees),
// with whole batches redelivered (same offsets) and several batches grouped in one transaction.

export const PARTITIONS = 3;

export interface DeliveryPlan {
  /** Indices into the history; repeats are redeliveries with new offsets. */
  order: number[];
  /** Per delivered message: its partition (cycled). */
  partitionOf: number[];
  /** Batch sizes (cycled). */
  batchSizes: number[];
  /** Which partition delivers next; exhausted picks are skipped, leftovers drain in order. */
  picks: number[];
  /** Per step: deliver the previous batch of that partition again first (cycled). */
  redeliver: boolean[];
  /** Batches per transaction (cycled). */
  groupSizes: number[];
}

export function deliveryPlanArb(historyLength: number): fc.Arbitrary<DeliveryPlan> {
  const n = historyLength;
  return fc
    .tuple(
      fc.array(fc.nat(n - 1), { maxLength: Math.max(4, Math.ceil(n / 2)) }),
      fc.array(fc.nat(n - 1), { maxLength: 4 }),
    )
    .chain(([dups, echoes]) => {
      const indices = [...Array.from({ length: n }, (_, i) => i), ...dups];
      return fc.record({
        order: fc.shuffledSubarray(indices, { minLength: indices.length, maxLength: indices.length })
          // Echoes: a copy right behind the original, so in-batch duplicates are common.
          .map((o) => o.flatMap((i) => (echoes.includes(i) ? [i, i] : [i]))),
        partitionOf: fc.array(fc.nat(PARTITIONS - 1), { minLength: 1, maxLength: 20 }),
        batchSizes: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 8 }),
        picks: fc.array(fc.nat(PARTITIONS - 1), { maxLength: 30 }),
        redeliver: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        groupSizes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 5 }),
      });
    });
}

/** The plan as a list of transactions, each a list of log batches. */
export function planTransactions(topic: string, events: readonly StockEvent[], plan: DeliveryPlan): LogBatch[][] {
  const perPartition: LogMessage[][] = Array.from({ length: PARTITIONS }, () => []);
  plan.order.forEach((idx, k) => {
    const p = plan.partitionOf[k % plan.partitionOf.length]!;
    const list = perPartition[p]!;
    list.push({ partition: p, offset: list.length, key: events[idx]!.sku, value: JSON.stringify(events[idx]), appendedAt: 0 });
  });
  const chunks: LogBatch[][] = perPartition.map((msgs, p) => {
    const out: LogBatch[] = [];
    for (let i = 0, b = 0; i < msgs.length; b++) {
      const size = plan.batchSizes[(b + p) % plan.batchSizes.length]!;
      out.push({ topic, partition: p, messages: msgs.slice(i, i + size) });
      i += size;
    }
    return out;
  });
  const next = chunks.map(() => 0);
  const steps: LogBatch[] = [];
  let step = 0;
  const take = (p: number) => {
    const list = chunks[p]!;
    if (next[p]! >= list.length) return;
    if (next[p]! > 0 && plan.redeliver[step % plan.redeliver.length]) steps.push(list[next[p]! - 1]!);
    steps.push(list[next[p]!]!);
    next[p]! += 1;
    step += 1;
  };
  for (const p of plan.picks) take(p);
  for (let p = 0; p < PARTITIONS; p++) while (next[p]! < chunks[p]!.length) take(p);
  const txs: LogBatch[][] = [];
  for (let i = 0, g = 0; i < steps.length; g++) {
    const size = plan.groupSizes[g % plan.groupSizes.length]!;
    txs.push(steps.slice(i, i + size));
    i += size;
  }
  return txs;
}

// ---------------------------------------------------------------------------------------------
// What the database holds for one run

export interface StoredPosition extends Figures {
  countAt: number | null;
  countEntryId: string | null;
  countQuantity: number | null;
}

export async function storedPositions(db: Sql, skuPrefix: string): Promise<Map<string, StoredPosition>> {
  const rows = await db.query<{
    sku: string; location_id: string; on_hand: number; unavailable: number; missing: number; reserved: number;
    count_at_ms: number | null; count_event_id: string | null; count_quantity: number | null;
  }>(
    `SELECT sku, location_id, on_hand, unavailable, missing, reserved,
            (extract(epoch from count_at) * 1000)::float8 AS count_at_ms, count_event_id, count_quantity
       FROM positions WHERE starts_with(sku, $1)`,
    [skuPrefix],
  );
  return new Map(rows.map((r) => [positionKey(r.sku, r.location_id), {
    onHand: r.on_hand, unavailable: r.unavailable, missing: r.missing, reserved: r.reserved,
    countAt: r.count_at_ms === null ? null : Math.round(r.count_at_ms), countEntryId: r.count_event_id, countQuantity: r.count_quantity,
  }]));
}

export async function storedLedger(db: Sql, skuPrefix: string): Promise<LedgerEntry[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT event_id, kind, sku, location_id, (extract(epoch from occurred_at) * 1000)::float8 AS at, count_quantity,
            on_hand_delta, unavailable_delta, missing_delta, reserved_delta
       FROM ledger_entries WHERE starts_with(sku, $1) ORDER BY id`,
    [skuPrefix],
  );
  return rows.map((r) => ({
    entryId: r.event_id as string, kind: r.kind as LedgerEntry['kind'], sku: r.sku as string, locationId: r.location_id as string,
    occurredAt: Math.round(r.at as number), countQuantity: r.count_quantity as number | null, onHandDelta: r.on_hand_delta as number,
    unavailableDelta: r.unavailable_delta as number, missingDelta: r.missing_delta as number, reservedDelta: r.reserved_delta as number,
  }));
}

/** Positions as the pure fold of their stored ledger entries. */
export function foldLedger(entries: readonly LedgerEntry[]): Map<string, StoredPosition> {
  const byKey = new Map<string, LedgerEntry[]>();
  for (const e of entries) {
    const k = positionKey(e.sku, e.locationId);
    byKey.set(k, [...(byKey.get(k) ?? []), e]);
  }
  return new Map([...byKey].map(([k, list]) => {
    const f = foldEntries(list);
    return [k, { onHand: f.onHand, unavailable: f.unavailable, missing: f.missing, reserved: f.reserved, countAt: f.countAt, countEntryId: f.countEntryId, countQuantity: f.countQuantity }];
  }));
}

export async function processedIds(db: Sql, idPrefix: string): Promise<string[]> {
  return (await db.query<{ event_id: string }>('SELECT event_id FROM processed_events WHERE starts_with(event_id, $1) ORDER BY event_id', [idPrefix]))
    .map((r) => r.event_id);
}

/** Event ids appearing more than once in the run's ledger (a double application). */
export function repeatedIds(entries: readonly LedgerEntry[]): string[] {
  const n = new Map<string, number>();
  for (const e of entries) n.set(e.entryId, (n.get(e.entryId) ?? 0) + 1);
  return [...n].filter(([, c]) => c > 1).map(([id]) => id);
}

export function sortedMap<V>(m: Map<string, V>): Array<[string, V]> {
  return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Everything a run leaves in the database, for "no trace" comparisons. */
export async function snapshot(db: Sql, run: string, topic: string) {
  return {
    positions: sortedMap(await storedPositions(db, `${run}-`)),
    ledger: (await storedLedger(db, `${run}-`)).map((e) => e.entryId).sort(),
    processed: await processedIds(db, `${run}-`),
    offsets: await db.query('SELECT consumer_group, partition, next_offset FROM consumer_offsets WHERE topic = $1 ORDER BY 1, 2', [topic]),
    dead: await db.query('SELECT partition, "offset" FROM dead_letters WHERE topic = $1 ORDER BY 1, 2', [topic]),
    announcements: await db.query('SELECT count(*)::int AS n FROM log_messages WHERE topic = $1', [`${topic}.atp`]),
  };
}

// ---------------------------------------------------------------------------------------------
// Faults

export type FaultMode = 'throw-before' | 'throw-after' | 'kill-connection';

export class InjectedFault extends Error {
  constructor(readonly at: number) {
    super(`injected fault at statement ${at}`);
  }
}

/**
 * The same database, whose next transaction fails at its `failAt`-th statement: by throwing
 * before or after running it (the statement's writes are then in the transaction), or, on a
 * PostgreSQL server, by terminating the backend the transaction runs on. Statements outside
 * transactions pass through. `fired` tells whether the fault happened (the transaction may
 * have had fewer statements).
 */
export function faultyDatabase(db: Database, failAt: number, mode: FaultMode): Database & { fired: boolean } {
  const out = {
    kind: db.kind,
    fired: false,
    query: <R>(text: string, params?: readonly unknown[]) => db.query<R>(text, params),
    copyIn: (table: string, columns: readonly string[], text: CopyInput) => db.copyIn(table, columns, text),
    close: () => Promise.resolve(),
    transaction: <T>(fn: (tx: Sql) => Promise<T>): Promise<T> =>
      db.transaction(async (tx) => {
        let n = 0;
        let strikeAt = failAt;
        // Every statement counts, COPY included: the fault may strike at any of them.
        const step = async <R>(run: () => Promise<R>): Promise<R> => {
          n += 1;
          if (n === strikeAt && !out.fired) {
            if (mode === 'throw-before') {
              out.fired = true;
              throw new InjectedFault(n);
            }
            if (mode === 'kill-connection') {
              const refused = await tx.query('SELECT pg_terminate_backend(pg_backend_pid())').then(() => null, (e: unknown) => e);
              // A transaction that a failed statement left aborted (until the writer rolls back to
              // its savepoint, next) runs nothing: the kill strikes at the following statement.
              if ((refused as { code?: string } | null)?.code === '25P02') {
                strikeAt = n + 1;
                return run();
              }
              out.fired = true;
              throw refused ?? new Error('the backend survived pg_terminate_backend');
            }
            // A statement that fails on its own (the claim's plain insert meeting a duplicate,
            // which the writer handles) fails as it would have: the fault has not fired yet.
            await run();
            out.fired = true;
            throw new InjectedFault(n);
          }
          return run();
        };
        const wrapped: Sql = {
          query: <R>(text: string, params?: readonly unknown[]) => step(() => tx.query<R>(text, params)),
          copyIn: (table, columns, text) => step(() => tx.copyIn(table, columns, text)),
        };
        return fn(wrapped);
      }),
  };
  return out;
}

/**
 * Records instead of throwing the 'error' events a checked-out node-postgres client emits with
 * nobody listening (which would otherwise kill the test worker as an uncaught exception), so a
 * test can assert that there were none. Only for databases opened on a PostgreSQL server.
 */
export function recordUnhandledClientErrors(db: Database): Error[] {
  const unhandled: Error[] = [];
  const pool = (db as Partial<{ pool: { on(ev: 'acquire', fn: (client: EventEmitterLike) => void): void } }>).pool;
  if (!pool) return unhandled;
  const wrapped = new WeakSet<object>();
  pool.on('acquire', (client) => {
    if (wrapped.has(client)) return;
    wrapped.add(client);
    const emit = client.emit.bind(client);
    client.emit = (event: string | symbol, ...args: unknown[]) => {
      if (event === 'error' && client.listenerCount('error') === 0) {
        unhandled.push(args[0] as Error);
        return true;
      }
      return emit(event, ...args);
    };
  });
  return unhandled;
}

interface EventEmitterLike {
  emit(event: string | symbol, ...args: unknown[]): boolean;
  listenerCount(event: string | symbol): number;
}
