// The amazon kind's `pushBy` setting against the SP-API stand-in (rates sped up 100×), through
// the publisher port as the engine drives it (pending outcomes polled, deferred ones pushed
// again): `patch` never creates a feed, even for a bulk change; `feed` sends even one SKU by feed.
import { afterEach, describe, expect, it } from 'vitest';
import { amazonKind } from '../connectors/amazon/amazon-kind.js';
import type { ChannelConnector } from '../connectors/channel-connector.js';
import { pushSettled, recordingContext } from '../connectors/contract-suite.js';
import { AmazonStandIn } from './standins/amazon/amazon-standin.js';

let amz: AmazonStandIn;
let connector: ChannelConnector | undefined;
afterEach(async () => {
  await connector?.stop?.();
  await amz?.stop();
});

async function connect(pushBy: 'patch' | 'feed') {
  amz = await new AmazonStandIn({ rateScale: 100, feedQueueMs: 100, feedProcessingMs: 200 }).start();
  const settings = amazonKind.settingsSchema.parse(amz.channelSettings(['wh-1'], { pushBy }));
  connector = amazonKind.create({ ...recordingContext('modes', settings, ['wh-1']), settings });
  return connector.publisher!;
}

const items = (skus: string[], quantity: number) => skus.map((sku, i) => ({ sku, channelLocation: null, quantity: quantity + i, expected: null, idempotencyKey: `k-${sku}-${quantity}` }));
const calls = (op: string) => amz.calls.filter((c) => c.operationId === op && c.status < 300).length;

describe('amazon pushBy', () => {
  it('patch: a bulk change goes by patchListingsItem only', async () => {
    const p = await connect('patch');
    const skus = Array.from({ length: 700 }, (_, i) => `PM-${i}`);
    for (const sku of skus) amz.setListing(sku, 0);
    const r = await pushSettled(p, items(skus, 1), AbortSignal.timeout(60_000));
    expect(r.outcomes.every((o) => o.ok === true)).toBe(true);
    expect(r.submissions.size).toBe(0);
    expect(calls('createFeed')).toBe(0);
    expect(calls('patchListingsItem')).toBe(700);
    expect(skus.every((sku, i) => amz.listingQuantity(sku) === 1 + i)).toBe(true);
    expect(amz.violations).toEqual([]);
  }, 90_000);

  it('feed: even one SKU goes by feed, settled from the processing report', async () => {
    const p = await connect('feed');
    amz.setListing('PF-1', 4);
    const r = await pushSettled(p, items(['PF-1'], 9), AbortSignal.timeout(30_000));
    expect(r.outcomes).toEqual([{ ok: true }]);
    expect(r.submissions.size).toBe(1);
    expect(calls('createFeed')).toBe(1);
    expect(calls('patchListingsItem')).toBe(0);
    expect(amz.listingQuantity('PF-1')).toBe(9);
    expect(amz.violations).toEqual([]);
  });
});
