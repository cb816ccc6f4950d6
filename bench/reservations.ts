// Reservations benchmark (issue 3): 64 concurrent clients on 10 hot SKUs over 4 locations,
// through the real path: HTTP (Fastify, zod validation, bearer auth) → ReservationService →
// PostgreSQL. Two designs under the same load, each on a fresh database:
//  - batched: the service's design: concurrent holds share one transaction (group commit,
//    hold-batcher.ts), each reservation in its own subtransaction; all positions of the batch
//    locked in (sku, location) order, then one conditional UPDATE per line (`... WHERE atp >= q`);
//  - single: the same conditional UPDATEs, one statement (and one commit) per hold;
//  - naive: SELECT … FOR UPDATE per line, check in JavaScript, then UPDATE.
// The load generator runs in a worker thread (its own event loop) with keep-alive sockets; the
// server runs in the main thread. Both share the machine with PostgreSQL.
//
// Measured per design, over the window after a warm-up:
//  - holdsPerSec: 201 answers per second (reservations granted); requestsPerSec: 201 + 409;
//  - p50/p99 latency of every request as the client sees it;
//  - oversold: ledger replay per position in id order (= lock order), counting `reservation.held`
//    entries that left reserved > on hand − unavailable − missing − safety stock; plus positions
//    whose reserved exceeds what is physically there; must be 0;
//  - deadlocks: pg_stat_database.deadlocks of the bench database plus the service's retry
//    counter; must be 0. errors: anything but 201/409 (must be 0).
// Two SKUs are scarce (they run out within the first seconds), the other eight have plenty.
//
// Run: npx tsx bench/reservations.ts  (BENCH_PG_ADMIN_URL, BENCH_SECONDS, BENCH_CLIENTS)
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import type { Database } from '../src/db/database.js';
import { openDatabase } from '../src/db/open-database.js';
import { buildApp } from '../src/http/app.js';
import { reservationRoutes } from '../src/http/routes/reservations.js';
import { writeLedger } from '../src/ledger/ledger-writer.js';
import type { LedgerRow } from '../src/ledger/ledger-row.js';
import { upsertLocation } from '../src/locations/location-store.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { loadConfig, SCOPES } from '../src/config.js';
import { ReservationService } from '../src/reservations/reservation-service.js';
import { percentile, round } from './stats.js';

export interface ReservationBenchOptions {
  adminUrl?: string;
  clients?: number;
  seconds?: number;
  warmupSeconds?: number;
  /** Server-side pg pool size. */
  poolSize?: number;
  designs?: Array<'batched' | 'single' | 'naive'>;
  /** Designs run interleaved this many times (a shared machine's load drifts); medians are reported. */
  rounds?: number;
}

export interface DesignFigures {
  design: 'batched' | 'single' | 'naive';
  requests: number;
  holds: number;
  shortages: number;
  errors: number;
  holdsPerSec: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  oversold: number;
  deadlocks: number;
  retries: number;
}

export interface ReservationBenchReport {
  setup: Record<string, unknown>;
  /** Per design: the median round by holds/s (oversold, deadlocks, errors and retries summed over all rounds). */
  results: DesignFigures[];
  rounds: DesignFigures[];
  /** batched ÷ single statement per hold, on answered requests per second. */
  ratioBatchedToSingle: number | null;
  /** batched ÷ naive, on holds per second. */
  ratioHoldsPerSec: number | null;
  /** batched ÷ naive on answered requests (201 + 409) per second: fairer when scarce SKUs run out sooner in the faster design. */
  ratioRequestsPerSec: number | null;
  /** naive p99 ÷ batched p99. */
  ratioP99: number | null;
}

const LOCATIONS = [
  { id: 'wh-1', type: 'warehouse' as const, safetyStock: 0 },
  { id: 'ams-01', type: 'store' as const, safetyStock: 1 },
  { id: 'rtm-03', type: 'store' as const, safetyStock: 2 },
  { id: 'utr-02', type: 'store' as const, safetyStock: 0 },
];
const SKUS = Array.from({ length: 10 }, (_, i) => `HOT-${i}`);
// BENCH_SCARCE=0: every hot SKU plentiful, so every request is granted (holds/s = requests/s).
const SCARCE = new Set(process.env.BENCH_SCARCE === '0' ? [] : ['HOT-8', 'HOT-9']);
const PLENTY = 1_000_000;
const SCARCE_STOCK = 150;
const TOKEN = 'bench-secret';

// The load generator, as plain CommonJS for an eval'd worker (no TypeScript loader needed).
const CLIENT_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { port, token, clients, durationMs, warmupMs, skus, locations, seed } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
let s = seed >>> 0;
const random = () => { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const pick = (xs) => xs[Math.floor(random() * xs.length)];
function body() {
  const n = 1 + Math.floor(random() * 3);
  const lines = [];
  for (let i = 0; i < n; i++) lines.push({ sku: pick(skus), locationId: pick(locations), quantity: 1 + Math.floor(random() * 2) });
  return JSON.stringify({ channel: 'bench', orderRef: String(Math.floor(random() * 1e9)), lines });
}
function post(data) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/reservations', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), authorization: 'Bearer ' + token } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
    });
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
    req.end(data);
  });
}
(async () => {
  const start = performance.now();
  const windowStart = start + warmupMs;
  const end = start + durationMs;
  const statuses = {};
  const latencies = [];
  let measuredFrom = 0, measuredTo = 0;
  const client = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      const r = await post(body());
      if (t >= windowStart) {
        statuses[r.status] = (statuses[r.status] || 0) + 1;
        latencies.push(r.ms);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  agent.destroy();
  parentPort.postMessage({ statuses, latencies, windowMs: performance.now() - windowStart });
})();
`;

interface ClientReport {
  statuses: Record<string, number>;
  latencies: number[];
  windowMs: number;
}

async function withAdmin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function urlFor(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

async function seed(db: Database): Promise<void> {
  for (const [i, l] of LOCATIONS.entries()) {
    await upsertLocation(db, l.id, {
      name: l.id, type: l.type, lat: 52 + i / 10, lon: 4.9 + i / 10, shipFromStore: true, pickup: l.type === 'store', rank: 100,
      dailyCapacity: null, safetyStock: l.safetyStock, active: true,
    });
  }
  const rows: LedgerRow[] = SKUS.flatMap((sku) => LOCATIONS.map((l) => ({
    entryId: `bench-seed-${sku}-${l.id}`, kind: 'stock.received' as const, sku, locationId: l.id, occurredAt: Date.now(), countQuantity: null,
    onHandDelta: SCARCE.has(sku) ? SCARCE_STOCK : PLENTY, unavailableDelta: 0, missingDelta: 0, reservedDelta: 0,
    source: 'bench', reason: null, reservationId: null,
  })));
  await db.transaction((tx) => writeLedger(tx, rows, { dedupe: true }));
}

/** Ledger replay in id order per position: holds that left reserved beyond what was there. */
async function countOversold(db: Database): Promise<number> {
  const safety = new Map(LOCATIONS.map((l) => [l.id, l.safetyStock]));
  const state = new Map<string, { have: number; reserved: number }>();
  let violations = 0;
  let after = 0;
  for (;;) {
    const page = await db.query<{ id: number; kind: string; sku: string; location_id: string; phys: number; reserved_delta: number }>(
      `SELECT id, kind, sku, location_id, on_hand_delta - unavailable_delta - missing_delta AS phys, reserved_delta
         FROM ledger_entries WHERE id > $1 ORDER BY id LIMIT 50000`,
      [after],
    );
    if (page.length === 0) break;
    for (const e of page) {
      const k = `${e.sku}\u0000${e.location_id}`;
      const s = state.get(k) ?? { have: 0, reserved: 0 };
      s.have += e.phys;
      s.reserved += e.reserved_delta;
      state.set(k, s);
      if (e.kind === 'reservation.held' && s.reserved > s.have - (safety.get(e.location_id) ?? 0)) violations += 1;
    }
    after = page[page.length - 1]!.id;
  }
  const beyond = await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM positions WHERE reserved > on_hand - unavailable - missing');
  return violations + (beyond[0]?.n ?? 0);
}

async function runDesign(design: 'batched' | 'single' | 'naive', o: Required<ReservationBenchOptions>, seedNo: number): Promise<DesignFigures> {
  const name = `omnistock_bench_res_${process.pid}_${design}`;
  await withAdmin(o.adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${name}"`);
  });
  const db = await openDatabase({ databaseUrl: urlFor(o.adminUrl, name), poolSize: o.poolSize });
  try {
    await seed(db);
    const service = new ReservationService({ db, holdStrategy: design });
    const app = await buildApp(
      { config: loadConfig({}), db, log: null as never, ingest: null as never, metrics: createMetrics(), logger: createLogger('error'), isStarted: () => true },
      [{ name: 'bench', secret: TOKEN, scopes: [...SCOPES] }],
      [reservationRoutes(service)],
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const deadlocksBefore = await deadlockCount(db);
    const report = await new Promise<ClientReport>((resolve, reject) => {
      const w = new Worker(CLIENT_CODE, {
        eval: true,
        workerData: {
          port, token: TOKEN, clients: o.clients, durationMs: (o.seconds + o.warmupSeconds) * 1000, warmupMs: o.warmupSeconds * 1000,
          skus: SKUS, locations: LOCATIONS.map((l) => l.id), seed: seedNo,
        },
      });
      w.once('message', (m: ClientReport) => resolve(m));
      w.once('error', reject);
    });
    await app.close();
    // pg_stat counters are flushed by backends within a second of going idle.
    await new Promise((r) => setTimeout(r, 1_500));
    const deadlocks = (await deadlockCount(db)) - deadlocksBefore;
    const oversold = await countOversold(db);
    const lat = [...report.latencies].sort((a, b) => a - b);
    const holds = report.statuses['201'] ?? 0;
    const shortages = report.statuses['409'] ?? 0;
    const requests = lat.length;
    const secs = report.windowMs / 1000;
    return {
      design, requests, holds, shortages, errors: requests - holds - shortages,
      holdsPerSec: round(holds / secs, 0), requestsPerSec: round(requests / secs, 0),
      p50Ms: round(percentile(lat, 50), 2), p99Ms: round(percentile(lat, 99), 2),
      oversold, deadlocks, retries: service.stats.retries,
    };
  } finally {
    await db.close();
    await withAdmin(o.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).catch(() => {});
  }
}

async function deadlockCount(db: Database): Promise<number> {
  const rows = await db.query<{ n: number }>('SELECT deadlocks::int8 AS n FROM pg_stat_database WHERE datname = current_database()');
  return rows[0]?.n ?? 0;
}

export async function benchReservations(opts: ReservationBenchOptions = {}): Promise<ReservationBenchReport> {
  const o: Required<ReservationBenchOptions> = {
    adminUrl: opts.adminUrl ?? process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    clients: opts.clients ?? Number(process.env.BENCH_CLIENTS ?? 64),
    seconds: opts.seconds ?? Number(process.env.BENCH_SECONDS ?? 10),
    warmupSeconds: opts.warmupSeconds ?? 2,
    poolSize: opts.poolSize ?? 16,
    designs: opts.designs ?? ['batched', 'single', 'naive'],
    rounds: opts.rounds ?? Number(process.env.BENCH_ROUNDS ?? 2),
  };
  const rounds: DesignFigures[] = [];
  for (let i = 0; i < o.rounds; i++) {
    const order = i % 2 === 0 ? o.designs : [...o.designs].reverse();
    for (const design of order) rounds.push(await runDesign(design, o, 42 + i));
  }
  const results = o.designs.map((design) => {
    const mine = rounds.filter((r) => r.design === design).sort((a, b) => a.holdsPerSec - b.holdsPerSec);
    const median = mine[Math.floor((mine.length - 1) / 2)]!;
    const sum = (f: (r: DesignFigures) => number) => mine.reduce((n, r) => n + f(r), 0);
    return { ...median, oversold: sum((r) => r.oversold), deadlocks: sum((r) => r.deadlocks), errors: sum((r) => r.errors), retries: sum((r) => r.retries) };
  });
  const c = results.find((r) => r.design === 'batched');
  const s1 = results.find((r) => r.design === 'single');
  const n = results.find((r) => r.design === 'naive');
  return {
    setup: {
      path: 'HTTP keep-alive → Fastify → ReservationService → PostgreSQL (fresh database per design)',
      clients: o.clients, seconds: o.seconds, rounds: o.rounds, loadAverage: (await import('node:os')).loadavg().map((x) => round(x, 2)), warmupSeconds: o.warmupSeconds, serverPool: o.poolSize,
      skus: SKUS.length, scarceSkus: [...SCARCE], locations: LOCATIONS.length, linesPerRequest: '1–3 (quantity 1–2)',
      cpus: (await import('node:os')).cpus().length,
    },
    results,
    rounds,
    ratioBatchedToSingle: c && s1 && s1.requestsPerSec > 0 ? round(c.requestsPerSec / s1.requestsPerSec, 2) : null,
    ratioHoldsPerSec: c && n && n.holdsPerSec > 0 ? round(c.holdsPerSec / n.holdsPerSec, 2) : null,
    ratioRequestsPerSec: c && n && n.requestsPerSec > 0 ? round(c.requestsPerSec / n.requestsPerSec, 2) : null,
    ratioP99: c && n && c.p99Ms > 0 ? round(n.p99Ms / c.p99Ms, 2) : null,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchReservations()
    .then((r) => {
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
}
