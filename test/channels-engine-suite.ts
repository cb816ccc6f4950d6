// The channel engine end to end on one deployment, with the custom kind against its stand-in:
// a POS sale reaches the channel; orders by webhook reserve where routing chooses, duplicates
// and out-of-order deliveries change nothing more; a merchant's edit lands in the ledger (the
// echo of our push does not); the rate limit is honoured; 429 and 5xx converge; drift is
// detected and healed. Run by channels-engine-*.test.ts on each deployment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../src/service/service.js';
import type { Deployment } from './spine/deployments.js';
import { api, counted, customChannel, postEvents, putLocations, SECRET, sold, startStandin, startWith, waitUntil } from './channels-harness.js';
import { CustomChannelStandin } from './support/custom-channel-standin.js';

export function defineChannelEngineSuite(makeDeployment: () => Promise<Deployment>) {
  let d: Deployment;
  let s: RunningService;
  const standins: CustomChannelStandin[] = [];
  const standin = async (o: Parameters<typeof startStandin>[0] = {}) => {
    const st = await startStandin(o);
    standins.push(st);
    return st;
  };
  const hook = (channel: string, body: unknown, deliveryId?: string) =>
    CustomChannelStandin.sendWebhook(`${s.url}/webhooks/custom/${channel}`, SECRET, body, deliveryId ? { deliveryId } : {});
  const stock = async (sku: string) => (await api(s, 'GET', `/v1/availability/${sku}`)).json as { network: { onHand: number; reserved: number; atp: number }; locations: Array<{ locationId: string; onHand: number; reserved: number; atp: number }> };
  const at = (a: Awaited<ReturnType<typeof stock>>, loc: string) => a.locations.find((l) => l.locationId === loc) ?? { onHand: 0, reserved: 0, atp: 0 };

  beforeAll(async () => {
    d = await makeDeployment();
    s = await startWith(d);
    await putLocations(s);
  }, 120_000);

  afterAll(async () => {
    await s?.stop();
    for (const st of standins) await st.stop();
    await d?.cleanup();
  });

  describe(`channel engine`, () => {
    it('a POS sale lowers what the channel shows, per location and for the network', async () => {
      const st = await standin();
      await postEvents(s, [counted('POS-1', 'ams-01', 10), counted('POS-1', 'utr-02', 4)]);
      expect((await api(s, 'PUT', '/v1/channels/net', customChannel(st, { bufferUnits: 1 }))).status).toBe(201);
      expect((await api(s, 'PUT', '/v1/channels/loc', customChannel(st, { bufferUnits: 1 }, { locationMap: { A: 'ams-01', U: 'utr-02' } }))).status).toBe(201);
      await waitUntil(() => st.show('POS-1', null) === 13 && st.show('POS-1', 'A') === 9 && st.show('POS-1', 'U') === 3, 20_000, 'initial figures');
      await postEvents(s, [sold('POS-1', 'ams-01', 3)], false);
      await waitUntil(() => st.show('POS-1', null) === 10 && st.show('POS-1', 'A') === 6, 20_000, 'sale reaches the channel');
      expect(st.show('POS-1', 'U')).toBe(3);
      await postEvents(s, [sold('POS-1', 'utr-02', 4)], false);
      await waitUntil(() => st.show('POS-1', 'U') === 0 && st.show('POS-1', null) === 6, 20_000, 'zero reaches the channel');
      const status = await api(s, 'GET', '/v1/channels/loc/status');
      expect(status.json.pendingPushes).toBe(0);
      await api(s, 'DELETE', '/v1/channels/net');
      await api(s, 'DELETE', '/v1/channels/loc');
    });

    it('orders: routed reservation, duplicates ignored, cancel restores, cancel-before-order reserves nothing, fulfil and restock', async () => {
      const st = await standin();
      await postEvents(s, [counted('ORD-1', 'ams-01', 5), counted('ORD-1', 'utr-02', 5)]);
      expect((await api(s, 'PUT', '/v1/channels/shop', customChannel(st, { pool: ['ams-01', 'utr-02'] }))).status).toBe(201);
      await waitUntil(() => st.show('ORD-1', null) === 10, 20_000, 'initial');
      const order = (ref: string, q: number) => ({
        type: 'order.placed',
        order: { orderRef: ref, method: 'ship', destination: { lat: 52.1, lon: 5.1 }, lines: [{ sku: 'ORD-1', quantity: q, lineRef: `${ref}-1` }], occurredAt: new Date().toISOString() },
      });
      const placed = await hook('shop', order('o-1', 2), 'del-o-1');
      expect(placed).toMatchObject({ status: 200, body: { outcome: 'applied' } });
      let a = await stock('ORD-1');
      expect(at(a, 'utr-02').reserved).toBe(2); // Utrecht is nearest to the destination
      expect(a.network.reserved).toBe(2);
      await waitUntil(() => st.show('ORD-1', null) === 8, 20_000, 'order lowers the channel');
      // The same order again (a redelivery under another delivery id): nothing more is held.
      expect((await hook('shop', order('o-1', 2), 'del-o-1-again')).body.outcome).toBe('ignored');
      expect((await hook('shop', order('o-1', 2), 'del-o-1')).body.outcome).toBe('duplicate');
      expect((await stock('ORD-1')).network.reserved).toBe(2);
      // Cancel restores.
      expect((await hook('shop', { type: 'order.cancelled', orderRef: 'o-1', occurredAt: new Date().toISOString() })).body.outcome).toBe('applied');
      expect((await stock('ORD-1')).network.reserved).toBe(0);
      await waitUntil(() => st.show('ORD-1', null) === 10, 20_000, 'cancel restores the channel');
      // A cancellation that arrives before its order: the order then reserves nothing.
      expect((await hook('shop', { type: 'order.cancelled', orderRef: 'o-2', occurredAt: new Date().toISOString() })).status).toBe(200);
      expect((await hook('shop', order('o-2', 3))).body.outcome).toBe('ignored');
      expect((await stock('ORD-1')).network.reserved).toBe(0);
      // Fulfilment: on hand and reserved drop.
      await hook('shop', order('o-3', 1));
      a = await stock('ORD-1');
      expect(a.network.reserved).toBe(1);
      expect((await hook('shop', { type: 'order.fulfilled', orderRef: 'o-3', occurredAt: new Date().toISOString() })).body.outcome).toBe('applied');
      expect((await hook('shop', { type: 'order.fulfilled', orderRef: 'o-3', occurredAt: new Date().toISOString() })).body.outcome).toBe('ignored');
      a = await stock('ORD-1');
      expect(a.network).toMatchObject({ reserved: 0, onHand: 9 });
      // Refund with restock, delivered twice: returned once.
      const refund = { type: 'order.restocked', orderRef: 'o-3', refundRef: 'r-1', occurredAt: new Date().toISOString(), lines: [{ sku: 'ORD-1', location: 'utr-02', quantity: 1 }] };
      await hook('shop', refund);
      await hook('shop', refund);
      await waitUntil(async () => (await stock('ORD-1')).network.onHand === 10, 20_000, 'restock applied');
      await new Promise((r) => setTimeout(r, 300));
      expect((await stock('ORD-1')).network.onHand).toBe(10);
      // An order for a SKU nobody stocks is quarantined and acknowledged.
      const unknown = await hook('shop', { ...order('o-4', 1), order: { ...order('o-4', 1).order, lines: [{ sku: 'NOPE-1', quantity: 1, lineRef: 'x' }] } });
      expect(unknown).toMatchObject({ status: 200, body: { outcome: 'quarantined' } });
      const q = await api(s, 'GET', '/v1/channels/shop/quarantine');
      expect((q.json.items as Array<{ channelRef: string }>).some((i) => i.channelRef === 'o-4')).toBe(true);
      await api(s, 'DELETE', '/v1/channels/shop');
    });

    it('a merchant edit on the channel becomes an adjustment; the echo of our own push does not', async () => {
      const st = await standin();
      await postEvents(s, [counted('EDIT-1', 'ams-01', 7)]);
      await api(s, 'PUT', '/v1/channels/edit', customChannel(st, { pool: ['ams-01'] }, { locationMap: { A: 'ams-01' } }));
      await waitUntil(() => st.show('EDIT-1', 'A') === 7, 20_000, 'initial');
      await waitUntil(async () => (await api(s, 'GET', '/v1/channels/edit/status')).json.pendingPushes === 0, 20_000, 'acknowledged');
      const echo = await hook('edit', { type: 'inventory.changed', id: 'c-1', sku: 'EDIT-1', location: 'A', available: 7, occurredAt: new Date().toISOString() });
      expect(echo.body).toMatchObject({ outcome: 'ignored', detail: 'echo of our push' });
      const edit = await hook('edit', { type: 'inventory.changed', id: 'c-2', sku: 'EDIT-1', location: 'A', available: 4, occurredAt: new Date().toISOString() });
      expect(edit.body).toMatchObject({ outcome: 'applied' });
      await waitUntil(async () => at(await stock('EDIT-1'), 'ams-01').onHand === 4, 20_000, 'edit in the ledger');
      const unmapped = await hook('edit', { type: 'inventory.changed', id: 'c-3', sku: 'EDIT-1', location: 'Z', available: 1, occurredAt: new Date().toISOString() });
      expect(unmapped.body.outcome).toBe('quarantined');
      expect(at(await stock('EDIT-1'), 'ams-01').onHand).toBe(4);
      await api(s, 'DELETE', '/v1/channels/edit');
    });

    it('honours the channel\'s rate limit, and converges through 429s and 5xx', async () => {
      const st = await standin();
      const skus = Array.from({ length: 40 }, (_, i) => `RL-${i}`);
      await postEvents(s, skus.map((sku) => counted(sku, 'wh-1', 3)));
      // 1 point per call, one item per call: 5 at once, then 20 per second.
      await api(s, 'PUT', '/v1/channels/rl', customChannel(st, { pool: ['wh-1'] }, { ratePerSecond: 20, burst: 5, maxItemsPerCall: 1 }));
      await waitUntil(() => skus.every((k) => st.show(k, null) === 3), 30_000, 'all figures');
      const times = st.callTimes;
      for (let i = 0; i < times.length; i++) {
        const inWindow = times.filter((t) => t >= times[i]! && t < times[i]! + 1000).length;
        expect(inWindow).toBeLessThanOrEqual(5 + 20 + 1);
      }
      expect(times[times.length - 1]! - times[0]!).toBeGreaterThanOrEqual(((40 - 5) / 20) * 1000 * 0.9);
      // The channel's own limit is lower: it answers 429 with Retry-After; 5xx are retried with backoff.
      const tight = await standin({ ratePerSecond: 10, burst: 3 });
      tight.failNext = 3;
      await api(s, 'PUT', '/v1/channels/rl2', customChannel(tight, { pool: ['wh-1'] }, { maxItemsPerCall: 5 }));
      await waitUntil(() => skus.every((k) => tight.show(k, null) === 3), 30_000, 'all figures despite 429 and 5xx');
      expect(tight.throttled).toBeGreaterThan(0);
      const status = await api(s, 'GET', '/v1/channels/rl2/status');
      expect((status.json.errors as Array<{ message: string }>).some((e) => e.message.includes('500'))).toBe(true);
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toMatch(/omnistock_channel_throttled_waits_total\{channel="rl2"\} [1-9]/);
      expect(metrics).toMatch(/omnistock_channel_push_failures_total\{channel="rl2",kind="retry"\} [1-9]/);
      await api(s, 'DELETE', '/v1/channels/rl');
      await api(s, 'DELETE', '/v1/channels/rl2');
    });

    it('a stale compare-and-set recovers; SKUs the channel does not list are parked, not errors', async () => {
      const st = await standin({ listed: new Set(['CAS-1']) });
      await postEvents(s, [counted('CAS-1', 'ams-01', 6), counted('CAS-2', 'ams-01', 6)]);
      await api(s, 'PUT', '/v1/channels/cas', customChannel(st, { pool: ['ams-01'] }));
      await waitUntil(() => st.show('CAS-1', null) === 6, 20_000, 'initial');
      st.setShown('CAS-1', null, 2); // the channel moved on its own
      await postEvents(s, [sold('CAS-1', 'ams-01', 1)]);
      await waitUntil(() => st.show('CAS-1', null) === 5, 20_000, 'stale CAS recovers');
      expect(st.staleAnswers).toBeGreaterThan(0);
      await waitUntil(async () => (await api(s, 'GET', '/v1/channels/cas/status')).json.pendingPushes === 0, 20_000, 'nothing pending');
      const status = await api(s, 'GET', '/v1/channels/cas/status');
      // CAS-2 and the other SKUs stocked at ams-01 by earlier tests: the channel lists none of them.
      expect(status.json.parkedPushes).toBeGreaterThanOrEqual(1);
      const parked = await s.db.query<{ parked: string | null }>("SELECT parked FROM channel_outbox WHERE channel_id = 'cas' AND sku = 'CAS-2'");
      expect(parked[0]?.parked).toBe('not listed');
      expect((status.json.errors as Array<{ sku: string | null }>).some((e) => e.sku === 'CAS-2')).toBe(false);
      expect(st.show('CAS-2', null)).toBeUndefined();
      await api(s, 'DELETE', '/v1/channels/cas');
    });

    it('drift injected on the channel is detected, reported and healed through the outbox', async () => {
      const st = await standin();
      await postEvents(s, [counted('DR-1', 'ams-01', 8), counted('DR-2', 'ams-01', 8), counted('DR-3', 'ams-01', 8)]);
      await api(s, 'PUT', '/v1/channels/drift', customChannel(st, { pool: ['ams-01'] }));
      await waitUntil(() => ['DR-1', 'DR-2', 'DR-3'].every((k) => st.show(k, null) === 8), 20_000, 'initial');
      st.setShown('DR-1', null, 1);
      st.setShown('DR-3', null, 12);
      const r = await s.channels!.runDrift('drift');
      expect(r).toMatchObject({ items: 2, units: 11 });
      await waitUntil(() => st.show('DR-1', null) === 8 && st.show('DR-3', null) === 8, 20_000, 'healed');
      const status = await api(s, 'GET', '/v1/channels/drift/status');
      expect(status.json.drift).toMatchObject({ items: 2, units: 11 });
      expect(status.json.drift.checkedAt).not.toBeNull();
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toMatch(/omnistock_channel_drift_items\{channel="drift"\} 2/);
      expect(await s.channels!.runDrift('drift')).toMatchObject({ items: 0 });
      // A change whose inventory.atp announcement never came (written behind the engine's back):
      // the drift job recomputes the figures from the ledger and pushes it.
      await s.db.query("UPDATE positions SET on_hand = on_hand - 3 WHERE sku = 'DR-2' AND location_id = 'ams-01'");
      await new Promise((r) => setTimeout(r, 200));
      expect(st.show('DR-2', null)).toBe(8);
      await s.channels!.runDrift('drift');
      await waitUntil(() => st.show('DR-2', null) === 5, 20_000, 'missed announcement healed');
      await api(s, 'DELETE', '/v1/channels/drift');
    });
  });
}
