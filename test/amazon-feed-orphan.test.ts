// The crash window of an Amazon feed (PostgreSQL + the mock Kafka broker, the service as a child
// process killed with SIGKILL, the SP-API stand-in in this process): the stand-in creates the
// feed and holds createFeed's answer until the service is dead, so the feed exists on Amazon
// but its id never reached the outbox (an orphan, still queued). The rows it carried kept their
// push intent; the restarted service finds the orphan by getFeeds, waits until it is done, and
// only then pushes those rows again. A newer figure pushed after the restart is never
// overwritten by the orphan's older one, and every figure reaches Amazon.
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/open-database.js';
import { pgKafkaDeployment } from './spine/deployments.js';
import { killAllServices, spawnService } from './support/service-process.js';
import { apiAt, counted, LOCATIONS, sold, waitUntil } from './channels-harness.js';
import { AmazonStandIn } from './standins/amazon/amazon-standin.js';

const undo: Array<() => Promise<void>> = [];
afterAll(async () => {
  await killAllServices();
  while (undo.length > 0) await undo.pop()!().catch(() => {});
});

const URL_LINE = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/;
/** The orphan stays queued long after the restarted service could push again (its leases lapse after 15 s). */
const ORPHAN_QUEUE_MS = 28_000;

describe('amazon feed orphaned by a crash', () => {
  it('SIGKILL after createFeed answered but before the feed id was stored: the orphan is awaited, never overtakes a newer figure', async () => {
    const d = await pgKafkaDeployment();
    undo.push(d.cleanup);
    const amz = await new AmazonStandIn({ rateScale: 100, ordersVisibilityLagMs: 0, feedQueueMs: ORPHAN_QUEUE_MS, feedProcessingMs: 1_000 }).start();
    undo.push(() => amz.stop());
    const skus = Array.from({ length: 700 }, (_, i) => `OF-${String(i).padStart(4, '0')}`);
    for (const sku of skus) amz.setListing(sku, 0);

    // createFeed creates the feed, then answers only after the service is dead.
    let release!: () => void;
    const dead = new Promise<void>((resolve) => { release = resolve; });
    const orphanCreated = new Promise<string>((resolve) => {
      amz.createFeedHold = async (feedId) => {
        amz.createFeedHold = null;
        resolve(feedId);
        await dead;
      };
    });

    const env = { ...d.env, PORT: '0', LOG_LEVEL: 'info' };
    const a = spawnService(['serve'], env);
    const baseA = URL_LINE.exec(await a.waitFor(URL_LINE, 60_000))![1]!;
    for (const l of LOCATIONS) expect((await apiAt(baseA, 'PUT', `/v1/locations/${l.id}`, { name: l.id, type: l.type, lat: l.lat, lon: l.lon, shipFromStore: true })).status).toBeLessThan(300);
    const put = await apiAt(baseA, 'PUT', '/v1/channels/amzo', { kind: 'amazon', pool: ['wh-1'], bufferUnits: 0, settings: amz.channelSettings(['wh-1'], { feedTurnaroundSeconds: 60 }) });
    expect(put.status, JSON.stringify(put.json)).toBe(201);
    expect((await apiAt(baseA, 'POST', '/v1/events?wait=true', { events: skus.map((sku, i) => counted(sku, 'wh-1', 10 + (i % 9))) })).status).toBe(202);

    const orphan = await orphanCreated;
    expect(await a.kill('SIGKILL')).toBeNull();
    release();
    const callsAtKill = amz.calls.length;
    expect(amz.feedStatus(orphan)).toBe('IN_QUEUE');
    // Feeds the restarted service creates are quick: without the wait they would land before the orphan.
    amz.setFeedTiming(500, 500);

    const db = await openDatabase({ databaseUrl: d.env.DATABASE_URL! });
    undo.push(() => db.close());
    const state = async () => (await db.query<{ intent: number; submitted: number }>(
      "SELECT count(*) FILTER (WHERE push_intent_at IS NOT NULL)::int AS intent, count(*) FILTER (WHERE submission IS NOT NULL)::int AS submitted FROM channel_outbox WHERE channel_id = 'amzo'")).at(0)!;
    // The feed id never reached the outbox; the rows say a push was under way.
    const atKill = await state();
    expect(atKill.submitted).toBe(0);
    expect(atKill.intent).toBeGreaterThan(0);

    const b = spawnService(['serve'], env);
    const baseB = URL_LINE.exec(await b.waitFor(URL_LINE, 60_000))![1]!;
    await b.waitFor(/omnistock started/, 60_000);
    // A newer figure for a SKU the orphan carries, while the orphan is still queued.
    const moved = amz.feedInputSkus(orphan)[0]!;
    expect((await apiAt(baseB, 'POST', '/v1/events?wait=true', { events: [sold(moved, 'wh-1', 3)] })).status).toBe(202);
    expect(amz.feedStatus(orphan)).toBe('IN_QUEUE');

    const want = (sku: string) => 10 + (skus.indexOf(sku) % 9) - (sku === moved ? 3 : 0);
    await waitUntil(() => amz.feedStatus(orphan) === 'DONE', 60_000, 'the orphan feed processed');
    expect(amz.feedSkus.get(orphan)).toContain(moved);
    await waitUntil(() => skus.every((sku) => amz.listingQuantity(sku) === want(sku)), 60_000, 'every figure on Amazon after the orphan');
    await waitUntil(async () => (await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM channel_outbox WHERE channel_id = 'amzo' AND (version > acked_version OR submission IS NOT NULL OR push_intent_at IS NOT NULL)")).at(0)!.n === 0, 30_000, 'the outbox settled');
    await b.kill('SIGTERM');

    // The restarted service looked for unknown feeds (getFeeds) before pushing those rows again.
    const after = amz.calls.slice(callsAtKill);
    expect(after.some((c) => c.operationId === 'getFeeds' && c.status === 200)).toBe(true);
    // The orphan's figures landed first; after them every SKU it carried got our figure again and
    // kept it: no write after the orphan's set an older figure back.
    const writes = amz.listingWrites;
    for (const sku of skus) {
      const mine = writes.filter((w) => w.sku === sku);
      expect(mine.at(-1)?.quantity, sku).toBe(want(sku));
      const orphanAt = mine.findIndex((w) => w.via === orphan);
      if (orphanAt >= 0) expect(mine.slice(orphanAt + 1).every((w) => w.quantity === want(sku)), `${sku}: ${JSON.stringify(mine)}`).toBe(true);
    }
    const movedWrites = writes.filter((w) => w.sku === moved);
    expect(movedWrites.map((w) => w.via)[0]).toBe(orphan);
    expect(movedWrites[0]!.quantity).toBe(want(moved) + 3);
    expect(movedWrites.at(-1)!.quantity).toBe(want(moved));
    expect(amz.violations).toEqual([]);
  }, 180_000);
});
