// Channel sync benchmark (issue 14), on the production path: PostgreSQL + Kafka (the mock
// broker), the service as its own process (`omnistock serve`, every role), a channel stand-in
// on loopback in this process (the custom kind's, test/support/custom-channel-standin.ts).
//
// - Sync lag: a POS sale (POST /v1/events, one stock.sold) until the stand-in acknowledges the
//   channel's new figure, measured from the moment the request is sent (so it includes the
//   accept). One sale at a time, on a channel with no rate-limit backlog. Idle, then with
//   10,000 events/s of other traffic posted over HTTP by another process (bench/channels-load-
//   worker.ts; SKUs and locations outside the channel's pool, so the channel's own figures do not
//   queue behind them). Baseline in the same run and the same request: the sale is posted with
//   ?wait=true, whose answer marks it applied to the ledger (the figure the issue quotes for
//   scale); the channel's share is the difference. Load average is recorded: the machine is shared.
// - Burst: 10,000 SKUs change at once (counted at the channel's one location) against a
//   channel whose stand-in and settings allow 100 points/s (bucket 100; a call costs 10 points
//   + 0.1 per item, 100 items per call). Converge = the stand-in shows every new figure.
//   Minimum the limit allows = (points needed − bucket) ÷ 100/s. Reported: converge ÷ minimum.
//
// Run: npm run bench -- --only channels   (BENCH_PG_ADMIN_URL, BENCH_LAG_SAMPLES, BENCH_LOAD_SECONDS)
import { fork } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startMockKafka } from '../test/support/kafka-broker.js';
import { spawnService, killAllServices } from '../test/support/service-process.js';
import { CustomChannelStandin, type PushRecord } from '../test/support/custom-channel-standin.js';
import { percentile, round } from './stats.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TOKEN = 'bench-channels-secret';
const SECRET = 'bench-channel-secret-0123456789';
const LAG_SAMPLES = Number(process.env.BENCH_LAG_SAMPLES ?? 150);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 25);
const BURST_SKUS = 10_000;

async function call(base: string, method: string, url: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as unknown) : null;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let seq = 0;
const sale = (sku: string, locationId: string) => ({ eventId: `bench-sale-${process.pid}-${++seq}`, type: 'stock.sold', sku, locationId, quantity: 1, occurredAt: new Date().toISOString(), source: 'pos' });
const count = (sku: string, locationId: string, quantity: number) => ({ eventId: `bench-count-${process.pid}-${++seq}`, type: 'stock.counted', sku, locationId, quantity, occurredAt: new Date().toISOString(), source: 'bench' });

/** Sales one at a time; each sample waits for the stand-in to show the figure it implies. */
async function measureLag(base: string, standin: CustomChannelStandin, skus: string[], shown: Map<string, number>, samples: number, stopAt?: number) {
  const lags: number[] = [];
  const applied: number[] = [];
  let appliedTimeouts = 0;
  for (let i = 0; i < samples && (stopAt === undefined || Date.now() < stopAt); i++) {
    const sku = skus[i % skus.length]!;
    const want = shown.get(sku)! - 1;
    let ackAt = 0;
    const acked = new Promise<void>((resolve) => {
      standin.onAck = (r: PushRecord) => {
        if (r.sku === sku && r.quantity === want) {
          ackAt = performance.now();
          resolve();
        }
      };
    });
    const t0 = performance.now();
    // With ?wait=true the same request also gives the baseline: accepted → applied to the ledger.
    try {
      await call(base, 'POST', '/v1/events?wait=true', { events: [sale(sku, 'ams-01')] });
      applied.push(performance.now() - t0);
    } catch (err) {
      if (!String(err).includes(': 504 ')) throw err;
      appliedTimeouts += 1; // accepted, not applied within 10 s: the reconciler is behind
    }
    const got = await Promise.race([acked.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 60_000))]);
    if (!got) throw new Error(`no ack for ${sku}=${want} within 60 s`);
    lags.push(ackAt - t0);
    shown.set(sku, want);
    standin.onAck = null;
    await new Promise((r) => setTimeout(r, 20));
  }
  const s = [...lags].sort((a, b) => a - b);
  const a = [...applied].sort((x, y) => x - y);
  return {
    loadAverage: os.loadavg().map((x) => round(x, 1)),
    samples: s.length, p50Ms: round(percentile(s, 50)), p99Ms: round(percentile(s, 99)), maxMs: round(s[s.length - 1] ?? NaN),
    baselineAppliedP50Ms: round(percentile(a, 50)), baselineAppliedP99Ms: round(percentile(a, 99)), baselineAppliedOver10s: appliedTimeouts,
  };
}

export async function benchChannelsSync(): Promise<Record<string, unknown>> {
  const name = `omnistock_bench_channels_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const dbUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  const broker = await startMockKafka({ topics: [{ name: 'bench.events', partitions: 8 }, { name: 'bench.atp', partitions: 4 }] });
  const lagStandin = new CustomChannelStandin({ secret: SECRET });
  const burstStandin = new CustomChannelStandin({ secret: SECRET, ratePerSecond: 100, burst: 100, callCost: 10, itemCost: 0.1 });
  await lagStandin.start();
  await burstStandin.start();
  const env = {
    DATABASE_URL: dbUrl, KAFKA_BROKERS: broker.brokers.join(','), KAFKA_EVENTS_TOPIC: 'bench.events', KAFKA_ATP_TOPIC: 'bench.atp',
    RECONCILER_GROUP: 'bench-reconciler', API_TOKENS: `bench:${TOKEN}:events:write+stock:read+stock:write+reservations+routing+admin`, PORT: '0', LOG_LEVEL: 'info',
  };
  const service = spawnService(['serve'], env);
  const result: Record<string, unknown> = {};
  try {
    const line = await service.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/, 120_000);
    const base = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(line)![1]!;
    for (const [i, id] of ['ams-01', 'utr-02', 'wh-1', 'wh-2'].entries()) {
      await call(base, 'PUT', `/v1/locations/${id}`, { name: id, type: id.startsWith('wh') ? 'warehouse' : 'store', lat: 52 + i / 10, lon: 4.9 + i / 10 });
    }
    // Lag channel: 100 SKUs at ams-01, in sync before measuring.
    const skus = Array.from({ length: 100 }, (_, i) => `LAG-${i}`);
    const shown = new Map(skus.map((s) => [s, 100_000] as const));
    await call(base, 'POST', '/v1/events?wait=true', { events: skus.map((s) => count(s, 'ams-01', 100_000)) });
    await call(base, 'PUT', '/v1/channels/lag', { kind: 'custom', pool: ['ams-01'], settings: { endpoint: lagStandin.url, secret: SECRET, ratePerSecond: 1000, burst: 1000 } });
    await until(() => skus.every((s) => lagStandin.show(s, null) === 100_000), 60_000, 'lag channel in sync');

    process.stderr.write('bench channels: lag, idle…\n');
    const idle = await measureLag(base, lagStandin, skus, shown, LAG_SAMPLES);
    process.stderr.write(`bench channels: idle ${JSON.stringify(idle)}\n`);

    process.stderr.write(`bench channels: lag under 10,000 events/s for ${LOAD_SECONDS} s…\n`);
    const worker = fork(path.join(HERE, 'channels-load-worker.ts'), [], {
      execArgv: ['--import', 'tsx'], env: { ...process.env, LOAD_URL: base, LOAD_TOKEN: TOKEN, LOAD_RATE: '10000', LOAD_SECONDS: String(LOAD_SECONDS) },
    });
    const loadReport = new Promise<Record<string, number>>((resolve) => worker.once('message', (m) => resolve(m as Record<string, number>)));
    await new Promise((r) => setTimeout(r, 3000)); // let the load settle in
    const loaded = await measureLag(base, lagStandin, skus, shown, LAG_SAMPLES, Date.now() + (LOAD_SECONDS - 4) * 1000);
    const load = await loadReport;
    process.stderr.write(`bench channels: loaded ${JSON.stringify(loaded)} with ${JSON.stringify(load)}\n`);
    result.syncLag = {
      idle, loaded: { ...loaded, otherTraffic: { eventsPerSec: round(load.rate ?? 0, 0), failed: load.failed, seconds: round(load.seconds ?? 0) } },
      targets: { idleP99Ms: 1000, loadedP99Ms: 2000 },
    };

    // Burst: the channel first, then 10,000 SKUs counted at once at its location.
    await new Promise((r) => setTimeout(r, 3000)); // let the backlog of the load drain
    process.stderr.write('bench channels: burst…\n');
    const perCall = 100;
    await call(base, 'PUT', '/v1/channels/burst', {
      kind: 'custom', pool: ['wh-1'],
      settings: { endpoint: burstStandin.url, secret: SECRET, ratePerSecond: 100, burst: 100, callCost: 10, itemCost: 0.1, maxItemsPerCall: perCall },
    });
    const burstSkus = Array.from({ length: BURST_SKUS }, (_, i) => `BURST-${i}`);
    const t0 = performance.now();
    for (let i = 0; i < burstSkus.length; i += 1000) {
      await call(base, 'POST', '/v1/events', { events: burstSkus.slice(i, i + 1000).map((s, j) => count(s, 'wh-1', 1 + ((i + j) % 50))) });
    }
    await until(() => burstSkus.every((s, i) => burstStandin.show(s, null) === 1 + (i % 50)), 600_000, 'burst converged');
    const convergeS = (performance.now() - t0) / 1000;
    const calls = Math.ceil(BURST_SKUS / perCall);
    const points = calls * (10 + 0.1 * perCall);
    const minimumS = (points - 100) / 100;
    result.burst = {
      skus: BURST_SKUS, ratePerSecond: 100, bucket: 100, pointsNeeded: points, convergeS: round(convergeS, 2), minimumS: round(minimumS, 2),
      ratio: round(convergeS / minimumS, 3), target: 1.2,
      standinCalls: burstStandin.calls, standin429: burstStandin.throttled,
    };
    process.stderr.write(`bench channels: burst ${JSON.stringify(result.burst)}\n`);
  } finally {
    await service.kill('SIGTERM').catch(() => {});
    await killAllServices();
    await lagStandin.stop();
    await burstStandin.stop();
    await broker.stop();
    const a = new pg.Client({ connectionString: ADMIN_URL });
    await a.connect();
    await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
    await a.end();
  }
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await benchChannelsSync();
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  process.exit(0);
}
