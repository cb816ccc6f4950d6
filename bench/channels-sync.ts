// Channel sync benchmark (issue 14), on the production path: PostgreSQL + Kafka (the mock
// broker), the service as its own process (`omnistock serve`, every role), the channel's
// stand-in on loopback in this process: the Shopify stand-in (test/standins/shopify) through the
// Shopify connector (both, by default), or the custom kind's stand-in (BENCH_CHANNEL_KIND /
// BENCH_BURST_KIND = shopify | custom).
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
//   channel whose stand-in and settings allow 100 points/s with a bucket of 100 (Shopify:
//   inventorySetQuantities costs 15 points for up to 250 quantities; custom: 10 points + 0.1 per
//   item, 100 per call). Converge = the stand-in shows every new figure. Minimum the limit
//   allows = (calls × cost − bucket) ÷ 100/s. Reported: converge ÷ minimum; on Shopify also the
//   same run's own schedule (first and last applied push, points charged), so the channel's share
//   can be told from the ledger's (the counts' trip through Kafka and the reconciler).
//
// Run: npm run bench -- --only channels   (BENCH_PG_ADMIN_URL, BENCH_LAG_SAMPLES, BENCH_LOAD_SECONDS, BENCH_CHANNEL_KIND, BENCH_BURST_KIND,
// BENCH_CHANNELS_LAG=0: the burst alone; BENCH_BURST_WEBHOOKS=0: the burst channel gets no webhooks, to see their share)
import { fork } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startBenchInfra } from './bench-service.js';
import { spawnService, killAllServices } from '../test/support/service-process.js';
import { CustomChannelStandin } from '../test/support/custom-channel-standin.js';
import { percentile, round } from './stats.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TOKEN = 'bench-channels-secret';
const SECRET = 'bench-channel-secret-0123456789';
const LAG_SAMPLES = Number(process.env.BENCH_LAG_SAMPLES ?? 150);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 25);
const BURST_SKUS = 10_000;
/** BENCH_CHANNELS_LAG=0: the burst only (a quicker run on a busy machine). */
const LAG = process.env.BENCH_CHANNELS_LAG !== '0';

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

/**
 * The channel the benchmark pushes to: the Shopify stand-in through the Shopify connector
 * (default), or the custom kind's stand-in (BENCH_CHANNEL_KIND=custom).
 */
interface ChannelUnderTest {
  kind: string;
  /** PUT body for a channel showing our `location`, limited to `limits`. */
  channel(location: string, limits: { ratePerSecond: number; burst: number }): Record<string, unknown>;
  /** Lists the SKUs on the channel (Shopify: products at 0). */
  list(skus: readonly string[]): void;
  shows(sku: string): number | null | undefined;
  /** Points one call pushing `items` costs, and items per call. */
  callCost(items: number): number;
  maxItemsPerCall: number;
  throttled(): number;
  calls(): number;
  /** Push calls the channel applied (time in performance.now() ms, points charged, items), where the stand-in records them. */
  appliedPushes?(): Array<{ at: number; cost: number; items: number }>;
  deliverWebhooksTo(url: string): void;
  stop(): Promise<void>;
}

async function shopifyChannel(limits: { ratePerSecond: number; burst: number }): Promise<ChannelUnderTest> {
  const { ShopifyStandIn } = await import('../test/standins/shopify/shopify-stand-in.js');
  const { PUSH_CALL_COST } = await import('../connectors/shopify/shopify-connector.js');
  const { MAX_QUANTITIES_PER_CALL } = await import('../connectors/shopify/push-batch.js');
  const shop = new ShopifyStandIn({ restoreRate: limits.ratePerSecond, bucketSize: limits.burst });
  await shop.start();
  const loc = shop.addLocation('Bench location');
  return {
    kind: 'shopify',
    channel: (location, l) => ({
      kind: 'shopify', pool: [location],
      settings: { shop: shop.shop, accessToken: shop.accessToken, apiSecret: shop.apiSecret, adminUrl: shop.adminUrl, locationMap: { [loc]: location }, restoreRate: l.ratePerSecond, bucketSize: l.burst },
    }),
    list: (skus) => { for (const sku of skus) shop.addProduct(sku, { [loc]: 0 }); },
    shows: (sku) => shop.quantity(sku, loc),
    callCost: () => PUSH_CALL_COST,
    maxItemsPerCall: MAX_QUANTITIES_PER_CALL,
    throttled: () => shop.graphql.log.filter((x) => x.throttled).length,
    calls: () => shop.requests,
    appliedPushes: () => shop.graphql.log
      .filter((x) => !x.throttled && x.errors === 0 && x.query.includes('inventorySetQuantities'))
      .map((x) => ({ at: x.at, cost: x.cost, items: (x.variables as { input: { quantities: unknown[] } }).input.quantities.length })),
    deliverWebhooksTo: (url) => shop.deliverWebhooksTo(url),
    stop: () => shop.stop(),
  };
}

async function customChannel(limits: { ratePerSecond: number; burst: number }): Promise<ChannelUnderTest> {
  const perCall = 100;
  const st = new CustomChannelStandin({ secret: SECRET, ratePerSecond: limits.ratePerSecond, burst: limits.burst, callCost: 10, itemCost: 0.1 });
  await st.start();
  return {
    kind: 'custom',
    channel: (location, l) => ({
      kind: 'custom', pool: [location],
      settings: { endpoint: st.url, secret: SECRET, ratePerSecond: l.ratePerSecond, burst: l.burst, callCost: 10, itemCost: 0.1, maxItemsPerCall: perCall },
    }),
    list: () => {},
    shows: (sku) => st.show(sku, null),
    callCost: (n) => 10 + 0.1 * n,
    maxItemsPerCall: perCall,
    throttled: () => st.throttled,
    calls: () => st.calls,
    deliverWebhooksTo: () => {},
    stop: () => st.stop(),
  };
}

const kindOf = (v: string | undefined, fallback: string) => ((v ?? fallback) === 'custom' ? customChannel : shopifyChannel);
/** Both on the Shopify stand-in by default (BENCH_CHANNEL_KIND / BENCH_BURST_KIND=custom: the custom kind). */
const makeLagChannel = kindOf(process.env.BENCH_CHANNEL_KIND, 'shopify');
const makeBurstChannel = kindOf(process.env.BENCH_BURST_KIND ?? process.env.BENCH_CHANNEL_KIND, 'shopify');

/** Sales one at a time; each sample waits for the channel to show the figure it implies. */
async function measureLag(base: string, ch: ChannelUnderTest, skus: string[], shown: Map<string, number>, samples: number, stopAt?: number) {
  const lags: number[] = [];
  const applied: number[] = [];
  let appliedTimeouts = 0;
  let shed = 0;
  for (let i = 0; i < samples && (stopAt === undefined || Date.now() < stopAt); i++) {
    const sku = skus[i % skus.length]!;
    const want = shown.get(sku)! - 1;
    let ackAt = 0;
    let timer: NodeJS.Timeout | undefined;
    // The stand-in lives in this process: look at its state every millisecond.
    const acked = new Promise<void>((resolve) => {
      timer = setInterval(() => {
        if (ch.shows(sku) === want) {
          ackAt = performance.now();
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    const t0 = performance.now();
    // With ?wait=true the same request also gives the baseline: accepted → applied to the ledger.
    try {
      await call(base, 'POST', '/v1/events?wait=true', { events: [sale(sku, 'ams-01')] });
      applied.push(performance.now() - t0);
    } catch (err) {
      if (String(err).includes(': 429 ')) {
        // Shed (the backlog is past EVENT_LAG_LIMIT_SECONDS): nothing accepted, no sample.
        clearInterval(timer);
        shed += 1;
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (!String(err).includes(': 504 ')) throw err;
      appliedTimeouts += 1; // accepted, not applied within 10 s: the reconciler is behind
    }
    const got = await Promise.race([acked.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 60_000))]);
    if (!got) throw new Error(`no ack for ${sku}=${want} within 60 s`);
    lags.push(ackAt - t0);
    shown.set(sku, want);
    await new Promise((r) => setTimeout(r, 20));
  }
  const s = [...lags].sort((a, b) => a - b);
  const a = [...applied].sort((x, y) => x - y);
  return {
    loadAverage: os.loadavg().map((x) => round(x, 1)),
    samples: s.length, p50Ms: round(percentile(s, 50)), p99Ms: round(percentile(s, 99)), maxMs: round(s[s.length - 1] ?? NaN),
    baselineAppliedP50Ms: round(percentile(a, 50)), baselineAppliedP99Ms: round(percentile(a, 99)), baselineAppliedOver10s: appliedTimeouts, shed429: shed,
  };
}

export async function benchChannelsSync(): Promise<Record<string, unknown>> {
  const infra = await startBenchInfra('omnistock_bench_channels', TOKEN);
  const { dbUrl } = infra;
  const lagChannel = await makeLagChannel({ ratePerSecond: 1000, burst: 2000 });
  const burstChannel = await makeBurstChannel({ ratePerSecond: 100, burst: 100 });
  const env = infra.serviceEnv;
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
    lagChannel.list(skus);
    lagChannel.deliverWebhooksTo(`${base}/webhooks/${lagChannel.kind}/lag`);
    await call(base, 'PUT', '/v1/channels/lag', lagChannel.channel('ams-01', { ratePerSecond: 1000, burst: 2000 }));
    await until(() => skus.every((s) => lagChannel.shows(s) === 100_000), 120_000, 'lag channel in sync');

    if (!LAG) {
      process.stderr.write('bench channels: lag skipped (BENCH_CHANNELS_LAG=0)\n');
    } else {
      process.stderr.write('bench channels: lag, idle…\n');
      const idle = await measureLag(base, lagChannel, skus, shown, LAG_SAMPLES);
      process.stderr.write(`bench channels: idle ${JSON.stringify(idle)}\n`);

      process.stderr.write(`bench channels: lag under 10,000 events/s for ${LOAD_SECONDS} s…\n`);
      const worker = fork(path.join(HERE, 'channels-load-worker.ts'), [], {
        execArgv: ['--import', 'tsx'], env: { ...process.env, LOAD_URL: base, LOAD_TOKEN: TOKEN, LOAD_RATE: '10000', LOAD_SECONDS: String(LOAD_SECONDS) },
      });
      const loadReport = new Promise<Record<string, number>>((resolve) => worker.once('message', (m) => resolve(m as Record<string, number>)));
      await new Promise((r) => setTimeout(r, 3000)); // let the load settle in
      const loaded = await measureLag(base, lagChannel, skus, shown, LAG_SAMPLES, Date.now() + (LOAD_SECONDS - 4) * 1000);
      const load = await loadReport;
      process.stderr.write(`bench channels: loaded ${JSON.stringify(loaded)} with ${JSON.stringify(load)}\n`);
      result.syncLag = {
        channel: lagChannel.kind, idle, loaded: { ...loaded, otherTraffic: { eventsPerSec: round(load.rate ?? 0, 0), failed: load.failed, seconds: round(load.seconds ?? 0) } },
        targets: { idleP99Ms: 1000, loadedP99Ms: 2000 },
      };
    }

    // Burst: the channel first, then 10,000 SKUs counted at once at its location.
    // The load leaves a backlog in the reconciler on a busy machine: the burst starts once a
    // sentinel event posted behind it is applied.
    for (;;) {
      try {
        await call(base, 'POST', '/v1/events?wait=true', { events: [count('SENTINEL', 'utr-02', 1)] });
        break;
      } catch (err) {
        if (String(err).includes(': 429 ')) await new Promise((r) => setTimeout(r, 2000)); // shed: the backlog drains first
        else if (!String(err).includes(': 504 ')) throw err;
      }
    }
    process.stderr.write('bench channels: burst…\n');
    const burstSkus = Array.from({ length: BURST_SKUS }, (_, i) => `BURST-${i}`);
    burstChannel.list(burstSkus);
    if (process.env.BENCH_BURST_WEBHOOKS !== '0') burstChannel.deliverWebhooksTo(`${base}/webhooks/${burstChannel.kind}/burst`);
    await call(base, 'PUT', '/v1/channels/burst', burstChannel.channel('wh-1', { ratePerSecond: 100, burst: 100 }));
    // A connected channel has pulled its catalogue (as a merchant's first "sync now" does):
    // the burst measures pushing, not the connector discovering 10,000 new SKUs.
    await call(base, 'POST', '/v1/channels/burst/sync');
    await until(async () => ((await call(base, 'GET', '/v1/channels/burst/status')) as { lastPullAt: string | null }).lastPullAt !== null, 300_000, 'burst channel pulled');
    const t0 = performance.now();
    const t0Wall = Date.now();
    for (let i = 0; i < burstSkus.length; i += 1000) {
      await call(base, 'POST', '/v1/events', { events: burstSkus.slice(i, i + 1000).map((s, j) => count(s, 'wh-1', 1 + ((i + j) % 50))) });
    }
    // When the last of the changes is in the ledger (a sentinel behind them is applied): the
    // rate limit's share starts there at the latest.
    let appliedAt = NaN;
    void (async () => {
      for (;;) {
        try {
          await call(base, 'POST', '/v1/events?wait=true', { events: [count('SENTINEL', 'utr-02', 2)] });
          appliedAt = performance.now();
          return;
        } catch (err) {
          if (!String(err).includes(': 504 ')) return;
        }
      }
    })();
    // The stand-in shares this process: look only at the SKUs not yet shown, so the check stays cheap.
    const notYet = new Map(burstSkus.map((s, i) => [s, 1 + (i % 50)] as const));
    await until(() => {
      for (const [sku, want] of notYet) if (burstChannel.shows(sku) === want) notYet.delete(sku);
      return notYet.size === 0;
    }, 600_000, 'burst converged');
    const convergeS = (performance.now() - t0) / 1000;
    const perCall = burstChannel.maxItemsPerCall;
    const calls = Math.ceil(BURST_SKUS / perCall);
    const points = calls * burstChannel.callCost(perCall);
    const minimumS = (points - 100) / 100;
    result.burst = {
      channel: burstChannel.kind, skus: BURST_SKUS, itemsPerCall: perCall, ratePerSecond: 100, bucket: 100, pointsNeeded: points, convergeS: round(convergeS, 2), minimumS: round(minimumS, 2),
      ratio: round(convergeS / minimumS, 3), target: 1.2,
      changesAppliedAfterS: round((appliedAt - t0) / 1000, 2),
      ratioFromApplied: round((convergeS - (appliedAt - t0) / 1000) / minimumS, 3),
      channelCalls: burstChannel.calls(), channelThrottled: burstChannel.throttled(),
    };
    // The best schedule the rate allows in this run: each change can go no earlier than the
    // ledger applied it (positions.updated_at), full calls, the bucket full at the start.
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    const arrivals = (await db.query<{ ms: string }>(
      "SELECT (extract(epoch FROM updated_at) * 1000)::float8 AS ms FROM positions WHERE location_id = 'wh-1' AND sku LIKE 'BURST-%' ORDER BY updated_at",
    )).rows.map((r) => (Number(r.ms) - t0Wall) / 1000);
    await db.end();
    let bestS = 0;
    for (let k = 1; k * perCall - perCall < arrivals.length; k++) {
      const ready = arrivals[Math.min(k * perCall, arrivals.length) - 1]!;
      bestS = Math.max(bestS, ready, Math.max(0, k * burstChannel.callCost(perCall) - 100) / 100);
    }
    Object.assign(result.burst as Record<string, unknown>, { bestScheduleS: round(bestS, 2), ratioToBestSchedule: round(convergeS / bestS, 3), changesAppliedBetweenS: [round(arrivals[0] ?? NaN, 2), round(arrivals.at(-1) ?? NaN, 2)] });
    const applied = burstChannel.appliedPushes?.().filter((p) => p.at >= t0);
    if (applied?.length) {
      // The same run's own schedule: when the channel's first and last applied push arrived, the
      // points they were charged, and the best the bucket allows for those points.
      const spent = applied.reduce((a, p) => a + p.cost, 0);
      const first = applied[0]!.at;
      const last = applied[applied.length - 1]!.at;
      Object.assign(result.burst as Record<string, unknown>, {
        pushCallsApplied: applied.length, itemsPushed: applied.reduce((a, p) => a + p.items, 0), pointsSpent: spent,
        firstPushAfterS: round((first - t0) / 1000, 2), lastPushAfterS: round((last - t0) / 1000, 2),
        pushSpanS: round((last - first) / 1000, 2), pushSpanMinimumS: round(Math.max(0, spent - 100) / 100, 2),
      });
    }
    process.stderr.write(`bench channels: burst ${JSON.stringify(result.burst)}\n`);
  } finally {
    await service.kill('SIGTERM').catch(() => {});
    await killAllServices();
    await lagChannel.stop();
    await burstChannel.stop();
    await infra.dispose();
  }
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await benchChannelsSync();
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  process.exit(0);
}
