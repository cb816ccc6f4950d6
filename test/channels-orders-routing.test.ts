// Channel orders are routed by RoutingService.plan with reserve (contract §7): over the order's
// locationIds ?? the channel's pool, with or without destination, using each location's daily
// capacity; an order the allowed locations cannot cover holds its best partial plan and the
// rest is quarantined. Real PostgreSQL, the real webhook path (custom kind, HMAC-signed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../src/service/service.js';
import { pgEmbeddedLogDeployment, type Deployment } from './spine/deployments.js';
import { api, counted, customChannel, postEvents, putLocations, SECRET, startStandin, startWith } from './channels-harness.js';
import { CustomChannelStandin } from './support/custom-channel-standin.js';

let d: Deployment;
let s: RunningService;
let st: CustomChannelStandin;

const SKU = `RT-${process.pid}`;

beforeAll(async () => {
  d = await pgEmbeddedLogDeployment();
  s = await startWith(d);
  await putLocations(s); // ams-01, utr-02 (stores), wh-1: rank 100, unlimited capacity
  // rank 1 with room for one shipment a day, in the pool; rank 0 outside it
  for (const [id, body] of [
    ['rt-cap', { rank: 1, dailyCapacity: 1 }],
    ['rt-out', { rank: 0, dailyCapacity: null }],
  ] as const) {
    const r = await api(s, 'PUT', `/v1/locations/${id}`, { name: id, type: 'warehouse', lat: 52.5, lon: 6.1, ...body });
    expect([200, 201], JSON.stringify(r.json)).toContain(r.status);
  }
  await postEvents(s, [counted(SKU, 'ams-01', 5), counted(SKU, 'utr-02', 5), counted(SKU, 'rt-cap', 5), counted(SKU, 'rt-out', 5)]);
  st = await startStandin();
  expect((await api(s, 'PUT', '/v1/channels/mkt', customChannel(st, { pool: ['ams-01', 'utr-02', 'rt-cap'] }))).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await s?.stop();
  await st?.stop();
  await d?.cleanup();
});

let deliveries = 0;
const hook = (body: unknown) => CustomChannelStandin.sendWebhook(`${s.url}/webhooks/custom/mkt`, SECRET, body, { deliveryId: `rt-${++deliveries}` });
const placed = (orderRef: string, quantity: number, extra: Record<string, unknown> = {}) =>
  hook({ type: 'order.placed', order: { orderRef, method: 'ship', lines: [{ sku: SKU, quantity, lineRef: `${orderRef}-1` }], occurredAt: new Date().toISOString(), ...extra } });
const reservedAt = async (): Promise<Record<string, number>> => {
  const a = (await api(s, 'GET', `/v1/availability/${SKU}`)).json as { locations: Array<{ locationId: string; reserved: number }> };
  return Object.fromEntries(a.locations.filter((l) => l.reserved > 0).map((l) => [l.locationId, l.reserved]));
};
const reservation = async (orderRef: string) => (await api(s, 'GET', `/v1/reservations/ch:mkt:${orderRef}`)).json as {
  status: string; channel: string; orderRef: string; lines: Array<{ locationId: string; quantity: number }>;
};

describe('channel orders through RoutingService', () => {
  it('no destination: rank then id over the pool, daily capacity used and given back, locationIds, partial plans', async () => {
    // rt-out (rank 0) is outside the pool; rt-cap (rank 1) wins
    expect((await placed('m-1', 1)).body.outcome).toBe('applied');
    expect(await reservedAt()).toEqual({ 'rt-cap': 1 });
    expect(await reservation('m-1')).toMatchObject({ status: 'committed', channel: 'mkt', orderRef: 'm-1', lines: [{ locationId: 'rt-cap', quantity: 1 }] });

    // rt-cap's one shipment for today is used: the next order goes to ams-01 (rank 100, id < utr-02)
    expect((await placed('m-2', 1)).body.outcome).toBe('applied');
    expect(await reservedAt()).toEqual({ 'rt-cap': 1, 'ams-01': 1 });
    const explain = await api(s, 'POST', '/v1/routing/plan?explain=true', { method: 'ship', lines: [{ sku: SKU, quantity: 1 }], locationIds: ['rt-cap', 'ams-01'] });
    expect(explain.status, JSON.stringify(explain.json)).toBe(200);
    expect((explain.json.explain.candidates as Array<{ locationId: string; reason: string }>).find((c) => c.locationId === 'rt-cap')!.reason).toBe('capacity used up');

    // the order's own locationIds (e.g. Amazon's fulfilment locations) override the pool
    expect((await placed('m-3', 2, { locationIds: ['utr-02'] })).body.outcome).toBe('applied');
    expect(await reservedAt()).toEqual({ 'rt-cap': 1, 'ams-01': 1, 'utr-02': 2 });

    // cancelling gives the shipment's capacity back: rt-cap is chosen again
    expect((await hook({ type: 'order.cancelled', orderRef: 'm-1', occurredAt: new Date().toISOString() })).body.outcome).toBe('applied');
    expect(await reservedAt()).toEqual({ 'ams-01': 1, 'utr-02': 2 });
    expect((await placed('m-4', 1)).body.outcome).toBe('applied');
    expect(await reservedAt()).toEqual({ 'rt-cap': 1, 'ams-01': 1, 'utr-02': 2 });

    // with a destination, distance decides within the pool (utr-02 is at 52.09, 5.12)
    expect((await placed('m-5', 1, { destination: { lat: 52.09, lon: 5.12 } })).body.outcome).toBe('applied');
    expect(await reservedAt()).toEqual({ 'rt-cap': 1, 'ams-01': 1, 'utr-02': 3 });

    // more than ams-01 + utr-02 hold (4 + 2 left): the partial plan is held, the rest quarantined
    const partial = await placed('m-6', 20, { locationIds: ['ams-01', 'utr-02'] });
    expect(partial.body.outcome).toBe('applied');
    expect(await reservedAt()).toEqual({ 'rt-cap': 1, 'ams-01': 5, 'utr-02': 5 });
    const q = (await api(s, 'GET', '/v1/channels/mkt/quarantine')).json as { items: Array<{ channelRef: string; reason: string }> };
    expect(q.items.find((i) => i.channelRef === 'm-6')?.reason).toContain(`unassigned ${SKU}×14`);
    // redelivered: nothing more is held
    expect((await placed('m-6', 20, { locationIds: ['ams-01', 'utr-02'] })).body.outcome).toBe('ignored');
    expect(await reservedAt()).toEqual({ 'rt-cap': 1, 'ams-01': 5, 'utr-02': 5 });

    // nothing holdable: unfulfillable, quarantined, nothing reserved
    const none = await placed('m-7', 1, { locationIds: ['wh-1'] });
    expect(none.body.outcome).toBe('quarantined');
    // an unknown location id is a quarantined order naming the field, not a crash
    const unknown = await placed('m-8', 1, { locationIds: ['no-such-store'] });
    expect(unknown.body.outcome).toBe('quarantined');
    const q2 = (await api(s, 'GET', '/v1/channels/mkt/quarantine')).json as { items: Array<{ channelRef: string; reason: string }> };
    expect(q2.items.find((i) => i.channelRef === 'm-8')?.reason).toContain('locationIds');
    expect(await reservedAt()).toEqual({ 'rt-cap': 1, 'ams-01': 5, 'utr-02': 5 });

    // a cancellation before its order: the order reserves nothing, even without destination
    await hook({ type: 'order.cancelled', orderRef: 'm-9', occurredAt: new Date().toISOString() });
    expect((await placed('m-9', 1)).body.outcome).toBe('ignored');
    expect(await reservedAt()).toEqual({ 'rt-cap': 1, 'ams-01': 5, 'utr-02': 5 });
  }, 120_000);

  it('/docs shows ship without destination (nullable distanceKm) and the locationIds extension', async () => {
    const doc = (await (await fetch(`${s.url}/docs`)).json()) as { paths: Record<string, any> };
    const post = doc.paths['/v1/routing/plan'].post;
    const body = post.requestBody.content['application/json'].schema;
    expect(Object.keys(body.properties)).toContain('locationIds');
    expect(body.required ?? []).not.toContain('destination');
    const shipment = post.responses['200'].content['application/json'].schema.properties.shipments.items;
    expect(JSON.stringify(shipment.properties.distanceKm)).toContain('null');
  });
});
