// The `amazon` kind on the channel engine against the SP-API stand-in (rates sped up): a POS
// sale reaches the listing by patchListingsItem; a merchant-fulfilled order polled by sync holds
// stock over fulfilmentLocationIds (routed without a destination), a cancellation releases it,
// a shipment fulfils it, and an AFN order touches nothing. Run by amazon-channel-*.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../src/service/service.js';
import type { Deployment } from './spine/deployments.js';
import { api, counted, postEvents, putLocations, sold, startWith, waitUntil } from './channels-harness.js';
import { AmazonStandIn } from './standins/amazon/amazon-standin.js';

export function defineAmazonChannelSuite(makeDeployment: () => Promise<Deployment>) {
  let d: Deployment;
  let s: RunningService;
  let amz: AmazonStandIn;
  const at = async (sku: string, loc: string) => ((await api(s, 'GET', `/v1/availability/${sku}`)).json?.locations ?? []).find((l: { locationId: string }) => l.locationId === loc) as { onHand: number; reserved: number } | undefined;
  const sync = async () => expect((await api(s, 'POST', '/v1/channels/amz/sync')).status).toBe(202);

  beforeAll(async () => {
    d = await makeDeployment();
    s = await startWith(d);
    await putLocations(s);
    amz = await new AmazonStandIn({ rateScale: 100, ordersVisibilityLagMs: 0 }).start();
    for (const sku of ['AZ-1', 'AZ-2']) amz.setListing(sku, 0);
    await postEvents(s, [counted('AZ-1', 'wh-1', 10), counted('AZ-1', 'utr-02', 3), counted('AZ-2', 'wh-1', 4)]);
    const put = await api(s, 'PUT', '/v1/channels/amz', {
      kind: 'amazon', pool: ['wh-1', 'utr-02'], bufferUnits: 1,
      settings: {
        sellerId: amz.sellerId, marketplaceIds: [amz.marketplaceId], clientId: amz.clientId, clientSecret: amz.clientSecret, refreshToken: amz.refreshToken,
        fulfilmentLocationIds: ['wh-1', 'utr-02'], endpoint: amz.url, lwaUrl: amz.lwaUrl, rateScale: 100,
      },
    });
    expect(put.status, JSON.stringify(put.json)).toBe(201);
    const shown = await api(s, 'GET', '/v1/channels/amz');
    expect(JSON.stringify(shown.json)).not.toContain(amz.clientSecret);
  }, 120_000);

  afterAll(async () => {
    await s?.stop();
    await amz?.stop();
    await d?.cleanup();
  });

  describe('amazon channel', () => {
    it('publishes the pool minus the buffer, and a POS sale reaches the listing', async () => {
      await waitUntil(() => amz.listingQuantity('AZ-1') === 12 && amz.listingQuantity('AZ-2') === 3, 20_000, 'initial listing quantities');
      await postEvents(s, [sold('AZ-1', 'utr-02', 2)], false);
      await waitUntil(() => amz.listingQuantity('AZ-1') === 10, 20_000, 'the sale reaches Amazon');
      expect(amz.violations).toEqual([]);
    });

    it('an MFN order holds stock when polled, cancel releases it, ship fulfils it; AFN touches nothing', async () => {
      const o1 = amz.createOrder({ items: [{ sku: 'AZ-2', quantity: 2 }] });
      const o2 = amz.createOrder({ items: [{ sku: 'AZ-2', quantity: 1 }] });
      amz.createOrder({ items: [{ sku: 'AZ-2', quantity: 1 }], fulfillmentChannel: 'AFN' });
      await new Promise((r) => setTimeout(r, 20));
      await sync();
      await waitUntil(async () => (await at('AZ-2', 'wh-1'))?.reserved === 3, 20_000, 'orders reserved');
      amz.cancelOrder(o2.AmazonOrderId);
      amz.shipOrder(o1.AmazonOrderId);
      await new Promise((r) => setTimeout(r, 20));
      await sync();
      await waitUntil(async () => {
        const a = await at('AZ-2', 'wh-1');
        return a?.reserved === 0 && a.onHand === 2;
      }, 20_000, 'cancel released, shipment fulfilled');
      // A later poll over the same orders changes nothing.
      await sync();
      await new Promise((r) => setTimeout(r, 500));
      expect(await at('AZ-2', 'wh-1')).toMatchObject({ reserved: 0, onHand: 2 });
      await waitUntil(() => amz.listingQuantity('AZ-2') === 1, 20_000, 'the listing follows');
      expect(amz.violations).toEqual([]);
    });
  });
}
