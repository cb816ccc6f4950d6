// Shopify end to end on one deployment: the service with a `shopify` channel pointed at the
// Shopify stand-in (test/standins/shopify), webhooks signed and delivered over HTTP to
// POST /webhooks/shopify/{id}, pushes going out through the outbox. Run by
// shopify-e2e-*.test.ts on PostgreSQL + Kafka and on the embedded default.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../src/service/service.js';
import type { Deployment } from './spine/deployments.js';
import { api, counted, postEvents, putLocations, sold, startWith, waitUntil } from './channels-harness.js';
import { signWebhook } from './standins/shopify/webhook-sender.js';
import { ShopifyStandIn } from './standins/shopify/shopify-stand-in.js';
import { orderPayload, refundPayload } from './standins/shopify/webhook-payloads.js';

const CH = 'shop';
type Avail = { network: { onHand: number; reserved: number; atp: number }; locations: Array<{ locationId: string; onHand: number; reserved: number; atp: number }> };

export function defineShopifyE2ESuite(makeDeployment: () => Promise<Deployment>) {
  let d: Deployment;
  let s: RunningService;
  let shop: ShopifyStandIn;
  let ams: string;
  let utr: string;
  let wh: string;

  const stock = async (sku: string) => (await api(s, 'GET', `/v1/availability/${sku}`)).json as Avail;
  const at = (a: Avail, loc: string) => a.locations.find((l) => l.locationId === loc) ?? { onHand: 0, reserved: 0, atp: 0 };
  const shows = (sku: string, loc: string) => shop.quantity(sku, loc);
  const status = async () => (await api(s, 'GET', `/v1/channels/${CH}/status`)).json;
  /** waitUntil, and on a timeout the channel's status and the stand-in's last requests in the error. */
  const until = async (check: () => Promise<boolean> | boolean, ms: number, what: string) => {
    try {
      await waitUntil(check, ms, what);
    } catch (e) {
      const st = await status();
      const last = shop.graphql.log.slice(-3).map((l) => ({ q: l.query.slice(0, 60), throttled: l.throttled, errors: l.errors }));
      throw new Error(`${(e as Error).message}; status ${JSON.stringify({ ...st, errors: st.errors?.slice(-3) })}; last requests ${JSON.stringify(last)}`);
    }
  };
  const settled = () => until(async () => (await status()).pendingPushes === 0, 30_000, 'outbox settled');
  const metricsText = async () => (await fetch(`${s.url}/metrics`)).text();
  const webhookCount = async (outcome: string) => {
    const m = new RegExp(`omnistock_channel_webhooks_total\\{channel="${CH}",outcome="${outcome}"\\} (\\d+)`).exec(await metricsText());
    return Number(m?.[1] ?? 0);
  };
  const connect = async (limits: { restoreRate?: number; bucketSize?: number } = {}) => {
    shop.deliverWebhooksTo(`${s.url}/webhooks/shopify/${CH}`);
    const r = await api(s, 'PUT', `/v1/channels/${CH}`, {
      kind: 'shopify', pool: ['ams-01', 'utr-02', 'wh-1'], bufferUnits: 0,
      settings: { shop: shop.shop, accessToken: shop.accessToken, apiSecret: shop.apiSecret, adminUrl: shop.adminUrl, locationMap: { [ams]: 'ams-01', [utr]: 'utr-02', [wh]: 'wh-1' }, ...limits },
    });
    expect([200, 201], JSON.stringify(r.json)).toContain(r.status);
  };
  /** New SKUs: listed on Shopify at 0, counted in our ledger; waits until Shopify shows our figures. */
  const seed = async (skus: Record<string, { ams?: number; utr?: number; wh?: number }>) => {
    for (const sku of Object.keys(skus)) shop.addProduct(sku, { [ams]: 0, [utr]: 0, [wh]: 0 });
    const events = Object.entries(skus).flatMap(([sku, q]) => [counted(sku, 'ams-01', q.ams ?? 0), counted(sku, 'utr-02', q.utr ?? 0), counted(sku, 'wh-1', q.wh ?? 0)]);
    for (let i = 0; i < events.length; i += 900) await postEvents(s, events.slice(i, i + 900));
    await until(() => Object.entries(skus).every(([sku, q]) => shows(sku, ams) === (q.ams ?? 0) && shows(sku, utr) === (q.utr ?? 0) && shows(sku, wh) === (q.wh ?? 0)), 60_000, 'seeded figures on Shopify');
    await settled();
  };
  const flush = () => shop.webhooks.flush();

  beforeAll(async () => {
    d = await makeDeployment();
    s = await startWith(d);
    await putLocations(s);
    shop = await new ShopifyStandIn({ shop: 'omnistock-e2e.myshopify.com' }).start();
    ams = shop.addLocation('Amsterdam store');
    utr = shop.addLocation('Utrecht store');
    wh = shop.addLocation('Rotterdam warehouse');
    await connect();
  }, 120_000);

  afterAll(async () => {
    await shop?.stop();
    await s?.stop();
    await d?.cleanup();
  });

  describe('Shopify end to end', () => {
    it('an order webhook reserves at the store routing chooses; a POS sale there reaches Shopify; cancelling restores', async () => {
      await seed({ 'SH-1': { ams: 5, utr: 5 } });
      const order = shop.placeOrder({ lines: [{ sku: 'SH-1', quantity: 2 }], locationId: utr, shippingAddress: { latitude: 52.1, longitude: 5.1 } });
      await flush();
      let a = await stock('SH-1');
      expect(at(a, 'utr-02').reserved).toBe(2); // Utrecht is nearest to the customer
      expect(a.network.reserved).toBe(2);
      await waitUntil(() => shows('SH-1', utr) === 3, 20_000, 'Utrecht shows 3');
      // Shopify commits a second order in Amsterdam, where it has most; our routing holds it in
      // Utrecht (nearest); Amsterdam's figure on Shopify is put back to what we offer there.
      const second = shop.placeOrder({ lines: [{ sku: 'SH-1', quantity: 1 }], locationId: ams, shippingAddress: { latitude: 52.1, longitude: 5.1 } });
      await flush();
      expect(at(await stock('SH-1'), 'utr-02').reserved).toBe(3);
      await waitUntil(() => shows('SH-1', utr) === 2 && shows('SH-1', ams) === 5, 20_000, 'Shopify re-aligned with our routing');
      shop.cancelOrder(second);
      await flush();
      await waitUntil(() => shows('SH-1', utr) === 3 && shows('SH-1', ams) === 5, 20_000, 'and after its cancellation');
      await postEvents(s, [sold('SH-1', 'utr-02', 1)], false);
      await waitUntil(() => shows('SH-1', utr) === 2, 20_000, 'the POS sale reaches Shopify');
      expect(shows('SH-1', ams)).toBe(5);
      shop.cancelOrder(order);
      await flush();
      a = await stock('SH-1');
      expect(a.network.reserved).toBe(0);
      await waitUntil(() => shows('SH-1', utr) === 4, 20_000, 'cancellation restores Shopify');
      await settled();
      // Neither Shopify's own decrement nor its restock nor our pushes became adjustments.
      a = await stock('SH-1');
      expect(at(a, 'utr-02')).toMatchObject({ onHand: 4, reserved: 0, atp: 4 });
      expect(at(a, 'ams-01')).toMatchObject({ onHand: 5, atp: 5 });
    });

    it('duplicate and out-of-order webhooks: an order delivered twice holds once; a cancellation before its order leaves nothing reserved', async () => {
      await seed({ 'SH-2': { ams: 6 } });
      const dupBefore = await webhookCount('duplicate');
      shop.webhooks.duplicateNext(1);
      const o1 = shop.placeOrder({ lines: [{ sku: 'SH-2', quantity: 2 }], locationId: ams, pickup: true });
      await flush();
      expect((await stock('SH-2')).network.reserved).toBe(2);
      expect(await webhookCount('duplicate')).toBe(dupBefore + 1);
      shop.webhooks.hold();
      const o2 = shop.placeOrder({ lines: [{ sku: 'SH-2', quantity: 3 }], locationId: ams });
      shop.cancelOrder(o2);
      shop.webhooks.release('reversed');
      await flush();
      expect((await stock('SH-2')).network.reserved).toBe(2);
      shop.cancelOrder(o1);
      await flush();
      expect((await stock('SH-2')).network).toMatchObject({ onHand: 6, reserved: 0 });
      await waitUntil(() => shows('SH-2', ams) === 6, 20_000, 'Shopify back at 6');
    });

    it('fulfilment ships the reserved units; a refund with restock puts them back, once', async () => {
      await seed({ 'SH-9': { utr: 6 } });
      const o = shop.placeOrder({ lines: [{ sku: 'SH-9', quantity: 2 }], locationId: utr, pickup: true });
      await flush();
      expect(at(await stock('SH-9'), 'utr-02')).toMatchObject({ onHand: 6, reserved: 2, atp: 4 });
      shop.fulfil(o);
      await flush();
      await waitUntil(async () => at(await stock('SH-9'), 'utr-02').onHand === 4, 20_000, 'fulfilment in the ledger');
      expect(at(await stock('SH-9'), 'utr-02')).toMatchObject({ onHand: 4, reserved: 0, atp: 4 });
      shop.webhooks.duplicateNext(1);
      shop.refundWithRestock(o, [{ sku: 'SH-9', quantity: 1 }]);
      await flush();
      await waitUntil(async () => at(await stock('SH-9'), 'utr-02').onHand === 5, 20_000, 'restock in the ledger');
      await settled();
      expect(at(await stock('SH-9'), 'utr-02')).toMatchObject({ onHand: 5, reserved: 0, atp: 5 });
      expect(shows('SH-9', utr)).toBe(5);
    });

    it('late and repeated fulfilment and refund webhooks never count twice (reversed, again under new delivery ids, after a cancel)', async () => {
      await seed({ 'SH-L': { utr: 6 } });
      // An order fulfilled and partly refunded: its webhooks arrive last first, then each again
      // under a new delivery id (past the engine's dedupe by X-Shopify-Webhook-Id).
      shop.webhooks.hold();
      const o = shop.placeOrder({ lines: [{ sku: 'SH-L', quantity: 2 }], locationId: utr, pickup: true });
      shop.fulfil(o);
      shop.refundWithRestock(o, [{ sku: 'SH-L', quantity: 1 }]);
      const held = shop.webhooks.release('reversed');
      await flush();
      for (const late of held.filter((x) => x.topic !== 'inventory_levels/update')) expect(await shop.sendRawWebhook(late.topic, late.body)).toBe(200);
      await waitUntil(async () => at(await stock('SH-L'), 'utr-02').onHand === 5, 20_000, 'fulfilment and restock in the ledger');
      await settled();
      expect(at(await stock('SH-L'), 'utr-02')).toMatchObject({ onHand: 5, reserved: 0, atp: 5 });
      // An order cancelled with restock: the cancellation's refund (restock_type "cancel") and the
      // cancellation itself arrive again, late: the units were released once, they are not returned.
      const o2 = shop.placeOrder({ lines: [{ sku: 'SH-L', quantity: 1 }], locationId: utr, pickup: true });
      await flush();
      expect(at(await stock('SH-L'), 'utr-02')).toMatchObject({ onHand: 5, reserved: 1, atp: 4 });
      shop.cancelOrder(o2);
      await flush();
      const order = shop.state.orders.get(o2)!;
      const cancelRefund = refundPayload(shop.state, order, shop.state.id(), order.lines.map((line) => ({ id: shop.state.id(), line, quantity: line.quantity, locationId: order.locationId })), 'cancel');
      for (let i = 0; i < 2; i++) {
        expect(await shop.sendRawWebhook('refunds/create', JSON.stringify(cancelRefund))).toBe(200);
        expect(await shop.sendRawWebhook('orders/cancelled', JSON.stringify(orderPayload(shop.state, order)))).toBe(200);
      }
      await settled();
      expect(at(await stock('SH-L'), 'utr-02')).toMatchObject({ onHand: 5, reserved: 0, atp: 5 });
      expect(shows('SH-L', utr)).toBe(5);
      // Nothing of that is left pending at the level: the merchant's next edit counts exactly.
      shop.merchantSetAvailable('SH-L', utr, 8);
      await flush();
      await waitUntil(async () => at(await stock('SH-L'), 'utr-02').onHand === 8, 20_000, 'edit in the ledger');
      await settled();
      expect(at(await stock('SH-L'), 'utr-02')).toMatchObject({ onHand: 8, reserved: 0, atp: 8 });
    });

    it("a merchant's edit in the Shopify admin lands in the ledger as an adjustment", async () => {
      await seed({ 'SH-3': { ams: 7 } });
      shop.merchantSetAvailable('SH-3', ams, 11);
      await flush();
      await waitUntil(async () => at(await stock('SH-3'), 'ams-01').onHand === 11, 20_000, 'edit in the ledger');
      await settled();
      expect(shows('SH-3', ams)).toBe(11); // not overwritten back to 7
      shop.merchantSetAvailable('SH-3', ams, 9);
      await flush();
      await waitUntil(async () => at(await stock('SH-3'), 'ams-01').onHand === 9, 20_000, 'second edit');
      await settled();
      expect(at(await stock('SH-3'), 'ams-01').onHand).toBe(9);
    });

    it('a stale changeFromQuantity recovers: Shopify moved meanwhile, the push re-reads and lands', async () => {
      await seed({ 'SH-4': { ams: 8 } });
      shop.webhooks.hold(); // an order on Shopify whose webhook is late
      const o = shop.placeOrder({ lines: [{ sku: 'SH-4', quantity: 1 }], locationId: ams });
      const stale = shop.graphql.log.length;
      await postEvents(s, [sold('SH-4', 'ams-01', 2)], false); // we push 6 expecting 8; Shopify shows 7
      await waitUntil(() => shows('SH-4', ams) === 6, 20_000, 'push landed after the stale answer');
      const setCalls = shop.graphql.log.slice(stale).filter((l) => l.query.includes('inventorySetQuantities')).length;
      expect(setCalls).toBeGreaterThanOrEqual(2);
      shop.webhooks.release('as-emitted');
      await flush();
      await waitUntil(() => shows('SH-4', ams) === 5, 20_000, 'the late order lowers Shopify through our push');
      const a = at(await stock('SH-4'), 'ams-01');
      expect(a).toMatchObject({ onHand: 6, reserved: 1, atp: 5 });
      shop.cancelOrder(o);
      await flush();
    });

    it('a throttled burst converges', { timeout: 180_000 }, async () => {
      const skus = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`SH-B${i}`, { ams: 3, utr: 2, wh: 1 }]));
      await seed(skus);
      // The shop's plan: one inventorySetQuantities call (15 points) a second, configured on
      // the channel too; the shop's bucket starts empty, so the first calls are THROTTLED.
      shop.setBucketSize(30);
      shop.setRestoreRate(15);
      await connect({ restoreRate: 15, bucketSize: 30 });
      shop.bucket.drain();
      const throttledBefore = shop.graphql.log.filter((l) => l.throttled).length;
      const events = Object.keys(skus).flatMap((sku) => [sold(sku, 'ams-01', 1), sold(sku, 'utr-02', 1)]);
      await postEvents(s, events, false);
      await until(() => Object.keys(skus).every((sku) => shows(sku, ams) === 2 && shows(sku, utr) === 1 && shows(sku, wh) === 1), 60_000, 'burst converged');
      expect(shop.graphql.log.filter((l) => l.throttled).length).toBeGreaterThan(throttledBefore);
      await settled();
      shop.setBucketSize(2000);
      shop.setRestoreRate(100);
      shop.bucket.fill();
      await connect();
    });

    it('a crash with pending pushes loses none', async () => {
      await seed({ 'SH-5': { ams: 9 }, 'SH-6': { utr: 9 } });
      shop.setDown(true); // every GraphQL request answers 503
      await postEvents(s, [sold('SH-5', 'ams-01', 4), sold('SH-6', 'utr-02', 5)]);
      await waitUntil(async () => (await status()).pendingPushes >= 2, 20_000, 'pushes pending');
      await s.stop(); // the process goes away with the outbox full
      shop.setDown(false);
      s = await startWith(d);
      shop.deliverWebhooksTo(`${s.url}/webhooks/shopify/${CH}`);
      await waitUntil(() => shows('SH-5', ams) === 5 && shows('SH-6', utr) === 4, 30_000, 'pending pushes delivered after the restart');
      await settled();
    });

    it('drift injected into Shopify is detected, reported and healed', async () => {
      await seed({ 'SH-7': { ams: 10, utr: 3 } });
      shop.injectDrift('SH-7', ams, 4); // Shopify changed without telling us
      const r = await s.channels!.runDrift(CH);
      expect(r.items).toBeGreaterThanOrEqual(1);
      expect((await status()).drift.items).toBeGreaterThanOrEqual(1);
      expect(await metricsText()).toMatch(new RegExp(`omnistock_channel_drift_items\\{channel="${CH}"\\} [1-9]`));
      await waitUntil(() => shows('SH-7', ams) === 10, 20_000, 'drift healed');
      expect(at(await stock('SH-7'), 'ams-01').onHand).toBe(10); // the ledger did not follow the drift
      await settled();
      expect((await s.channels!.runDrift(CH)).items).toBe(0);
    });

    it('bad input changes nothing in the ledger and is counted: bad HMAC, unknown topic, malformed, unmapped SKU and location, Shopify errors', async () => {
      await seed({ 'SH-8': { ams: 4 } });
      const before = await stock('SH-8');
      const url = `${s.url}/webhooks/shopify/${CH}`;
      const send = (topic: string, body: string, hmac = signWebhook(body, shop.apiSecret)) => fetch(url, {
        method: 'POST', body,
        headers: {
          'content-type': 'application/json', 'x-shopify-topic': topic, 'x-shopify-hmac-sha256': hmac, 'x-shopify-shop-domain': shop.shop,
          'x-shopify-api-version': '2026-04', 'x-shopify-webhook-id': crypto.randomUUID(), 'x-shopify-triggered-at': new Date().toISOString(),
        },
      });
      const counts = { bad: await webhookCount('bad-signature'), topic: await webhookCount('unknown-topic'), malformed: await webhookCount('malformed'), q: await webhookCount('quarantined') };
      const order = (sku: string, extra: Record<string, unknown> = {}) => JSON.stringify({ id: Date.now(), created_at: new Date().toISOString(), line_items: [{ id: 1, sku, quantity: 1 }], ...extra });
      expect((await send('orders/create', order('SH-8'), signWebhook('other body', shop.apiSecret))).status).toBe(401);
      expect((await send('products/update', '{"id":1}')).status).toBe(200);
      expect((await send('orders/create', '{"id":"not a number"')).status).toBe(200);
      expect((await send('orders/create', order('NOT-OURS'))).status).toBe(200);
      expect((await send('orders/create', order('bad sku!'))).status).toBe(200);
      expect((await send('orders/create', order('SH-8', { location_id: 999, shipping_lines: [{ code: 'Pickup', source: 'shopify' }] }))).status).toBe(200);
      expect(await webhookCount('bad-signature')).toBe(counts.bad + 1);
      expect(await webhookCount('unknown-topic')).toBe(counts.topic + 1);
      expect(await webhookCount('malformed')).toBe(counts.malformed + 1);
      expect(await webhookCount('quarantined')).toBe(counts.q + 3);
      const q = (await api(s, 'GET', `/v1/channels/${CH}/quarantine`)).json.items as Array<{ reason: string }>;
      expect(q.some((i) => /location 999 is not in locationMap/.test(i.reason))).toBe(true);
      expect(q.some((i) => /bad sku!/.test(i.reason))).toBe(true);
      // Shopify answering 5xx, then a userError (the item is not stocked there): nothing in the ledger moves.
      shop.failNext(3, 502);
      await postEvents(s, [sold('SH-8', 'ams-01', 1)]);
      await waitUntil(() => shows('SH-8', ams) === 3, 30_000, 'converged after the 5xx');
      const errorsSeen = (await status()).errors as Array<{ message: string }>;
      expect(errorsSeen.some((e) => /502|503|HTTP/.test(e.message))).toBe(true);
      const after = await stock('SH-8');
      expect(after.network).toEqual({ ...before.network, onHand: before.network.onHand - 1, atp: before.network.atp - 1 });
      expect(after.network.reserved).toBe(0);
    });
  });
}
