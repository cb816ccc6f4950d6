// Spine benchmark (issue 2): 10,000 SKUs × 50 locations. Events are produced to Kafka while a
// reconciler process applies them to PostgreSQL. Figures:
//  - sustained events/s with the producer unthrottled (10%–90% of the applied stream);
//  - append→applied lag p50/p99 at a fixed offered rate;
//  - the ceiling: the same rows written to the same PostgreSQL by a plain batched SQL loop;
//  - the embedded deployment (PGlite + embedded log) in one process.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { openDatabase } from '../src/db/open-database.js';
import type { Database } from '../src/db/database.js';
import type { StockEvent } from '../src/core/stock-event.js';
import { EmbeddedEventLog } from '../src/eventlog/embedded-event-log.js';
import { Reconciler } from '../src/reconciler/reconciler.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { rowFromEvent } from '../src/ledger/ledger-row.js';
import { startMockKafka } from '../test/support/kafka-broker.js';
import { mulberry32 } from '../test/support/random.js';
import { percentile, round } from './stats.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SKUS = 10_000;
const LOCATIONS = 50;
const PARTITIONS = 12;
/** Phase B produces every TICK_MS (BENCH_TICK_MS; a producer's linger, in effect). */
const TICK_MS = Number(process.env.BENCH_TICK_MS ?? 10);

function generate(n: number, seed: number, prefix: string): Array<{ key: string; value: string; event: StockEvent }> {
  const r = mulberry32(seed);
  const t0 = Date.parse('2026-11-01T00:00:00Z');
  const out = [];
  for (let i = 0; i < n; i++) {
    const sku = `SKU-${Math.floor(r() * SKUS)}`;
    const common = { eventId: `${prefix}-${i}`, sku, locationId: `loc-${Math.floor(r() * LOCATIONS)}`, occurredAt: new Date(t0 + i * 10).toISOString(), source: 'bench' };
    const k = r();
    const q = 1 + Math.floor(r() * 5);
    const event: StockEvent =
      k < 0.05 ? { ...common, type: 'stock.counted', quantity: 20 + q }
      : k < 0.4 ? { ...common, type: 'stock.received', quantity: q }
      : k < 0.9 ? { ...common, type: 'stock.sold', quantity: q }
      : { ...common, type: 'stock.adjusted', delta: -q, reason: 'shrink' };
    out.push({ key: sku, value: JSON.stringify(event), event });
  }
  return out;
}

async function freshDatabase(name: string): Promise<{ url: string; db: Database; drop: () => Promise<void> }> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  const db = await openDatabase({ databaseUrl: url });
  await seedLocations(db);
  return {
    url, db,
    drop: async () => {
      await db.close();
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
    },
  };
}

async function seedLocations(db: Database) {
  for (let i = 0; i < LOCATIONS; i++) {
    await db.query("INSERT INTO locations (id, name, type, lat, lon, ship_from_store) VALUES ($1, $1, $2, $3, $4, true)", [`loc-${i}`, i % 5 === 0 ? 'warehouse' : 'store', 48 + (i % 7), 2 + (i % 11)]);
  }
}

interface WorkerReport { applied: number; at: number; lags: number[] }

/** Phase A (unthrottled) then phase B (fixed rate) against one reconciler process. */
async function kafkaPhases(opts: { saturate: number; rate: number; seconds: number }) {
  const db = await freshDatabase(`omnistock_bench_${randomBytes(3).toString('hex')}`);
  const topic = `bench.events.${randomBytes(3).toString('hex')}`;
  const external = process.env.KAFKA_BROKERS?.split(',');
  const broker = external ? null : await startMockKafka({ topics: [{ name: topic, partitions: PARTITIONS }] });
  const brokers = external ?? broker!.brokers;
  const worker = fork(path.join(HERE, 'spine-reconciler-worker.ts'), [], {
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [])],
    env: { ...process.env, DATABASE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_EVENTS_TOPIC: topic, KAFKA_ATP_TOPIC: `${topic}.atp`, RECONCILER_GROUP: `bench-${topic}`, LOG_LEVEL: 'warn' },
  });
  const reports: WorkerReport[] = [];
  let appliedTotal = 0;
  const waiters: Array<() => void> = [];
  await new Promise<void>((resolve) => worker.on('message', (m: WorkerReport & { ready?: boolean }) => {
    if (m.ready) return resolve();
    reports.push(m);
    appliedTotal += m.applied;
    waiters.splice(0).forEach((w) => w());
  }));
  const untilApplied = (n: number) => new Promise<void>((resolve) => {
    const check = () => (appliedTotal >= n ? resolve() : waiters.push(check));
    check();
  });
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING, clientId: 'bench-producer' });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  // Let the consumer join its group before timing anything.
  await producer.send({ topic, acks: -1, messages: generate(1, 1, 'warmup').map(({ key, value }) => ({ key, value })) });
  await untilApplied(1);

  // Phase A: as fast as the producer goes, four sends in flight.
  const a = generate(opts.saturate, 42, 'a');
  const startA = reports.length;
  const chunk = 12_000; // ~1,000 messages per partition per request, as a lingering producer would batch
  const inflight = new Set<Promise<unknown>>();
  for (let i = 0; i < a.length; i += chunk) {
    const p = producer.send({ topic, acks: -1, messages: a.slice(i, i + chunk).map(({ key, value }) => ({ key, value })) });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (inflight.size >= 4) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  await untilApplied(1 + a.length);
  const phaseA = reports.slice(startA);
  let cum = 0;
  const lo = a.length * 0.1;
  const hi = a.length * 0.9;
  let tLo = 0;
  let tHi = 0;
  for (const r of phaseA) {
    const before = cum;
    cum += r.applied;
    if (before < lo && cum >= lo) tLo = r.at;
    if (before < hi && cum >= hi) tHi = r.at;
  }
  const sustained = (hi - lo) / ((tHi - tLo) / 1000);
  const batchSizes = phaseA.map((r) => r.lags.length);

  // Phase B: a fixed offered rate, in TICK_MS ticks.
  const rate = Math.min(opts.rate, Math.floor(sustained * 0.8));
  const b = generate(rate * opts.seconds, 7, 'b');
  const startB = reports.length;
  const t0 = performance.now();
  let sent = 0;
  const sends: Promise<unknown>[] = [];
  while (sent < b.length) {
    const due = Math.min(b.length, Math.floor(((performance.now() - t0) / 1000) * rate));
    if (due > sent) {
      sends.push(producer.send({ topic, acks: -1, messages: b.slice(sent, due).map(({ key, value }) => ({ key, value })) }));
      sent = due;
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await Promise.all(sends);
  await untilApplied(1 + a.length + b.length);
  const lags = reports.slice(startB).flatMap((r) => r.lags).sort((x, y) => x - y);

  await producer.disconnect();
  worker.send({ stop: true });
  await new Promise((r) => worker.on('exit', r));
  await broker?.stop();
  await db.drop();
  return {
    sustainedEventsPerSec: Math.round(sustained),
    avgBatchEvents: Math.round(batchSizes.reduce((x, y) => x + y, 0) / Math.max(1, batchSizes.length)),
    lagRatePerSec: rate,
    lagP50Ms: percentile(lags, 50),
    lagP99Ms: percentile(lags, 99),
    events: a,
  };
}

/** The ceiling: the same rows, same batch size, straight SQL, no service, two loops like the reconciler's two partitions in flight. */
async function plainSqlCeiling(events: ReturnType<typeof generate>, batch: number) {
  const fresh = await freshDatabase(`omnistock_ceiling_${randomBytes(3).toString('hex')}`);
  const db = fresh.db;
  const rows = events.map((e) => rowFromEvent(e.event));
  const halves = [rows.filter((r) => hash(r.sku) % 2 === 0), rows.filter((r) => hash(r.sku) % 2 === 1)];
  const t0 = performance.now();
  await Promise.all(halves.map(async (half) => {
    for (let i = 0; i < half.length; i += batch) {
      const part = half.slice(i, i + batch);
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO processed_events (event_id) SELECT unnest($1::text[])', [part.map((r) => r.entryId)]);
        await tx.query(
          `INSERT INTO ledger_entries (event_id, kind, sku, location_id, occurred_at, count_quantity, on_hand_delta, source)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::int8[], $7::int8[], $8::text[])`,
          [part.map((r) => r.entryId), part.map((r) => r.kind), part.map((r) => r.sku), part.map((r) => r.locationId),
            part.map((r) => new Date(r.occurredAt).toISOString()), part.map((r) => r.countQuantity), part.map((r) => r.onHandDelta), part.map((r) => r.source)],
        );
        const sums = new Map<string, { sku: string; loc: string; d: number }>();
        for (const r of part) {
          const k = `${r.sku}|${r.locationId}`;
          const v = sums.get(k) ?? { sku: r.sku, loc: r.locationId, d: 0 };
          v.d += r.countQuantity ?? r.onHandDelta;
          sums.set(k, v);
        }
        const list = [...sums.values()].sort((x, y) => (x.sku + x.loc < y.sku + y.loc ? -1 : 1));
        await tx.query(
          `INSERT INTO positions (sku, location_id, on_hand) SELECT * FROM unnest($1::text[], $2::text[], $3::int8[])
           ON CONFLICT (sku, location_id) DO UPDATE SET on_hand = positions.on_hand + EXCLUDED.on_hand, version = positions.version + 1, updated_at = now()`,
          [list.map((x) => x.sku), list.map((x) => x.loc), list.map((x) => x.d)],
        );
      });
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  await fresh.drop();
  return { ceilingEventsPerSec: Math.round(rows.length / secs) };
}

function hash(s: string) {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return Math.abs(h);
}

/** Embedded deployment: PGlite on disk and the embedded log, append and apply in one process. */
async function embedded(n: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnistock-bench-'));
  const db = await openDatabase({ dataDir: dir });
  await seedLocations(db);
  const log = new EmbeddedEventLog(db);
  let applied = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const reconciler = new Reconciler({
    db, log, logger: createLogger('warn'), metrics: createMetrics(),
    eventsTopic: 'inventory.events', atpTopic: 'inventory.atp', groupId: 'bench',
    onCommitted: (_b, o) => { applied += o.applied; if (applied >= n) done(); },
  });
  const events = generate(n, 9, 'e');
  const t0 = performance.now();
  await reconciler.start();
  for (let i = 0; i < events.length; i += 1_000) {
    await log.append('inventory.events', events.slice(i, i + 1_000).map(({ key, value }) => ({ key, value })));
  }
  await finished;
  const secs = (performance.now() - t0) / 1000;
  await reconciler.stop();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { embeddedEventsPerSec: Math.round(n / secs) };
}

export async function benchSpine(opts: { saturate?: number; rate?: number; seconds?: number; embeddedEvents?: number } = {}) {
  const k = await kafkaPhases({ saturate: opts.saturate ?? 400_000, rate: opts.rate ?? 50_000, seconds: opts.seconds ?? 10 });
  const c = await plainSqlCeiling(k.events, Math.max(500, k.avgBatchEvents));
  const e = await embedded(opts.embeddedEvents ?? 60_000);
  return {
    load: `${SKUS} SKUs × ${LOCATIONS} locations, ${PARTITIONS} partitions`,
    sustainedEventsPerSec: k.sustainedEventsPerSec,
    avgBatchEvents: k.avgBatchEvents,
    ceilingEventsPerSec: c.ceilingEventsPerSec,
    shareOfCeiling: round(k.sustainedEventsPerSec / c.ceilingEventsPerSec, 3),
    lagAtRatePerSec: k.lagRatePerSec,
    lagP50Ms: k.lagP50Ms,
    lagP99Ms: k.lagP99Ms,
    embeddedEventsPerSec: e.embeddedEventsPerSec,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  benchSpine().then((r) => { console.log(JSON.stringify(r, null, 2)); process.exit(0); }, (err) => { console.error(err); process.exit(1); });
}
