// A crash while an Amazon feed is pending (PostgreSQL + the mock Kafka broker, the service as a
// child process killed with SIGKILL, the SP-API stand-in in this process with slow feeds): the
// feed id is on the outbox rows, so the restarted service polls that feed and settles its SKUs
// from its processing report. Nothing is submitted again, no SKU of the feed is patched, and
// every figure reaches Amazon, a newer one arriving during the feed included.
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/open-database.js';
import { pgKafkaDeployment } from './spine/deployments.js';
import { killAllServices, spawnService } from './support/service-process.js';
import { apiAt, counted, LOCATIONS, sold, waitUntil } from './channels-harness.js';
import { AmazonStandIn } from './standins/amazon/amazon-standin.js';

/** Undone last first, whatever the test got to. */
const undo: Array<() => Promise<void>> = [];
afterAll(async () => {
  await killAllServices();
  while (undo.length > 0) await undo.pop()!().catch(() => {});
});

const URL_LINE = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/;

describe('amazon feed and a crash', () => {
  it('SIGKILL while a feed is pending: the restart polls that feed, resends nothing, loses nothing', async () => {
    const d = await pgKafkaDeployment();
    undo.push(d.cleanup);
    const amz = await new AmazonStandIn({ rateScale: 100, ordersVisibilityLagMs: 0, feedQueueMs: 2_000, feedProcessingMs: 4_000 }).start();
    undo.push(() => amz.stop());
    const skus = Array.from({ length: 700 }, (_, i) => `CF-${String(i).padStart(4, '0')}`);
    for (const sku of skus) amz.setListing(sku, 0);
    const env = { ...d.env, PORT: '0', LOG_LEVEL: 'info' };
    const a = spawnService(['serve'], env);
    const base = URL_LINE.exec(await a.waitFor(URL_LINE, 60_000))![1]!;
    for (const l of LOCATIONS) expect((await apiAt(base, 'PUT', `/v1/locations/${l.id}`, { name: l.id, type: l.type, lat: l.lat, lon: l.lon, shipFromStore: true })).status).toBeLessThan(300);
    const put = await apiAt(base, 'PUT', '/v1/channels/amzc', {
      kind: 'amazon', pool: ['wh-1'], bufferUnits: 0,
      settings: amz.channelSettings(['wh-1'], { feedTurnaroundSeconds: 60 }),
    });
    expect(put.status, JSON.stringify(put.json)).toBe(201);
    expect((await apiAt(base, 'POST', '/v1/events?wait=true', { events: skus.map((sku, i) => counted(sku, 'wh-1', 10 + (i % 9))) })).status).toBe(202);

    const db = await openDatabase({ databaseUrl: d.env.DATABASE_URL! });
    undo.push(() => db.close());
    const submitted = async () => db.query<{ sku: string; submission: string }>("SELECT sku, submission FROM channel_outbox WHERE channel_id = 'amzc' AND submission IS NOT NULL");
    await waitUntil(async () => (await submitted()).length > 0, 30_000, 'a feed submitted');
    const inFeed = await submitted();
    const feedIds = [...new Set(inFeed.map((r) => r.submission))];
    expect(feedIds.every((id) => ['IN_QUEUE', 'IN_PROGRESS'].includes(amz.feedStatus(id) ?? ''))).toBe(true);
    // A newer figure for a SKU in the feed while it is pending: it must wait for the feed, then win.
    const moved = inFeed[0]!.sku;
    expect((await apiAt(base, 'POST', '/v1/events?wait=true', { events: [sold(moved, 'wh-1', 3)] })).status).toBe(202);
    expect(await a.kill('SIGKILL')).toBeNull();
    const callsAtKill = amz.calls.length;

    const b = spawnService(['serve'], env);
    await b.waitFor(/omnistock started/, 60_000);
    const want = (sku: string) => 10 + (skus.indexOf(sku) % 9) - (sku === moved ? 3 : 0);
    await waitUntil(() => skus.every((sku) => amz.listingQuantity(sku) === want(sku)), 60_000, 'every figure on Amazon after the restart');
    await waitUntil(async () => (await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM channel_outbox WHERE channel_id = 'amzc' AND (version > acked_version OR submission IS NOT NULL)")).at(0)!.n === 0, 30_000, 'the outbox settled');
    await b.kill('SIGTERM');

    const after = amz.calls.slice(callsAtKill);
    // The restarted service asked Amazon about the feed it had not settled, and read its report.
    expect(after.some((c) => c.operationId === 'getFeed' && c.status === 200)).toBe(true);
    expect(after.some((c) => c.operationId === 'getFeedDocument' && c.status === 200)).toBe(true);
    // Nothing was resubmitted: every SKU went in one feed at most, and the pending feed's SKUs
    // were not patched (the one whose figure moved gets exactly one patch, after the feed).
    const fedSkus = new Set(inFeed.map((r) => r.sku));
    const inFeeds = [...amz.feedSkus.values()].flat();
    expect(inFeeds.length).toBe(new Set(inFeeds).size);
    for (const sku of fedSkus) expect(inFeeds).toContain(sku);
    const patchedFed = amz.calls.filter((c) => c.operationId === 'patchListingsItem' && c.status === 200 && c.sku && fedSkus.has(c.sku)).map((c) => c.sku);
    expect(patchedFed).toEqual([moved]);
    expect(amz.violations).toEqual([]);
  }, 180_000);
});
