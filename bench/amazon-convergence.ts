// Amazon convergence benchmark (issue 15), on the production path: PostgreSQL + Kafka (the mock
// broker), the service as its own process (`omnistock serve`), the SP-API stand-in on loopback in
// this process, every request checked against the Swagger models and the feed JSON Schemas.
//
// A 5,000-SKU change (every SKU's count at the channel's one location) until the stand-in shows
// every new figure, twice: the first listing of 5,000 SKUs, then a change to all of them. Time
// runs `BENCH_AMAZON_SCALE` times faster (default 1: Amazon's own pace) on both sides alike: the
// stand-in's buckets refill at the published rates × scale (patchListingsItem 5/s burst 5, createFeed 0.0083/s
// burst 15, getFeed 2/s burst 15, ...), a feed takes Amazon's usual two minutes ÷ scale from
// createFeed to DONE, and the channel's `rateScale` is the same factor.
//
// Baseline, computed in the same run from the same figures: the best schedule the published
// rates allow (push-plan.ts bestConvergenceMs): all 5,000 by patch from a full bucket, or feeds
// created at once from createFeed's burst, done one turnaround later, whichever is sooner. It
// ignores every latency (HTTP, our ingest and outbox, the upload), so the ratio is conservative.
//
// Run: npm run bench -- --only amazon   (BENCH_PG_ADMIN_URL, BENCH_AMAZON_SCALE, BENCH_AMAZON_SKUS)
import os from 'node:os';
import pg from 'pg';
import { bestConvergenceMs } from '../connectors/amazon/push-plan.js';
import { startBenchInfra } from './bench-service.js';
import { killAllServices, spawnService } from '../test/support/service-process.js';
import { AmazonStandIn } from '../test/standins/amazon/amazon-standin.js';
import { round } from './stats.js';

const TOKEN = 'bench-amazon-secret';
const SCALE = Number(process.env.BENCH_AMAZON_SCALE ?? 1);
const SKUS = Number(process.env.BENCH_AMAZON_SKUS ?? 5_000);
/** Amazon's usual feed turnaround (queue, then processing), before scaling. */
const FEED_QUEUE_MS = 40_000;
const FEED_PROCESSING_MS = 80_000;
const EVENTS_PER_POST = 1_000;

async function request(base: string, method: string, url: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}${url}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as unknown) : null;
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let seq = 0;
const counted = (sku: string, quantity: number) => ({ eventId: `bench-amz-${process.pid}-${++seq}`, type: 'stock.counted', sku, locationId: 'wh-1', quantity, occurredAt: new Date().toISOString(), source: 'bench' });

/**
 * One change of every SKU, posted as 1,000-event requests at once, timed until the stand-in
 * shows every figure and until our outbox has settled.
 */
async function wave(base: string, db: pg.Client, amz: AmazonStandIn, skus: readonly string[], figure: (i: number) => number, bestMs: number) {
  const callsBefore = amz.calls.length;
  const figures = skus.map((_, i) => figure(i));
  const t0 = performance.now();
  // When every new figure is in our outbox: the moment the channel engine knows the whole change.
  const enqueued = (async () => {
    await waitFor(async () => (await db.query(
      `SELECT count(*)::int AS n FROM channel_outbox o JOIN unnest($1::text[], $2::int[]) AS u(sku, q) ON o.sku = u.sku
        WHERE o.channel_id = 'amz' AND o.quantity = u.q`, [skus, figures])).rows[0].n === skus.length, 30 * 60_000, 'every figure in the outbox');
    return performance.now() - t0;
  })();
  const posts: Array<Promise<unknown>> = [];
  for (let i = 0; i < skus.length; i += EVENTS_PER_POST) {
    posts.push(request(base, 'POST', '/v1/events', { events: skus.slice(i, i + EVENTS_PER_POST).map((sku, k) => counted(sku, figures[i + k]!)) }));
  }
  await Promise.all(posts);
  const postedMs = performance.now() - t0;
  await waitFor(() => skus.every((sku, i) => amz.listingQuantity(sku) === figure(i)), 30 * 60_000, 'every figure on Amazon');
  const convergedMs = performance.now() - t0;
  const enqueuedMs = await enqueued;
  await waitFor(async () => (await db.query("SELECT count(*)::int AS n FROM channel_outbox WHERE channel_id = 'amz' AND (version > acked_version OR submission IS NOT NULL)")).rows[0].n === 0, 10 * 60_000, 'outbox settled');
  const settledMs = performance.now() - t0;
  const calls = amz.calls.slice(callsBefore);
  const ok = (op: string, status: number) => calls.filter((c) => c.operationId === op && c.status === status);
  const firstFeed = ok('createFeed', 202)[0];
  return {
    skus: skus.length, postedMs: round(postedMs), enqueuedMs: round(enqueuedMs), convergedMs: round(convergedMs), settledMs: round(settledMs),
    bestScheduleMs: round(bestMs),
    /** From the first event posted: everything we do counts (ingest, ledger, outbox, pushes). */
    ratio: round(convergedMs / bestMs, 3),
    /** From the moment the whole change was in the outbox: the push schedule alone. */
    ratioFromOutbox: round((convergedMs - enqueuedMs) / bestMs, 3),
    patches: ok('patchListingsItem', 200).length, feeds: ok('createFeed', 202).length, feedMessages: ok('createFeed', 202).reduce((n, c) => n + (c.items ?? 0), 0),
    firstFeedCreatedAtMs: firstFeed ? round(firstFeed.at - t0) : null,
    feedsAt: ok('createFeed', 202).map((c) => [round(c.at - t0), c.items]),
    getFeedCalls: ok('getFeed', 200).length, throttled429: calls.filter((c) => c.status === 429).length,
  };
}

export async function benchAmazonConvergence(): Promise<Record<string, unknown>> {
  const infra = await startBenchInfra('omnistock_bench_amazon', TOKEN);
  const { dbUrl } = infra;
  const amz = await new AmazonStandIn({ rateScale: SCALE, feedQueueMs: FEED_QUEUE_MS / SCALE, feedProcessingMs: FEED_PROCESSING_MS / SCALE }).start();
  const service = spawnService(['serve'], infra.serviceEnv);
  const db = new pg.Client({ connectionString: dbUrl });
  const result: Record<string, unknown> = { scale: SCALE, feedTurnaroundMs: (FEED_QUEUE_MS + FEED_PROCESSING_MS) / SCALE, loadAverageAtStart: os.loadavg().map((x) => round(x, 2)) };
  try {
    const line = await service.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/, 120_000);
    const base = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(line)![1]!;
    await db.connect();
    await request(base, 'PUT', '/v1/locations/wh-1', { name: 'wh-1', type: 'warehouse', lat: 52, lon: 4.9 });
    const skus = Array.from({ length: SKUS }, (_, i) => `AMZ-${String(i).padStart(5, '0')}`);
    for (const sku of skus) amz.setListing(sku, 0);
    await request(base, 'PUT', '/v1/channels/amz', {
      kind: 'amazon', pool: ['wh-1'], bufferUnits: 0,
      settings: amz.channelSettings(['wh-1']),
    });
    // The published plans, scaled alike, from full buckets.
    const plan = (op: string) => amz.plan(op);
    const bestMs = bestConvergenceMs(SKUS, {
      patchTokens: plan('patchListingsItem').burst, patchPerSecond: plan('patchListingsItem').perSecond * SCALE,
      feedTokens: plan('createFeed').burst, feedPerSecond: plan('createFeed').perSecond * SCALE,
      feedTurnaroundMs: (FEED_QUEUE_MS + FEED_PROCESSING_MS) / SCALE,
    });
    result.allByPatchMs = round(((SKUS - plan('patchListingsItem').burst) / (plan('patchListingsItem').perSecond * SCALE)) * 1000);
    process.stderr.write(`bench amazon: first listing of ${SKUS} SKUs (best schedule ${round(bestMs)} ms)…\n`);
    result.firstListing = await wave(base, db, amz, skus, (i) => 10 + (i % 50), bestMs);
    process.stderr.write(`bench amazon: ${JSON.stringify(result.firstListing)}\n`);
    process.stderr.write(`bench amazon: a change to all ${SKUS} SKUs…\n`);
    result.change = await wave(base, db, amz, skus, (i) => 3 + (i % 40), bestMs);
    process.stderr.write(`bench amazon: ${JSON.stringify(result.change)}\n`);
    result.modelViolations = amz.violations.length;
    result.loadAverageAtEnd = os.loadavg().map((x) => round(x, 2));
  } finally {
    await db.end().catch(() => {});
    await service.kill('SIGTERM').catch(() => {});
    await killAllServices();
    await amz.stop();
    await infra.dispose();
  }
  return result;
}
