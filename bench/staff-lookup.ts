// Staff app stock lookup (issue 16): GET /v1/stock/{sku}?near= for a SKU stocked at 1,000
// locations must answer in ≤ 100 ms of server time. Server time = Fastify's own handling, read
// from the onRequest → onResponse hooks (no socket, no client), on a real PostgreSQL with the
// whole stack (auth, zod, serialisation). Baseline in the same run: the contract's
// GET /v1/availability/{sku} for the same SKU (the ledger read the lookup adds names, distances
// and the nearest stores to).
//
// Run: npx tsx bench/staff-lookup.ts  (BENCH_PG_ADMIN_URL, BENCH_REQUESTS)
import type { FastifyInstance } from 'fastify';
import { loadConfig, SCOPES } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import { buildApp } from '../src/http/app.js';
import { staffRoutes } from '../src/http/routes/staff.js';
import type { LedgerRow } from '../src/ledger/ledger-row.js';
import { writeLedger } from '../src/ledger/ledger-writer.js';
import { upsertLocation } from '../src/locations/location-store.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { StoreQueue } from '../src/staff/store-queue.js';
import { benchDatabase } from './staff-db.js';
import { percentile, round } from './stats.js';

const LOCATIONS = 1000;
const OTHER_SKUS = 50;
const TOKEN = 'bench-token';

async function seed(db: Database): Promise<void> {
  for (let i = 0; i < LOCATIONS; i++) {
    await upsertLocation(db, `loc-${String(i).padStart(4, '0')}`, {
      name: `Store ${i}`, type: i % 50 === 0 ? 'warehouse' : 'store', lat: 50 + (i % 40) * 0.1, lon: 3 + Math.floor(i / 40) * 0.1,
      shipFromStore: true, pickup: true, rank: 100, dailyCapacity: null, safetyStock: i % 3, active: true,
    });
  }
  const skus = ['BENCH-1', ...Array.from({ length: OTHER_SKUS }, (_, k) => `OTHER-${k}`)];
  let n = 0;
  for (const sku of skus) {
    const rows: LedgerRow[] = [];
    for (let i = 0; i < LOCATIONS; i++) {
      rows.push({
        entryId: `seed-${n++}`, kind: 'stock.received', sku, locationId: `loc-${String(i).padStart(4, '0')}`, occurredAt: Date.now(),
        countQuantity: null, onHandDelta: 1 + (i % 17), unavailableDelta: 0, missingDelta: 0, reservedDelta: 0, source: 'bench', reason: null, reservationId: null,
      });
    }
    await db.transaction((tx) => writeLedger(tx, rows, { dedupe: false }));
  }
}

async function measure(app: FastifyInstance, url: string, requests: number, serverMs: number[]): Promise<{ p50: number; p95: number; p99: number; max: number; bytes: number }> {
  let bytes = 0;
  serverMs.length = 0;
  for (let i = 0; i < requests; i++) {
    const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TOKEN}` } });
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    bytes = res.rawPayload.length;
  }
  const s = [...serverMs].sort((a, b) => a - b);
  return { p50: round(percentile(s, 50), 2), p95: round(percentile(s, 95), 2), p99: round(percentile(s, 99), 2), max: round(s[s.length - 1]!, 2), bytes };
}

export async function benchStaffLookup(opts: { requests?: number } = {}) {
  const requests = opts.requests ?? Number(process.env.BENCH_REQUESTS ?? 300);
  const { db, drop } = await benchDatabase('omnistock_bench_staff');
  try {
    await seed(db);
    const app = await buildApp(
      { config: loadConfig({}), db, log: null as never, ingest: null as never, metrics: createMetrics(), logger: createLogger('silent'), isStarted: () => true },
      [{ name: 'bench', secret: TOKEN, scopes: [...SCOPES] }],
      [staffRoutes(new StoreQueue({ db, rejects: null }))],
    );
    const serverMs: number[] = [];
    const started = new WeakMap<object, number>();
    app.addHook('onRequest', async (req) => { started.set(req, performance.now()); });
    app.addHook('onResponse', async (req) => { serverMs.push(performance.now() - (started.get(req) ?? performance.now())); });
    await app.ready();
    // Warm-up: JIT, pg plans, pool connections.
    await measure(app, '/v1/stock/BENCH-1?near=loc-0500', 30, serverMs);
    await measure(app, '/v1/availability/BENCH-1', 30, serverMs);
    // Interleaved rounds, so drift on the shared machine hits both alike.
    const lookup: Array<Awaited<ReturnType<typeof measure>>> = [];
    const baseline: Array<Awaited<ReturnType<typeof measure>>> = [];
    for (let r = 0; r < 3; r++) {
      lookup.push(await measure(app, '/v1/stock/BENCH-1?near=loc-0500', Math.ceil(requests / 3), serverMs));
      baseline.push(await measure(app, '/v1/availability/BENCH-1', Math.ceil(requests / 3), serverMs));
    }
    await app.close();
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const l = { p50: med(lookup.map((x) => x.p50)), p95: med(lookup.map((x) => x.p95)), p99: med(lookup.map((x) => x.p99)), max: Math.max(...lookup.map((x) => x.max)), bytes: lookup[0]!.bytes };
    const b = { p50: med(baseline.map((x) => x.p50)), p95: med(baseline.map((x) => x.p95)), p99: med(baseline.map((x) => x.p99)), max: Math.max(...baseline.map((x) => x.max)), bytes: baseline[0]!.bytes };
    return {
      locations: LOCATIONS, positions: LOCATIONS * (OTHER_SKUS + 1), requestsPerEndpoint: Math.ceil(requests / 3) * 3,
      lookupServerMs: l, availabilityServerMs: b, ratioP95: round(l.p95 / b.p95, 2),
      targetMs: 100, met: l.p95 <= 100,
    };
  } finally {
    await drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await benchStaffLookup(), null, 2)}\n`);
}
