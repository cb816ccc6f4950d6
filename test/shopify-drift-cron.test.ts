// CHANNEL_DRIFT_CRON: the drift job's schedule comes from the environment (parsed once in
// src/config.ts). Here every second, on the embedded deployment, with a Shopify channel on the
// stand-in: drift injected into Shopify heals with no POST /sync and no direct call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startService, type RunningService } from '../src/service/service.js';
import { api, counted, postEvents, putLocations, waitUntil } from './channels-harness.js';
import { embeddedDeployment, type Deployment } from './spine/deployments.js';
import { ShopifyStandIn } from './standins/shopify/shopify-stand-in.js';

describe('CHANNEL_DRIFT_CRON', () => {
  it('defaults to every 5 minutes, takes "off", refuses a bad expression naming the variable', () => {
    expect(loadConfig({}).channelDriftCron).toBe('*/5 * * * *');
    expect(loadConfig({ CHANNEL_DRIFT_CRON: '*/1 * * * *' }).channelDriftCron).toBe('*/1 * * * *');
    expect(loadConfig({ CHANNEL_DRIFT_CRON: 'off' }).channelDriftCron).toBeNull();
    expect(() => loadConfig({ CHANNEL_DRIFT_CRON: 'every minute' })).toThrow(/CHANNEL_DRIFT_CRON: must be a cron expression/);
  });

  describe('scheduled from the environment', () => {
    let d: Deployment;
    let s: RunningService;
    let shop: ShopifyStandIn;
    let ams: string;

    beforeAll(async () => {
      d = await embeddedDeployment();
      s = await startService({ config: d.config({ CHANNEL_DRIFT_CRON: '* * * * * *' }), roles: ['api', 'reconciler'], announce: () => {} });
      await putLocations(s);
      shop = await new ShopifyStandIn({ shop: 'drift-cron.myshopify.com' }).start();
      ams = shop.addLocation('Amsterdam store');
      shop.addProduct('DC-1', { [ams]: 0 });
    }, 120_000);

    afterAll(async () => {
      await shop?.stop();
      await s?.stop();
      await d?.cleanup();
    });

    it('drift injected into Shopify is healed by the scheduled job alone', async () => {
      await postEvents(s, [counted('DC-1', 'ams-01', 7)]);
      const r = await api(s, 'PUT', '/v1/channels/dc', {
        kind: 'shopify', pool: ['ams-01'], bufferUnits: 0,
        settings: { shop: shop.shop, accessToken: shop.accessToken, apiSecret: shop.apiSecret, adminUrl: shop.adminUrl, locationMap: { [ams]: 'ams-01' } },
      });
      expect([200, 201]).toContain(r.status);
      await waitUntil(() => shop.quantity('DC-1', ams) === 7, 20_000, 'first push');
      await waitUntil(async () => (await api(s, 'GET', '/v1/channels/dc/status')).json.pendingPushes === 0, 20_000, 'settled');
      shop.injectDrift('DC-1', ams, 3); // no webhook: only a read-back can see it
      await waitUntil(() => shop.quantity('DC-1', ams) === 7, 20_000, 'drift healed by the scheduled job');
      const st = (await api(s, 'GET', '/v1/channels/dc/status')).json;
      expect(st.drift.checkedAt).not.toBeNull();
      expect((await api(s, 'GET', '/v1/availability/DC-1')).json.network.onHand).toBe(7);
    });
  });
});
