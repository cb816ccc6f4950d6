// The connector contract suite (connectors/contract-suite.ts) run for the `custom` kind against
// its stand-in.
import { createHmac } from 'node:crypto';
import { defineConnectorContract } from '../connectors/contract-suite.js';
import { customKind } from '../connectors/custom/custom-kind.js';
import type { ChannelKindDefinition } from '../connectors/channel-connector.js';
import { CustomChannelStandin } from './support/custom-channel-standin.js';

const SECRET = 'contract-secret-0123456789abcdef';
const sign = (raw: Buffer) => `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
const delivery = (body: string, id: string) => {
  const raw = Buffer.from(body);
  return { raw, headers: { 'x-signature': sign(raw), 'x-delivery-id': id, 'content-type': 'application/json' } };
};

defineConnectorContract({
  name: 'custom (per-location)',
  kind: customKind as ChannelKindDefinition<unknown>,
  async setUp() {
    const st = new CustomChannelStandin({ secret: SECRET, listed: new Set(['K-1', 'K-2', 'K-3']) });
    await st.start();
    return {
      settings: { endpoint: st.url, secret: SECRET, locationMap: { A: 'ams-01', U: 'utr-02' }, maxItemsPerCall: 50 },
      pool: ['ams-01', 'utr-02'],
      items: [{ sku: 'K-1', channelLocation: 'A' }, { sku: 'K-2', channelLocation: 'A' }, { sku: 'K-3', channelLocation: 'U' }],
      unlisted: { sku: 'K-404', channelLocation: 'A' },
      shown: async (i) => st.show(i.sku, i.channelLocation) ?? null,
      setShown: async (i, q) => st.setShown(i.sku, i.channelLocation, q),
      webhooks: {
        valid: () => delivery(JSON.stringify({ type: 'inventory.changed', id: 'x-1', sku: 'K-1', location: 'A', available: 3, occurredAt: new Date().toISOString() }), 'd-1'),
        unknownTopic: () => delivery(JSON.stringify({ type: 'collections/update', id: 5 }), 'd-2'),
        malformed: () => delivery(JSON.stringify({ type: 'order.placed', order: { orderRef: 7 } }), 'd-3'),
      },
      tearDown: () => st.stop(),
    };
  },
});
