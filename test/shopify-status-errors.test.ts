// A channel's errors outlive the process: GET /v1/channels/{id}/status lists them after a restart
// (channel_errors, src/channels/channel-errors.ts). Embedded and PostgreSQL, Shopify stand-in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../src/service/service.js';
import { api, putLocations, waitUntil } from './channels-harness.js';
import { embeddedDeployment, pgEmbeddedLogDeployment, type Deployment } from './spine/deployments.js';
import { ShopifyStandIn } from './standins/shopify/shopify-stand-in.js';

describe.each([['embedded', embeddedDeployment], ['postgres', pgEmbeddedLogDeployment]] as const)('channel status errors (%s)', (_name, makeDeployment) => {
  let d: Deployment;
  let s: RunningService;
  let shop: ShopifyStandIn;
  const start = () => startService({ config: d.config(), roles: ['api', 'reconciler'], channelDriftCron: null, announce: () => {} });
  const errors = async () => (await api(s, 'GET', '/v1/channels/errs/status')).json.errors as Array<{ message: string; at: string }>;

  beforeAll(async () => {
    d = await makeDeployment();
    s = await start();
    await putLocations(s);
    shop = await new ShopifyStandIn({ shop: 'status-errors.myshopify.com' }).start();
    const ams = shop.addLocation('Amsterdam store');
    const r = await api(s, 'PUT', '/v1/channels/errs', {
      kind: 'shopify', pool: ['ams-01'], bufferUnits: 0,
      settings: { shop: shop.shop, accessToken: shop.accessToken, apiSecret: shop.apiSecret, adminUrl: shop.adminUrl, locationMap: { [ams]: 'ams-01' } },
    });
    expect([200, 201]).toContain(r.status);
    shop.deliverWebhooksTo(`${s.url}/webhooks/shopify/errs`);
  }, 120_000);

  afterAll(async () => {
    await shop?.stop();
    await s?.stop();
    await d?.cleanup();
  });

  it('an error reported before a restart is still listed after it', async () => {
    expect(await shop.sendRawWebhook('orders/create', '{"id":1}', { hmac: 'bm90IHRoZSBzaWduYXR1cmU=' })).toBe(401);
    const before = await errors();
    expect(before[0]).toMatchObject({ message: 'webhook with a bad signature refused (401)' });
    await s.stop(); // waits for the error's write
    s = await start();
    await waitUntil(async () => (await api(s, 'GET', '/v1/channels/errs/status')).status === 200, 20_000, 'service back');
    const after = await errors();
    expect(after).toEqual(expect.arrayContaining([expect.objectContaining({ message: 'webhook with a bad signature refused (401)', at: before[0]!.at })]));
  });
});
