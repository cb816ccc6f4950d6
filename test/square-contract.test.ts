// The connector contract suite (connectors/contract-suite.ts) for the `square` kind against the
// Square stand-in, which checks every request and answer against Square's api.json.
import { expect } from 'vitest';
import { defineConnectorContract } from '../connectors/contract-suite.js';
import { squareKind } from '../connectors/square/square-kind.js';
import type { ChannelKindDefinition } from '../connectors/channel-connector.js';
import { SquareStandIn } from './standins/square/square-standin.js';

const NOTIFY = 'https://omnistock.example/webhooks/square/sq-contract';

defineConnectorContract({
  name: 'square',
  kind: squareKind as ChannelKindDefinition<unknown>,
  async setUp() {
    const st = await new SquareStandIn().start();
    for (const l of ['LOC-AMS', 'LOC-UTR']) st.addLocation(l);
    st.addVariation('VAR-1', 'SQ-1');
    st.addVariation('VAR-2', 'SQ-2');
    st.addVariation('VAR-3', 'SQ-3');
    const ids: Record<string, string> = { 'SQ-1': 'VAR-1', 'SQ-2': 'VAR-2', 'SQ-3': 'VAR-3' };
    const signed = (body: string) => ({ raw: Buffer.from(body), headers: { 'x-square-hmacsha256-signature': st.sign(body, NOTIFY), 'content-type': 'application/json' } });
    const countEvent = (type: string, object: unknown) => JSON.stringify({ merchant_id: st.merchantId, type, event_id: `ev-${type}-${Date.now()}`, created_at: new Date().toISOString(), data: { type: 'inventory_counts', id: 'x', object } });
    return {
      settings: { accessToken: st.accessToken, signatureKey: st.signatureKey, notificationUrl: NOTIFY, locationMap: { 'LOC-AMS': 'ams-01', 'LOC-UTR': 'utr-02' }, apiUrl: st.url },
      pool: ['ams-01', 'utr-02'],
      items: [{ sku: 'SQ-1', channelLocation: 'LOC-AMS' }, { sku: 'SQ-2', channelLocation: 'LOC-AMS' }, { sku: 'SQ-3', channelLocation: 'LOC-UTR' }],
      unlisted: { sku: 'SQ-404', channelLocation: 'LOC-AMS' },
      shown: async (i) => (ids[i.sku] ? Number(st.quantity(ids[i.sku]!, i.channelLocation!)) : null),
      setShown: async (i, q) => st.count(ids[i.sku]!, i.channelLocation!, String(q)),
      webhooks: {
        valid: () => signed(countEvent('inventory.count.updated', { inventory_counts: [{ catalog_object_id: 'VAR-1', catalog_object_type: 'ITEM_VARIATION', state: 'IN_STOCK', location_id: 'LOC-AMS', quantity: '3', calculated_at: new Date().toISOString() }] })),
        unknownTopic: () => signed(countEvent('catalog.version.updated', {})),
        malformed: () => signed(countEvent('inventory.count.updated', { inventory_counts: 'three' })),
      },
      tearDown: async () => {
        expect(st.violations).toEqual([]);
        await st.stop();
      },
    };
  },
});
