// SIGKILL of `omnistock serve` (PostgreSQL + Kafka) with Shopify pushes pending and one call in
// flight (the stand-in hangs): after a restart every figure reaches the Shopify stand-in.
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/open-database.js';
import { pgKafkaDeployment } from './spine/deployments.js';
import { call, crashCleanups, pendingPushes, putLocationsAt, serve } from './support/crash-harness.js';
import { counted, sold, waitUntil } from './channels-harness.js';
import { ShopifyStandIn } from './standins/shopify/shopify-stand-in.js';

const cleanups = crashCleanups();

describe('Shopify channel under a crash', () => {
  it('SIGKILL with pushes pending and a call in flight loses none', async () => {
    const d = await pgKafkaDeployment();
    cleanups.push(d.cleanup);
    const shop = await new ShopifyStandIn({ shop: 'crash.myshopify.com' }).start();
    cleanups.push(() => shop.stop());
    const wh = shop.addLocation('Warehouse');
    const skus = Array.from({ length: 20 }, (_, i) => `SC-${i}`);
    for (const sku of skus) shop.addProduct(sku, { [wh]: 0 });
    const env = { ...d.env, PORT: '0', LOG_LEVEL: 'info' };
    const { proc: a, base } = await serve(env);
    await putLocationsAt(base);
    shop.setHang(true); // the first calls never answer: their rows stay leased when the process dies
    expect((await call(base, 'PUT', '/v1/channels/shop', {
      kind: 'shopify', pool: ['wh-1'], bufferUnits: 0,
      settings: { shop: shop.shop, accessToken: shop.accessToken, apiSecret: shop.apiSecret, adminUrl: shop.adminUrl, locationMap: { [wh]: 'wh-1' } },
    })).status).toBe(201);
    expect((await call(base, 'POST', '/v1/events?wait=true', { events: skus.map((sku, i) => counted(sku, 'wh-1', 10 + i)) })).status).toBe(202);
    expect((await call(base, 'POST', '/v1/events?wait=true', { events: [sold('SC-0', 'wh-1', 4), sold('SC-19', 'wh-1', 1)] })).status).toBe(202);
    const db = await openDatabase({ databaseUrl: d.env.DATABASE_URL! });
    cleanups.push(() => db.close());
    const pending = () => pendingPushes(db, 'shop');
    await waitUntil(async () => (await pending()) === 20 && shop.requests > 0, 30_000, '20 pending rows and a call in flight');
    expect(await a.kill('SIGKILL')).toBeNull();
    expect(skus.every((sku) => shop.quantity(sku, wh) === 0)).toBe(true);

    shop.setHang(false);
    const { proc: b } = await serve(env);
    const want = (i: number) => 10 + i - (i === 0 ? 4 : i === 19 ? 1 : 0);
    await waitUntil(() => skus.every((sku, i) => shop.quantity(sku, wh) === want(i)), 60_000, 'every figure after the restart');
    await waitUntil(async () => (await pending()) === 0, 20_000, 'nothing pending');
    await b.kill('SIGTERM');
  }, 180_000);
});
