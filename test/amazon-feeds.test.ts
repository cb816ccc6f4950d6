// Amazon bulk pushes on the channel engine (PostgreSQL + the mock Kafka broker) against the SP-API
// stand-in (rates sped up 100×; a feed takes about a second): a bulk change goes by
// JSON_LISTINGS_FEED with the most urgent SKUs patched meanwhile, through a 429 storm on every
// push operation; then a feed whose report has item errors: the retryable ones are retried until
// they land, the others are parked with their reason, shown in the status and the quarantine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../src/service/service.js';
import type { Deployment } from './spine/deployments.js';
import { pgKafkaDeployment } from './spine/deployments.js';
import { amazonChannel, api, counted, postEvents, putLocations, sold, startWith, waitUntil } from './channels-harness.js';
import { AmazonStandIn } from './standins/amazon/amazon-standin.js';

const N = 800;
const skus = Array.from({ length: N }, (_, i) => `FD-${String(i).padStart(4, '0')}`);
const first = (i: number) => 5 + (i % 17);

let d: Deployment;
let s: RunningService;
let amz: AmazonStandIn;
const status = async () => (await api(s, 'GET', '/v1/channels/amzf/status')).json;
const ok = (op: string, code: number) => amz.calls.filter((c) => c.operationId === op && c.status === code).length;

beforeAll(async () => {
  d = await pgKafkaDeployment();
  s = await startWith(d);
  await putLocations(s);
  amz = await new AmazonStandIn({ rateScale: 100, ordersVisibilityLagMs: 0, feedQueueMs: 300, feedProcessingMs: 700 }).start();
  for (const sku of skus) amz.setListing(sku, 0);
  const put = await api(s, 'PUT', '/v1/channels/amzf', amazonChannel(amz, ['wh-1']));
  expect(put.status, JSON.stringify(put.json)).toBe(201);
}, 120_000);

afterAll(async () => {
  await s?.stop();
  await amz?.stop();
  await d?.cleanup();
});

describe('amazon bulk pushes', () => {
  it('a bulk change converges by feed and patches through a 429 storm on every push operation', async () => {
    amz.storm({ operations: ['patchListingsItem', 'getListingsItem', 'createFeedDocument', 'createFeed', 'getFeed', 'getFeedDocument'], count: 40, forMs: 30_000 });
    await postEvents(s, skus.map((sku, i) => counted(sku, 'wh-1', first(i))));
    await waitUntil(() => skus.every((sku, i) => amz.listingQuantity(sku) === first(i)), 60_000, 'every listing shows its figure');
    await waitUntil(async () => (await status()).pendingPushes === 0, 20_000, 'the outbox settled');
    expect(amz.calls.filter((c) => c.status === 429).length).toBeGreaterThanOrEqual(40);
    expect(ok('createFeed', 202)).toBeGreaterThanOrEqual(1);
    expect(ok('patchListingsItem', 200)).toBeGreaterThanOrEqual(1);
    // Every SKU was applied by a feed or a patch, none lost: fed + patched covers them all.
    const fed = amz.calls.filter((c) => c.operationId === 'createFeed' && c.status === 202).reduce((n, c) => n + (c.items ?? 0), 0);
    expect(fed + ok('patchListingsItem', 200)).toBeGreaterThanOrEqual(N);
    expect((await status()).parkedPushes).toBe(0);
    expect(amz.violations).toEqual([]);
  }, 90_000);

  it('a feed with item errors converges: retryable ones are retried, the others parked with their reason and shown', async () => {
    const retryable = skus.slice(100, 110);
    const refused = skus.slice(200, 205);
    for (const sku of retryable) {
      amz.injectFeedItemError(sku, { code: '4000000', message: 'An internal error has occurred. Please try again.' });
      amz.injectPatchError(sku, { code: '4000000', message: 'An internal error has occurred. Please try again.' });
    }
    for (const sku of refused) {
      amz.injectFeedItemError(sku, { code: '8541', message: 'The SKU data provided conflicts with the Amazon catalog.' }, 10);
      amz.injectPatchError(sku, { code: '8541', message: 'The SKU data provided conflicts with the Amazon catalog.' }, 10);
    }
    // Every SKU by feed: with the default (auto) a busy machine can dribble the change in so
    // slowly that the planner patches it all, and no report would carry the errors under test.
    const channel = amazonChannel(amz, ['wh-1']);
    const put = await api(s, 'PUT', '/v1/channels/amzf', { ...channel, settings: { ...channel.settings, pushBy: 'feed' } });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    const feedsBefore = ok('createFeed', 202);
    await postEvents(s, skus.map((sku) => sold(sku, 'wh-1', 1)));
    const want = (i: number) => first(i) - 1;
    const settled = (i: number) => refused.includes(skus[i]!) || amz.listingQuantity(skus[i]!) === want(i);
    await waitUntil(() => skus.every((_, i) => settled(i)), 60_000, 'every listing but the refused ones shows its new figure');
    await waitUntil(async () => (await status()).pendingPushes === 0 && (await status()).parkedPushes === refused.length, 30_000, 'settled, the refused ones parked');
    expect(ok('createFeed', 202)).toBeGreaterThan(feedsBefore);
    // The processing reports carried the item errors.
    expect(amz.reportedIssues.filter((x) => x.code === '4000000' || x.code === '8541').length).toBeGreaterThan(0);
    // The refused SKUs keep what Amazon had; they are in the status and the quarantine with the reason.
    for (const sku of refused) expect(amz.listingQuantity(sku)).toBe(first(skus.indexOf(sku)));
    const st = await status();
    for (const sku of refused) expect(st.errors).toContainEqual(expect.objectContaining({ sku, retryable: false, message: expect.stringContaining('8541') }));
    expect(st.errors).toContainEqual(expect.objectContaining({ sku: retryable[0], retryable: true, message: expect.stringContaining('4000000') }));
    const q = (await api(s, 'GET', '/v1/channels/amzf/quarantine?limit=1000')).json.items as Array<{ channelRef: string; reason: string }>;
    for (const sku of refused) expect(q).toContainEqual(expect.objectContaining({ channelRef: sku, reason: expect.stringContaining('8541') }));
    for (const sku of retryable) expect(q.map((x) => x.channelRef)).not.toContain(sku);
    expect(amz.violations).toEqual([]);
  }, 120_000);
});
