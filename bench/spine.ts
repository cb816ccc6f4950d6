// Spine benchmark (issue 2): 10,000 SKUs × 50 locations. Events are produced to Kafka while a
// reconciler process applies them to PostgreSQL. Figures:
//  - sustained events/s with the producer unthrottled (10%–90% of the applied stream);
//  - append→applied lag p50/p99 at a fixed offered rate;
//  - the ceiling: the same rows written to the same PostgreSQL by a plain batched SQL loop;
//  - the embedded deployment (PGlite + embedded log) in one process.
import { execFile, fork } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase } from '../src/db/open-database.js';
import type { Database } from '../src/db/database.js';
import type { StockEvent } from '../src/core/stock-event.js';
import { EmbeddedEventLog } from '../src/eventlog/embedded-event-log.js';
import { MAX_TRANSACTIONS_IN_FLIGHT, Reconciler } from '../src/reconciler/reconciler.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { rowFromEvent } from '../src/ledger/ledger-row.js';
import { CopyText, copyLine, copyTimestamp } from '../src/db/copy-text.js';
import { numberArrayLiteral, textArrayLiteral } from '../src/db/array-literal.js';
import { ensureLibrdkafkaBinary, startMockKafka } from '../test/support/kafka-broker.js';
import { mulberry32 } from '../test/support/random.js';
import { histogramPercentile, round } from './stats.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const execFileAsync = promisify(execFile);
const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SKUS = 10_000;
const LOCATIONS = 50;
const PARTITIONS = 12;
/** Phase B produces every TICK_MS (BENCH_TICK_MS; a producer's linger, in effect). */
const TICK_MS = Number(process.env.BENCH_TICK_MS ?? 10);

/** Event time of the first generated event; each event is STEP_MS after the one before it. */
const CLOCK_START = Date.parse('2026-11-01T00:00:00Z');
const STEP_MS = 10;

/**
 * `n` events from event time `startMs`, in stream order, as a channel would send them: 1% arrive
 * late (occurred 1–10 minutes before the events around them: a till that was offline). Callers
 * continue the clock from one batch of events to the next: a sustained stream moves forward in
 * time, and a batch that restarted it would make every count already applied land in the
 * middle of the new events, a storm of late arrivals instead of a steady stream.
 */
export function generate(n: number, seed: number, prefix: string, startMs = CLOCK_START): Array<{ key: string; value: string; event: StockEvent }> {
  const r = mulberry32(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const sku = `SKU-${Math.floor(r() * SKUS)}`;
    const late = r() < 0.01 ? 60_000 + Math.floor(r() * 540_000) : 0;
    const common = { eventId: `${prefix}-${i}`, sku, locationId: `loc-${Math.floor(r() * LOCATIONS)}`, occurredAt: new Date(startMs + i * STEP_MS - late).toISOString(), source: 'bench' };
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
  await checkpoint();
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

/**
 * Every measured phase starts right after a checkpoint: the first change to each page after a
 * checkpoint writes the whole page to the WAL, so a checkpoint falling inside one phase and not
 * the other skewed the ratio by up to half.
 */
async function checkpoint() {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query('CHECKPOINT');
  await admin.end();
}

async function seedLocations(db: Database) {
  for (let i = 0; i < LOCATIONS; i++) {
    await db.query("INSERT INTO locations (id, name, type, lat, lon, ship_from_store) VALUES ($1, $1, $2, $3, $4, true)", [`loc-${i}`, i % 5 === 0 ? 'warehouse' : 'store', 48 + (i % 7), 2 + (i % 11)]);
  }
}

/**
 * Counters so far (BENCH_DEBUG only), keyed by what they count: CPU ticks (1/100 s) per process
 * (postgres, the broker, the reconciler worker, this process, anything else), the machine's idle
 * ticks, and the minor page faults of the worker and of postgres. Page faults are worth counting
 * here: one costs about 14 µs on this kind of VM (mmap, touch, munmap of fresh pages, measured),
 * against under 1 µs on bare metal.
 */
type Counters = Map<string, { kind: string; value: number }>;
function snapshotCounters(workerPid: number): Counters {
  const out: Counters = new Map();
  const cpuLine = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  out.set('idle', { kind: 'idle', value: Number(cpuLine[4]) + Number(cpuLine[5]) });
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try { stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { continue; }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const kind = name === 'postgres' ? 'postgres' : name === 'mock-kafka' ? 'broker' : Number(pid) === workerPid ? 'worker' : Number(pid) === process.pid ? 'bench' : 'other';
    out.set(`cpu:${pid}`, { kind, value: Number(f[11]) + Number(f[12]) });
    if (kind === 'worker' || kind === 'postgres') out.set(`faults:${pid}`, { kind: `${kind}FaultsPer100`, value: Number(f[7]) });
  }
  return out;
}

/**
 * Per event between two snapshots, by kind: µs of CPU (idle: of all cores), and page faults per
 * 100 events. Processes that exited in between are missed.
 */
function perEvent(x: Counters, y: Counters, events: number): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const [key, v] of y) sums[v.kind] = (sums[v.kind] ?? 0) + v.value - (x.get(key)?.value ?? 0);
  return Object.fromEntries(Object.entries(sums).map(([k, t]) => [k, Math.round((k.endsWith('Per100') ? t * 100 : t * 1e4) / events)]));
}

const PRODUCER_SOURCE = path.join(HERE, 'load', 'kafka-produce.c');
const PRODUCER_BINARY = path.join(HERE, 'load', 'kafka-produce');

/**
 * Produces events with bench/load/kafka-produce (librdkafka), unthrottled or at `rate` per second
 * handed over every `tickMs`; resolves once all are acknowledged (acks=all).
 */
async function produce(brokers: string[], topic: string, events: ReturnType<typeof generate>, pace?: { rate: number; tickMs: number }): Promise<{ ms: number }> {
  const binary = await ensureLibrdkafkaBinary(PRODUCER_SOURCE, PRODUCER_BINARY);
  const file = path.join(os.tmpdir(), `omnistock-bench-${randomBytes(4).toString('hex')}.tsv`);
  // JSON.stringify never writes a raw TAB or newline, and keys are SKUs.
  fs.writeFileSync(file, events.map((e) => `${e.key}\t${e.value}\n`).join(''));
  try {
    const args = ['--brokers', brokers.join(','), '--topic', topic, '--file', file, ...(pace ? ['--rate', String(pace.rate), '--tick-ms', String(pace.tickMs)] : [])];
    const { stdout } = await execFileAsync(binary, args, { maxBuffer: 1 << 20 });
    const [, count, failed, ms] = stdout.trim().split(' ');
    if (Number(count) !== events.length || Number(failed) !== 0) throw new Error(`kafka-produce: ${stdout.trim()}`);
    return { ms: Number(ms) };
  } finally {
    fs.rmSync(file, { force: true });
  }
}

interface WorkerReport { applied: number; at: number; messages: number }

/** One reconciler process on Kafka and PostgreSQL, fed by kafka-produce. */
interface ServiceUnderTest {
  brokers: string[];
  topic: string;
  workerPid: number;
  reports: WorkerReport[];
  applied(): number;
  untilApplied(n: number): Promise<void>;
  send(m: object): void;
  lagBuckets(): Promise<Array<[number, number]>>;
  /** Messages per reconciler transaction since the last call. */
  transactionSizes(): Promise<number[]>;
  stop(): Promise<void>;
}

async function startService(): Promise<ServiceUnderTest> {
  const db = await freshDatabase(`omnistock_bench_${randomBytes(3).toString('hex')}`);
  const topic = `bench.events.${randomBytes(3).toString('hex')}`;
  const external = process.env.KAFKA_BROKERS?.split(',');
  const broker = external ? null : await startMockKafka({ topics: [{ name: topic, partitions: PARTITIONS }] });
  const brokers = external ?? broker!.brokers;
  const worker = fork(path.join(HERE, 'spine-reconciler-worker.ts'), [], {
    // The young generation the Dockerfile and `npm start` give the service (NODE_OPTIONS).
    // BENCH_WORKER_FLAGS adds V8 flags for experiments (e.g. "--single-threaded-gc").
    execArgv: ['--import', 'tsx', '--max-semi-space-size=64', ...(process.env.BENCH_WORKER_FLAGS ? process.env.BENCH_WORKER_FLAGS.split(' ') : []), ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [])],
    env: { ...process.env, DATABASE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_EVENTS_TOPIC: topic, KAFKA_ATP_TOPIC: `${topic}.atp`, RECONCILER_GROUP: `bench-${topic}`, LOG_LEVEL: 'warn' },
  });
  const reports: WorkerReport[] = [];
  let appliedTotal = 0;
  const waiters: Array<() => void> = [];
  let onBuckets: ((b: Array<[number, number]>) => void) | null = null;
  let onSizes: ((s: number[]) => void) | null = null;
  await new Promise<void>((resolve) => worker.on('message', (m: WorkerReport & { ready?: boolean; lagBuckets?: Array<[number, number]>; transactionSizes?: number[] }) => {
    if (m.ready) return resolve();
    if (m.lagBuckets) return onBuckets?.(m.lagBuckets);
    if (m.transactionSizes) return onSizes?.(m.transactionSizes);
    reports.push(m);
    appliedTotal += m.applied;
    waiters.splice(0).forEach((w) => w());
  }));
  const untilApplied = (n: number) => new Promise<void>((resolve) => {
    const check = () => (appliedTotal >= n ? resolve() : waiters.push(check));
    check();
  });
  // Let the consumer join its group before timing anything.
  await produce(brokers, topic, generate(1, 1, 'warmup'));
  await untilApplied(1);
  return {
    brokers, topic, workerPid: worker.pid!, reports, untilApplied,
    applied: () => appliedTotal,
    send: (m) => worker.send(m),
    lagBuckets: () => new Promise((resolve) => {
      onBuckets = resolve;
      worker.send({ sendLags: true });
    }),
    transactionSizes: () => new Promise((resolve) => {
      onSizes = resolve;
      worker.send({ sendTransactions: true });
    }),
    stop: async () => {
      worker.send({ stop: true });
      await new Promise((r) => worker.on('exit', r));
      await broker?.stop();
      await db.drop();
    },
  };
}

/**
 * Produces `events` as fast as kafka-produce goes while the reconciler applies them; the rate is
 * the events between the 10% and 90% marks of the applied stream over the time between them.
 */
async function serviceRound(sut: ServiceUnderTest, events: ReturnType<typeof generate>) {
  await checkpoint();
  const base = sut.applied();
  await sut.transactionSizes();
  const startAt = sut.reports.length;
  const lo = base + events.length * 0.1;
  const hi = base + events.length * 0.9;
  const cpu: Array<Counters> = [];
  if (process.env.BENCH_DEBUG) {
    void sut.untilApplied(lo).then(() => cpu.push(snapshotCounters(sut.workerPid)));
    void sut.untilApplied(hi).then(() => cpu.push(snapshotCounters(sut.workerPid)));
  }
  await produce(sut.brokers, sut.topic, events);
  await sut.untilApplied(base + events.length);
  const round = sut.reports.slice(startAt);
  let cum = base;
  let tLo = 0;
  let tHi = 0;
  for (const r of round) {
    const before = cum;
    cum += r.applied;
    if (before < lo && cum >= lo) tLo = r.at;
    if (before < hi && cum >= hi) tHi = r.at;
  }
  if (cpu.length === 2) {
    console.error('CPU µs per event, 10%–90%:', perEvent(cpu[0]!, cpu[1]!, hi - lo), 'wall µs/event', Math.round(((tHi - tLo) * 1000) / (hi - lo)));
  }
  const sizes = await sut.transactionSizes();
  return {
    eventsPerSec: Math.round((hi - lo) / ((tHi - tLo) / 1000)),
    avgBatchEvents: Math.round(round.reduce((n, r) => n + r.messages, 0) / Math.max(1, round.length)),
    avgTransactionEvents: Math.round(sizes.reduce((n, x) => n + x, 0) / Math.max(1, sizes.length)),
  };
}

/** A fixed offered rate, handed to the producer every TICK_MS; lag = applied − Kafka append time. */
async function lagPhase(sut: ServiceUnderTest, rate: number, seconds: number, startMs: number) {
  const events = generate(rate * seconds, 7, 'b', startMs);
  const base = sut.applied();
  sut.send({ resetLags: true });
  await produce(sut.brokers, sut.topic, events, { rate, tickMs: TICK_MS });
  await sut.untilApplied(base + events.length);
  const buckets = await sut.lagBuckets();
  return { lagP50Ms: histogramPercentile(buckets, 50), lagP99Ms: histogramPercentile(buckets, 99) };
}

/**
 * The ceiling: the same rows, same batch size, no service: no Kafka, no parsing or validation,
 * no offsets, no counts' exact path. The statements are the service's own shapes (the dedupe
 * claim as the plain insert it is when no id was seen before, positions upsert summing deltas
 * from array literals, ledger rows by COPY), so the ratio measures what the service adds,
 * not a difference in how rows reach PostgreSQL. As many loops as the reconciler has
 * transactions in flight (MAX_TRANSACTIONS_IN_FLIGHT), each with its own share of the SKUs.
 */
export async function plainSqlCeiling(db: Database, events: ReturnType<typeof generate>, batch: number) {
  await checkpoint();
  const rows = events.map((e) => rowFromEvent(e.event));
  const loops = MAX_TRANSACTIONS_IN_FLIGHT;
  const shares = Array.from({ length: loops }, (_, k) => rows.filter((r) => hash(r.sku) % loops === k));
  const t0 = performance.now();
  await Promise.all(shares.map(async (share) => {
    for (let i = 0; i < share.length; i += batch) {
      const part = share.slice(i, i + batch);
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO processed_events (event_id) SELECT id FROM unnest($1::text[]) AS t(id) ORDER BY id COLLATE "C"', [textArrayLiteral(part.map((r) => r.entryId))]);
        const sums = new Map<string, { s: string; l: string; o: number }>();
        for (const r of part) {
          const k = `${r.sku}|${r.locationId}`;
          const v = sums.get(k) ?? { s: r.sku, l: r.locationId, o: 0 };
          v.o += r.countQuantity ?? r.onHandDelta;
          sums.set(k, v);
        }
        const v = [...sums.values()];
        await tx.query(
          `INSERT INTO positions AS p (sku, location_id, on_hand)
           SELECT s, l, o FROM unnest($1::text[], $2::text[], $3::int8[]) AS v(s, l, o) ORDER BY s COLLATE "C", l COLLATE "C"
           ON CONFLICT (sku, location_id) DO UPDATE SET on_hand = p.on_hand + EXCLUDED.on_hand, version = p.version + 1, updated_at = now()`,
          [textArrayLiteral(v.map((x) => x.s)), textArrayLiteral(v.map((x) => x.l)), numberArrayLiteral(v.map((x) => x.o))],
        );
        const text = new CopyText();
        for (const r of part) text.add(copyLine([r.entryId, r.kind, r.sku, r.locationId, copyTimestamp(r.occurredAt), r.countQuantity, r.onHandDelta, r.source]));
        await tx.copyIn('ledger_entries', ['event_id', 'kind', 'sku', 'location_id', 'occurred_at', 'count_quantity', 'on_hand_delta', 'source'], text.done());
      });
    }
  }));
  return { eventsPerSec: Math.round(rows.length / ((performance.now() - t0) / 1000)) };
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

/**
 * Rounds alternate the service and the ceiling on the same machine minutes apart, each after a
 * checkpoint, each database growing alike: this machine's speed was seen to drift by half from
 * one minute to the next, so each round's ratio is taken on its own and the median reported.
 */
export async function benchSpine(opts: { rounds?: number; eventsPerRound?: number; rate?: number; seconds?: number; embeddedEvents?: number } = {}) {
  const rounds = opts.rounds ?? Number(process.env.BENCH_ROUNDS ?? 5);
  const perRound = opts.eventsPerRound ?? Number(process.env.BENCH_EVENTS ?? 200_000);
  const sut = await startService();
  const ceilingDb = await freshDatabase(`omnistock_ceiling_${randomBytes(3).toString('hex')}`);
  const results: Array<{ sustained: number; ceiling: number; share: number; avgBatchEvents: number; avgTransactionEvents: number }> = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const events = generate(perRound, 42 + r, `a${r}`, CLOCK_START + r * perRound * STEP_MS);
      const service = await serviceRound(sut, events);
      // Same rows per transaction as the reconciler's, and as many transactions at once.
      const before = process.env.BENCH_DEBUG ? snapshotCounters(sut.workerPid) : null;
      const ceiling = await plainSqlCeiling(ceilingDb.db, events, Math.max(500, service.avgTransactionEvents));
      if (before) console.error('ceiling CPU µs per event:', perEvent(before, snapshotCounters(sut.workerPid), events.length));
      results.push({
        sustained: service.eventsPerSec, ceiling: ceiling.eventsPerSec, share: round(service.eventsPerSec / ceiling.eventsPerSec, 3),
        avgBatchEvents: service.avgBatchEvents, avgTransactionEvents: service.avgTransactionEvents,
      });
      process.stderr.write(`spine round ${r + 1}/${rounds}: ${JSON.stringify(results[r])}\n`);
    }
    const sustained = median(results.map((x) => x.sustained));
    const rate = Math.min(opts.rate ?? 50_000, Math.floor(sustained * 0.8));
    const lag = await lagPhase(sut, rate, opts.seconds ?? 10, CLOCK_START + rounds * perRound * STEP_MS);
    const e = await embedded(opts.embeddedEvents ?? 60_000);
    return {
      load: `${SKUS} SKUs × ${LOCATIONS} locations, ${PARTITIONS} partitions, ${rounds} rounds of ${perRound} events`,
      sustainedEventsPerSec: sustained,
      ceilingEventsPerSec: median(results.map((x) => x.ceiling)),
      shareOfCeiling: median(results.map((x) => x.share)),
      rounds: results,
      lagAtRatePerSec: rate,
      lagP50Ms: lag.lagP50Ms,
      lagP99Ms: lag.lagP99Ms,
      embeddedEventsPerSec: e.embeddedEventsPerSec,
    };
  } finally {
    await sut.stop();
    await ceilingDb.drop();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  benchSpine().then((r) => { console.log(JSON.stringify(r, null, 2)); process.exit(0); }, (err) => { console.error(err); process.exit(1); });
}
