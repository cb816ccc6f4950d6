// The database ledger writer against the pure fold (contract §6), with fast-check, on real
// PostgreSQL and on PGlite. Random histories over a few SKUs × locations (counts and movements at
// colliding instants) are delivered as a log would: shuffled, with redelivered copies (same
// eventId, new offset), whole batches redelivered (same offsets), several batches per
// transaction. They go through the real batch-apply path (Reconciler.applyBatches → writeLedger)
// or writeLedger directly, and the result must equal
//   - the independent in-order replay (test/support/reference-fold.ts referenceInOrder),
//   - the pure fold of the stored ledger (and rebuildPositions in verify mode finds nothing),
// with exactly one ledger row and one processed_events claim per eventId.
// Runs share one database per suite; each run has its own SKUs, event ids and topic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Database } from '../src/db/database.js';
import { EmbeddedEventLog } from '../src/eventlog/embedded-event-log.js';
import type { LogBatch } from '../src/eventlog/event-log.js';
import { writeLedger } from '../src/ledger/ledger-writer.js';
import { rowFromEvent, type LedgerRow } from '../src/ledger/ledger-row.js';
import { rebuildPositions } from '../src/ledger/rebuild.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { Reconciler } from '../src/reconciler/reconciler.js';
import type { LedgerEntry } from '../src/core/ledger-entry.js';
import {
  addLocations, deliveryPlanArb, entriesOf, eventSpecArb, expectedByKey, faultyDatabase, foldLedger, InjectedFault,
  LOCATIONS, recordUnhandledClientErrors, planTransactions, processedIds, repeatedIds, skuName, snapshot, sortedMap, storedLedger,
  storedPositions, toEvent, type DeliveryPlan, type EventSpec, type FaultMode,
} from './support/ledger-harness.js';
import { openTestDb, type Kind } from './support/test-database.js';
import { shuffledBatches } from './support/delivery.js';

const RUNS = Number(process.env.LEDGER_PROPERTY_RUNS) || 50;
const FAULT_RUNS = Math.max(10, Math.round(RUNS / 2));
const CONCURRENT_RUNS = Math.max(10, Math.round(RUNS / 2));
// rebuildPositions scans every position of the database: per run while runs are few, sparser
// in long soak runs (LEDGER_PROPERTY_RUNS=1000) so they stay linear.
const REBUILD_EVERY = RUNS > 100 ? 50 : 1;

const scenarioArb = fc
  .array(eventSpecArb, { minLength: 1, maxLength: 30 })
  .chain((specs) => deliveryPlanArb(specs.length).map((plan) => ({ specs, plan })));

/** Ledger rows stock events never make, for the direct writer property: not-found units and holds. */
interface ExtraSpec {
  kind: 'store.not_found' | 'reservation.held';
  sku: number;
  loc: number;
  minute: number;
  q: number;
}
const extraSpecArb: fc.Arbitrary<ExtraSpec> = fc.record({
  kind: fc.constantFrom<ExtraSpec['kind']>('store.not_found', 'reservation.held'),
  sku: fc.nat(2),
  loc: fc.nat(LOCATIONS.length - 1),
  minute: fc.nat(5),
  q: fc.integer({ min: 1, max: 4 }),
});

function extraRow(run: string, i: number, s: ExtraSpec): LedgerRow {
  return {
    entryId: `${run}-x${i}`, kind: s.kind, sku: skuName(run, s.sku), locationId: LOCATIONS[s.loc]!,
    occurredAt: Date.parse('2026-11-23T09:00:00Z') + s.minute * 60_000, countQuantity: null, onHandDelta: 0, unavailableDelta: 0,
    missingDelta: s.kind === 'store.not_found' ? s.q : 0, reservedDelta: s.kind === 'reservation.held' ? s.q : 0,
    source: 'property-test', reason: null, reservationId: s.kind === 'reservation.held' ? `${run}-res${i}` : null,
  };
}

function messagesPerPartition(txs: readonly LogBatch[][]): Map<number, number> {
  const out = new Map<number, number>();
  // Offsets run 0, 1, … per partition (ledger-harness.ts): the last one + 1 is the count.
  for (const b of txs.flat()) out.set(b.partition, Math.max(out.get(b.partition) ?? 0, b.messages[b.messages.length - 1]!.offset + 1));
  return out;
}

function defineSuite(kind: Kind): void {
  describe(`ledger writer vs the pure fold on ${kind}`, () => {
    let db: Database;
    let close: () => Promise<void>;
    const metrics = createMetrics();
    const logger = createLogger('silent');
    let unhandledClientErrors: Error[] = [];
    let runs = 0;
    const newRun = () => `${kind}r${++runs}`;

    beforeAll(async () => {
      ({ db, close } = await openTestDb(kind, { poolSize: 8, pgliteOnDisk: true }));
      // A killed connection must not take the worker down (see the pg adapter test below).
      unhandledClientErrors = recordUnhandledClientErrors(db);
      await addLocations(db);
    });
    afterAll(async () => {
      await close?.();
    });

    const reconciler = (database: Database, topic: string, groupId = 'property') =>
      new Reconciler({ db: database, log: new EmbeddedEventLog(db), logger, metrics, eventsTopic: topic, atpTopic: `${topic}.atp`, groupId });

    /**
     * Everything the run left must agree: stored positions = in-order reference = fold of the
     * stored ledger; one ledger row and one claim per eventId; rebuild finds no difference.
     */
    async function checkRun(run: string, entries: readonly LedgerEntry[]): Promise<void> {
      const expected = expectedByKey(entries);
      const positions = await storedPositions(db, `${run}-`);
      const ledger = await storedLedger(db, `${run}-`);
      const ids = [...new Set(entries.map((e) => e.entryId))].sort();
      expect(repeatedIds(ledger), 'event ids applied more than once').toEqual([]);
      expect(ledger.map((e) => e.entryId).sort(), 'ledger rows').toEqual(ids);
      expect(await processedIds(db, `${run}-`), 'processed_events claims').toEqual(ids);
      expect(sortedMap(positions), 'positions vs the in-order reference').toEqual(sortedMap(expected));
      expect(sortedMap(foldLedger(ledger)), 'positions vs the fold of their ledger').toEqual(sortedMap(positions));
      if (runs % REBUILD_EVERY !== 0) return;
      const report = await rebuildPositions(db, { verify: true });
      expect(report.differences.filter((d) => d.sku.startsWith(`${run}-`)), 'rebuild differences').toEqual([]);
    }

    async function checkLog(topic: string, txs: readonly LogBatch[][], groupIds: readonly string[] = ['property']): Promise<void> {
      const expectedOffsets = messagesPerPartition(txs);
      for (const groupId of groupIds) {
        const offsets = await db.query<{ partition: number; next_offset: number }>(
          'SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2 ORDER BY partition', [groupId, topic],
        );
        expect(new Map(offsets.map((o) => [o.partition, Number(o.next_offset)])), `offsets of ${groupId}`).toEqual(expectedOffsets);
      }
      expect(await db.query('SELECT "offset" FROM dead_letters WHERE topic = $1', [topic]), 'dead letters').toEqual([]);
    }

    // Fixed examples at the §6 boundaries through writeLedger, so a regression names its rule.
    const spec = (over: Partial<EventSpec>): EventSpec => ({ type: 'sold', sku: 0, loc: 0, minute: 0, ms: 0, q: 1, negative: false, tz: 'Z', ...over });
    const cases: Array<[string, EventSpec[][], number]> = [
      ['a sale before the count arriving after it is inside the count', [[spec({ type: 'count', minute: 2, q: 5 })], [spec({ minute: 1, ms: 59_999 })]], 10],
      ['a sale after the count arriving before it applies on top', [[spec({ minute: 2, ms: 1 })], [spec({ type: 'count', minute: 2, q: 5 })]], 9],
      ['a movement at exactly the count time is inside the count', [[spec({ type: 'count', minute: 2, q: 5 })], [spec({ minute: 2, tz: '+01:00' })]], 10],
      ['an older count is kept but ignored', [[spec({ type: 'count', minute: 3, q: 5 })], [spec({ type: 'count', minute: 1, q: 20 })]], 10],
    ];
    for (const [name, batches, onHand] of cases) {
      it(`§6 example: ${name}`, async () => {
        const run = newRun();
        let i = 0;
        for (const batch of batches) {
          const rows = batch.map((s) => rowFromEvent(toEvent(run, i++, s)));
          await db.transaction((tx) => writeLedger(tx, rows, { dedupe: true }));
        }
        const positions = await storedPositions(db, `${run}-`);
        expect([...positions.values()].map((p) => p.onHand)).toEqual([onHand]);
      });
    }

    // The claim tries a plain insert first and falls back to ON CONFLICT when an id was seen
    // before or repeats in the batch; after a batch with duplicates it starts with ON CONFLICT
    // until one has none.
    it('the dedupe claim: new ids beside seen ones, a batch after duplicates, and two writers racing for the same ids', async () => {
      const run = newRun();
      const row = (i: number, q: number) => rowFromEvent(toEvent(run, i, spec({ type: 'received', q, minute: i })));
      const apply = async (rows: LedgerRow[]) => db.transaction((tx) => writeLedger(tx, rows, { dedupe: true }));
      expect((await apply([row(0, 1), row(1, 2)])).duplicates).toBe(0);
      const mixed = await apply([row(2, 4), row(0, 1), row(3, 8)]);
      expect({ applied: mixed.applied.map((r) => r.entryId), duplicates: mixed.duplicates }).toEqual({ applied: [`${run}-e2`, `${run}-e3`], duplicates: 1 });
      const after = await apply([row(4, 16), row(5, 32)]);
      expect({ applied: after.applied.length, duplicates: after.duplicates }).toEqual({ applied: 2, duplicates: 0 });
      // Two transactions claiming overlapping ids at once: the loser waits, then skips them.
      const [a, b] = await Promise.all([apply([row(6, 64), row(7, 128)]), apply([row(7, 128), row(8, 256), row(6, 64)])]);
      expect(a.applied.length + b.applied.length).toBe(3);
      expect(a.duplicates + b.duplicates).toBe(2);
      // An id repeated within one batch (a producer's retry): the plain insert meets its own
      // first copy, and the first occurrence is applied once.
      const after2 = await apply([row(9, 1), row(10, 1)]);
      expect(after2.duplicates).toBe(0);
      const repeated = await apply([row(11, 512), row(12, 1024), row(11, 512)]);
      expect({ applied: repeated.applied.map((r) => r.entryId), duplicates: repeated.duplicates }).toEqual({ applied: [`${run}-e11`, `${run}-e12`], duplicates: 1 });
      const positions = await storedPositions(db, `${run}-`);
      expect([...positions.values()].map((p) => p.onHand)).toEqual([2049]);
      expect(await processedIds(db, `${run}-`)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((i) => `${run}-e${i}`).sort());
    });

    it('reconciler batches in any order, batching and duplication give the in-order fold', { timeout: 120_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArb, async ({ specs, plan }) => {
          const run = newRun();
          const topic = `topic-${run}`;
          const events = specs.map((s, i) => toEvent(run, i, s));
          const txs = planTransactions(topic, events, plan);
          const r = reconciler(db, topic);
          for (const batches of txs) await r.applyBatches(batches);
          await checkLog(topic, txs);
          await checkRun(run, entriesOf(events));
        }),
        { numRuns: RUNS },
      );
    });

    it('writeLedger per transaction with not-found units and holds also gives the in-order fold', { timeout: 120_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(eventSpecArb, { minLength: 1, maxLength: 25 }),
          fc.array(extraSpecArb, { maxLength: 8 }),
          fc.array(fc.nat(), { maxLength: 15 }),
          fc.integer(),
          fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 6 }),
          async (specs, extras, dups, seed, sizes) => {
            const run = newRun();
            const rows = [...specs.map((s, i) => rowFromEvent(toEvent(run, i, s))), ...extras.map((s, i) => extraRow(run, i, s))];
            for (const batch of shuffledBatches(rows, dups, seed, sizes)) {
              await db.transaction((tx) => writeLedger(tx, batch, { dedupe: true }));
            }
            await checkRun(run, rows);
          },
        ),
        { numRuns: RUNS },
      );
    });

    it('a batch transaction that fails mid-way leaves no trace, and its retry applies it exactly once', { timeout: 120_000 }, async () => {
      const modes: FaultMode[] = kind === 'pg' ? ['throw-before', 'throw-after', 'kill-connection'] : ['throw-before', 'throw-after'];
      const fired = new Map<FaultMode, number>(modes.map((m) => [m, 0]));
      await fc.assert(
        fc.asyncProperty(
          scenarioArb,
          fc.array(fc.option(fc.record({ failAt: fc.integer({ min: 1, max: 20 }), mode: fc.constantFrom(...modes) }), { freq: 3 }), { minLength: 1, maxLength: 8 }),
          async ({ specs, plan }, faults) => {
            const run = newRun();
            const topic = `topic-${run}`;
            const events = specs.map((s, i) => toEvent(run, i, s));
            const txs = planTransactions(topic, events, plan);
            const r = reconciler(db, topic);
            for (const [i, batches] of txs.entries()) {
              const fault = faults[i % faults.length];
              if (fault) {
                const before = await snapshot(db, run, topic);
                const faulty = faultyDatabase(db, fault.failAt, fault.mode);
                const outcome = await reconciler(faulty, topic).applyBatches(batches).then(() => null, (err: unknown) => err);
                if (faulty.fired) {
                  fired.set(fault.mode, fired.get(fault.mode)! + 1);
                  if (fault.mode === 'kill-connection') expect((outcome as { code?: string } | null)?.code).toBe('57P01');
                  else expect(outcome).toBeInstanceOf(InjectedFault);
                  expect(await snapshot(db, run, topic), 'state after the failed transaction').toEqual(before);
                } else {
                  expect(outcome).toBeNull();
                }
              }
              // The log redelivers: the same batches again (after a commit, a plain redelivery).
              await r.applyBatches(batches);
            }
            await checkLog(topic, txs);
            await checkRun(run, entriesOf(events));
          },
        ),
        { numRuns: FAULT_RUNS },
      );
      // The property must not pass vacuously: faults of every mode actually fired.
      for (const m of modes) expect(fired.get(m), `faults fired (${m})`).toBeGreaterThan(0);
    });

    if (kind === 'pg') {
      // Found by the kill-connection fault above. src/db/pg-database.ts holds a pool client for
      // the transaction with no 'error' listener (pg-pool removes its own while a client is
      // checked out), so when the server ends the connection mid-transaction, node-postgres
      // emits 'error' on it with nobody listening: an uncaught exception in the service.
      it('pg adapter: a backend terminated inside a transaction raises no uncaught client error', async () => {
        const before = unhandledClientErrors.length;
        for (let i = 0; i < 5; i++) {
          const err = await db.transaction(async (tx) => {
            await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
          }).then(() => null, (e: unknown) => e);
          expect((err as { code?: string } | null)?.code).toBe('57P01');
          // The socket closes right after the FATAL error; give its 'end' event time to arrive.
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(unhandledClientErrors.slice(before).map((e) => e.message)).toEqual([]);
        expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      });
    }

    it('two reconcilers applying overlapping batches concurrently never double-apply', { timeout: 120_000 }, async () => {
      const chunkingArb = fc.record({
        batchSizes: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 8 }),
        picks: fc.array(fc.nat(2), { maxLength: 30 }),
        redeliver: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        groupSizes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 5 }),
      });
      await fc.assert(
        fc.asyncProperty(scenarioArb, chunkingArb, fc.boolean(), async ({ specs, plan }, chunking, sameGroup) => {
          const run = newRun();
          const topic = `topic-${run}`;
          const events = specs.map((s, i) => toEvent(run, i, s));
          // One log, two consumers: the same messages at the same offsets, batched differently.
          // Same group: a zombie member after a rebalance. Another group: a second consumer of
          // the whole log, which only the eventId claims keep from applying everything twice.
          const planB: DeliveryPlan = { ...plan, ...chunking };
          const txsA = planTransactions(topic, events, plan);
          const txsB = planTransactions(topic, events, planB);
          const groups = sameGroup ? ['property'] : ['property', 'other'];
          const a = reconciler(db, topic, groups[0]);
          const b = reconciler(db, topic, groups[groups.length - 1]);
          const applyAll = async (rec: Reconciler, txs: LogBatch[][]) => {
            for (const batches of txs) await rec.applyBatches(batches);
          };
          await Promise.all([applyAll(a, txsA), applyAll(b, txsB)]);
          await checkLog(topic, txsA, groups);
          await checkRun(run, entriesOf(events));
        }),
        { numRuns: CONCURRENT_RUNS },
      );
    });

    it('concurrent writeLedger transactions over overlapping rows apply each eventId once', { timeout: 120_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(eventSpecArb, { minLength: 1, maxLength: 30 }),
          fc.array(fc.record({ dups: fc.array(fc.nat(), { maxLength: 10 }), seed: fc.integer(), sizes: fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 4 }) }), { minLength: 2, maxLength: 4 }),
          async (specs, writers) => {
            const run = newRun();
            const rows = specs.map((s, i) => rowFromEvent(toEvent(run, i, s)));
            await Promise.all(writers.map(async (w) => {
              for (const batch of shuffledBatches(rows, w.dups, w.seed, w.sizes)) {
                await db.transaction((tx) => writeLedger(tx, batch, { dedupe: true }));
              }
            }));
            await checkRun(run, rows);
          },
        ),
        { numRuns: CONCURRENT_RUNS },
      );
    });
  });
}

for (const kind of ['pg', 'pglite'] as const) {
  defineSuite(kind);
}
