// The connector contract suite (connectors/contract-suite.ts) for the `amazon` kind against the
// SP-API stand-in, which checks every request and answer against the published Swagger models
// (rates sped up 100×, so the suite runs in seconds). A few items go by patchListingsItem; the
// 700 bulk items are more than patches could finish before a feed, so most go by a
// JSON_LISTINGS_FEED that the suite follows through getFeed and the processing report.
import { expect } from 'vitest';
import { defineConnectorContract } from '../connectors/contract-suite.js';
import { amazonKind } from '../connectors/amazon/amazon-kind.js';
import type { ChannelKindDefinition } from '../connectors/channel-connector.js';
import { AmazonStandIn } from './standins/amazon/amazon-standin.js';

defineConnectorContract({
  name: 'amazon (patchListingsItem)',
  kind: amazonKind as ChannelKindDefinition<unknown>,
  async setUp() {
    const st = await new AmazonStandIn({ rateScale: 100 }).start();
    for (const sku of ['AMZ-1', 'AMZ-2', 'AMZ-3']) st.setListing(sku, 0);
    const bulk = Array.from({ length: 700 }, (_, i) => `AMZ-B-${i}`);
    for (const sku of bulk) st.setListing(sku, 0);
    return {
      settings: st.channelSettings(['wh-1']),
      pool: ['wh-1'],
      items: [{ sku: 'AMZ-1', channelLocation: null }, { sku: 'AMZ-2', channelLocation: null }, { sku: 'AMZ-3', channelLocation: null }],
      unlisted: { sku: 'AMZ-404', channelLocation: null },
      bulkItems: bulk.map((sku) => ({ sku, channelLocation: null })),
      shown: async (i) => st.listingQuantity(i.sku) ?? null,
      setShown: async (i, q) => st.setListing(i.sku, q),
      tearDown: async () => {
        expect(st.violations).toEqual([]);
        expect(st.calls.filter((c) => c.operationId === 'createFeed' && c.status === 202).length).toBeGreaterThan(0);
        await st.stop();
      },
    };
  },
});
