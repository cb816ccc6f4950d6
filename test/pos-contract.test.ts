// The connector contract suite (connectors/contract-suite.ts) for the `pos` kind. A till is
// its own "stand-in": the deliveries are what a till sends, signed as contract §8 says.
import { defineConnectorContract } from '../connectors/contract-suite.js';
import { posKind, signPosBody } from '../connectors/pos/pos-kind.js';
import type { ChannelKindDefinition } from '../connectors/channel-connector.js';

const SECRET = 'contract-pos-secret-0123456789ab';
const delivery = (body: string) => {
  const raw = Buffer.from(body);
  return { raw, headers: { 'x-signature': signPosBody(SECRET, raw), 'content-type': 'application/json' } };
};
const notPushed = async (): Promise<never> => { throw new Error('a pos channel shows no figures'); };

defineConnectorContract({
  name: 'pos',
  inboundOnly: true,
  kind: posKind as ChannelKindDefinition<unknown>,
  async setUp() {
    return {
      settings: { secret: SECRET, locationIds: ['ams-01'] },
      pool: ['ams-01'],
      items: [],
      unlisted: { sku: 'none', channelLocation: null },
      shown: notPushed,
      setShown: notPushed,
      webhooks: {
        valid: () => delivery(JSON.stringify({ events: [{ eventId: 'pos-c-1', type: 'stock.sold', sku: 'A-1', locationId: 'ams-01', quantity: 1, occurredAt: '2026-12-05T09:00:00Z', source: 'pos-ams-01' }] })),
        malformed: () => delivery(JSON.stringify({ events: 'sale' })),
      },
      tearDown: async () => {},
    };
  },
});
