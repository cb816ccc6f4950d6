// The Channels API of contract §8 on PostgreSQL (embedded log): per-kind validation with
// field-level problems, unknown locations refused, secrets masked, list/one/availability/
// status/quarantine, DELETE keeping history, POST /sync, webhooks' signature and dedupe.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../src/service/service.js';
import { pgEmbeddedLogDeployment, type Deployment } from './spine/deployments.js';
import { api, counted, customChannel, postEvents, putLocations, SECRET, startStandin, startWith, waitUntil } from './channels-harness.js';
import { CustomChannelStandin } from './support/custom-channel-standin.js';

let d: Deployment;
let s: RunningService;
let standin: CustomChannelStandin;
let webStandin: CustomChannelStandin;

beforeAll(async () => {
  d = await pgEmbeddedLogDeployment();
  s = await startWith(d);
  await putLocations(s);
  standin = await startStandin();
  webStandin = await startStandin();
}, 60_000);

afterAll(async () => {
  await s?.stop();
  await standin?.stop();
  await webStandin?.stop();
  await d?.cleanup();
});

describe('PUT /v1/channels/{id}', () => {
  it('creates a channel (201), answers with the secret masked, and replaces it (200)', async () => {
    const r = await api(s, 'PUT', '/v1/channels/web', customChannel(webStandin, { bufferUnits: 2 }));
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    expect(r.json.settings.secret).toBe(`********${SECRET.slice(-4)}`);
    expect(JSON.stringify(r.json)).not.toContain(SECRET);
    expect(r.json).toMatchObject({ id: 'web', kind: 'custom', pool: ['ams-01', 'utr-02', 'wh-1'], bufferUnits: 2, active: true });
    const again = await api(s, 'PUT', '/v1/channels/web', customChannel(webStandin, { bufferUnits: 3 }));
    expect(again.status).toBe(200);
    expect(again.json.bufferUnits).toBe(3);
  });

  it('keeps the stored secret when a client sends back the masked form it read', async () => {
    const got = await api(s, 'GET', '/v1/channels/web');
    const r = await api(s, 'PUT', '/v1/channels/web', { kind: 'custom', pool: got.json.pool, bufferUnits: 1, settings: got.json.settings });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const rows = await s.db.query<{ settings: { secret: string } }>("SELECT settings FROM channels WHERE id = 'web'");
    expect(rows[0]!.settings.secret).toBe(SECRET);
  });

  it('names each bad settings field in a problem+json 400', async () => {
    const r = await api(s, 'PUT', '/v1/channels/bad', { kind: 'custom', pool: ['ams-01'], settings: { endpoint: 'ftp://x', secret: 'short', maxItemsPerCall: 'many' } });
    expect(r.status).toBe(400);
    expect(r.type).toContain('application/problem+json');
    const fields = (r.json.errors as Array<{ field: string }>).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['body.settings.endpoint', 'body.settings.secret', 'body.settings.maxItemsPerCall']));
    expect(r.json.detail).toContain('body.settings.secret');
  });

  it('refuses missing settings, an unknown kind, a mistyped bufferUnits and unknown settings fields', async () => {
    const missing = await api(s, 'PUT', '/v1/channels/bad', { kind: 'custom', pool: ['ams-01'], settings: {} });
    expect(missing.status).toBe(400);
    expect((missing.json.errors as Array<{ field: string }>).map((e) => e.field)).toEqual(expect.arrayContaining(['body.settings.endpoint', 'body.settings.secret']));
    const kind = await api(s, 'PUT', '/v1/channels/bad', { kind: 'ebay', pool: [] });
    expect(kind.status).toBe(400);
    expect(kind.json.detail).toContain('kind');
    const buffer = await api(s, 'PUT', '/v1/channels/bad', { ...customChannel(standin), bufferUnits: 'two' });
    expect(buffer.status).toBe(400);
    expect(buffer.json.detail).toContain('bufferUnits');
    const extra = await api(s, 'PUT', '/v1/channels/bad', customChannel(standin, {}, { endpont: 'typo' }));
    expect(extra.status).toBe(400);
    const none = await api(s, 'GET', '/v1/channels/bad');
    expect(none.status).toBe(404);
  });

  it('refuses an unknown location in pool or locationMap, naming where', async () => {
    const pool = await api(s, 'PUT', '/v1/channels/bad', { ...customChannel(standin), pool: ['ams-01', 'nowhere'] });
    expect(pool.status).toBe(400);
    expect(pool.json.errors).toEqual([{ field: 'body.pool.1', message: 'unknown location "nowhere"' }]);
    const map = await api(s, 'PUT', '/v1/channels/bad', customChannel(standin, {}, { locationMap: { 'shop-a': 'ams-01', 'shop-b': 'atlantis' } }));
    expect(map.status).toBe(400);
    expect(map.json.errors).toEqual([{ field: 'body.settings.locationMap.shop-b', message: 'unknown location "atlantis"' }]);
  });

  it('needs the admin scope', async () => {
    const r = await api(s, 'PUT', '/v1/channels/web', customChannel(standin), { authorization: 'Bearer reader-secret' });
    expect(r.status).toBe(403);
    const none = await api(s, 'GET', '/v1/channels', undefined, {});
    expect(none.status).toBe(401);
  });
});

describe('reading channels', () => {
  it('lists channels with secrets masked', async () => {
    const r = await api(s, 'GET', '/v1/channels');
    expect(r.status).toBe(200);
    const web = (r.json.channels as Array<{ id: string; settings: { secret: string } }>).find((c) => c.id === 'web');
    expect(web?.settings.secret).toMatch(/^\*{8}/);
    expect(JSON.stringify(r.json)).not.toContain(SECRET);
  });

  it('answers availability as max(0, Σ ATP over the pool − bufferUnits), and per location with a locationMap', async () => {
    await postEvents(s, [counted('AV-1', 'ams-01', 5), counted('AV-1', 'utr-02', 3), counted('AV-1', 'wh-1', 10)]);
    await api(s, 'PUT', '/v1/channels/av', customChannel(standin, { pool: ['ams-01', 'utr-02'], bufferUnits: 2 }));
    const r = await api(s, 'GET', '/v1/channels/av/availability?sku=AV-1');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ sku: 'AV-1', quantity: 6 });
    const zero = await api(s, 'GET', '/v1/channels/av/availability?sku=NEVER-SEEN');
    expect(zero.json).toEqual({ sku: 'NEVER-SEEN', quantity: 0 });
    await api(s, 'PUT', '/v1/channels/avl', customChannel(standin, { pool: ['ams-01', 'utr-02'], bufferUnits: 4 }, { locationMap: { A: 'ams-01', U: 'utr-02' } }));
    const per = await api(s, 'GET', '/v1/channels/avl/availability?sku=AV-1');
    expect(per.json).toEqual({ sku: 'AV-1', quantity: 4, locations: [{ channelLocation: 'A', locationId: 'ams-01', quantity: 1 }, { channelLocation: 'U', locationId: 'utr-02', quantity: 0 }] });
    const bad = await api(s, 'GET', '/v1/channels/av/availability?sku=bad%20sku');
    expect(bad.status).toBe(400);
    await api(s, 'DELETE', '/v1/channels/avl');
  });

  it('shows status in the shape the staff app reads', async () => {
    await waitUntil(async () => (await api(s, 'GET', '/v1/channels/av/status')).json.pendingPushes === 0, 20_000, 'av pushed');
    const r = await api(s, 'GET', '/v1/channels/av/status');
    expect(r.status).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(['active', 'channelId', 'drift', 'errors', 'kind', 'lastPullAt', 'lastPushAt', 'parkedPushes', 'pendingPushes', 'quarantined', 'throttle'].sort());
    expect(r.json.throttle).toMatchObject({ throttled: false, ratePerSecond: 1000, burst: 1000 });
    expect(r.json.lastPushAt).not.toBeNull();
    expect(standin.show('AV-1', null)).toBe(6);
  });
});

describe('webhooks', () => {
  it('refuses a bad signature with 401 and counts it; dedupes by delivery id; quarantines malformed and unknown types', async () => {
    const url = `${s.url}/webhooks/custom/av`;
    const bad = await CustomChannelStandin.sendWebhook(url, SECRET, { type: 'events', events: [] }, { badSignature: true });
    expect(bad.status).toBe(401);
    const ev = { eventId: 'wh-ev-1', type: 'stock.received', sku: 'WH-1', locationId: 'ams-01', quantity: 4, occurredAt: new Date().toISOString(), source: 'web' };
    const first = await CustomChannelStandin.sendWebhook(url, SECRET, { type: 'events', events: [ev] }, { deliveryId: 'd-1' });
    expect(first).toMatchObject({ status: 200, body: { outcome: 'applied', duplicate: false } });
    const again = await CustomChannelStandin.sendWebhook(url, SECRET, { type: 'events', events: [ev] }, { deliveryId: 'd-1' });
    expect(again).toMatchObject({ status: 200, body: { outcome: 'duplicate', duplicate: true } });
    const malformed = await CustomChannelStandin.sendWebhook(url, SECRET, null, { deliveryId: 'd-2', raw: '{"type":"events","events":' });
    expect(malformed).toMatchObject({ status: 200, body: { outcome: 'malformed' } });
    const unknown = await CustomChannelStandin.sendWebhook(url, SECRET, { type: 'product.deleted', id: 1 }, { deliveryId: 'd-3' });
    expect(unknown).toMatchObject({ status: 200, body: { outcome: 'unknown-topic' } });
    const noChannel = await CustomChannelStandin.sendWebhook(`${s.url}/webhooks/custom/nope`, SECRET, { type: 'events', events: [ev] });
    expect(noChannel.status).toBe(404);

    const q = await api(s, 'GET', '/v1/channels/av/quarantine');
    expect((q.json.items as Array<{ reason: string }>).map((i) => i.reason.split(':')[0])).toEqual(expect.arrayContaining(['malformed', 'unknown-topic']));
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/omnistock_channel_webhooks_total\{channel="av",outcome="bad-signature"\} 1/);
    expect(metrics).toMatch(/omnistock_channel_webhooks_total\{channel="av",outcome="duplicate"\} 1/);
    expect(metrics).toMatch(/omnistock_channel_webhooks_total\{channel="av",outcome="malformed"\} 1/);
    expect(metrics).toMatch(/omnistock_channel_webhooks_total\{channel="av",outcome="unknown-topic"\} 1/);
    const status = await api(s, 'GET', '/v1/channels/av/status');
    expect(status.json.quarantined).toBe(2);
    expect((status.json.errors as Array<{ message: string }>).some((e) => e.message.includes('bad signature'))).toBe(true);
    // Nothing but the one valid event reached the ledger.
    const ledger = await api(s, 'GET', '/v1/availability/WH-1');
    expect(ledger.json.network.onHand).toBe(4);
  });
});

describe('DELETE and POST /sync', () => {
  it('sync answers 202 at once and re-pushes what the channel lost', async () => {
    standin.setShown('AV-1', null, 99);
    await s.db.query("UPDATE channel_outbox SET acked_quantity = 99, version = version + 1 WHERE channel_id = 'av' AND sku = 'AV-1'");
    standin.pendingEvents.push({ eventId: 'pulled-1', type: 'stock.received', sku: 'PULL-1', locationId: 'utr-02', quantity: 3, occurredAt: new Date().toISOString(), source: 'web' });
    const r = await api(s, 'POST', '/v1/channels/av/sync');
    expect(r.status).toBe(202);
    expect(r.json).toEqual({ channelId: 'av', accepted: true });
    await waitUntil(() => standin.show('AV-1', null) === 6, 10_000, 'sync re-push');
    // ... and pulled what the channel had for us.
    await waitUntil(async () => (await api(s, 'GET', '/v1/availability/PULL-1')).json.network.onHand === 3, 10_000, 'pulled event applied');
    expect((await api(s, 'GET', '/v1/channels/av/status')).json.lastPullAt).not.toBeNull();
  });

  it('stops syncing and keeps history; sync on a deleted channel is a 409; a PUT resumes it', async () => {
    const del = await api(s, 'DELETE', '/v1/channels/av');
    expect(del.status).toBe(200);
    expect(del.json.active).toBe(false);
    expect(s.channels!.isRunning('av')).toBe(false);
    await postEvents(s, [counted('AV-1', 'ams-01', 50)]);
    await new Promise((r) => setTimeout(r, 300));
    expect(standin.show('AV-1', null)).toBe(6);
    const rows = await s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM channel_outbox WHERE channel_id = 'av'");
    expect(rows[0]!.n).toBeGreaterThan(0);
    expect((await api(s, 'GET', '/v1/channels/av/quarantine')).json.items.length).toBe(2);
    expect((await api(s, 'POST', '/v1/channels/av/sync')).status).toBe(409);
    const hook = await CustomChannelStandin.sendWebhook(`${s.url}/webhooks/custom/av`, SECRET, { type: 'events', events: [] });
    expect(hook.status).toBe(404);
    expect((await api(s, 'GET', '/v1/channels')).json.channels.find((c: { id: string }) => c.id === 'av').active).toBe(false);
    const back = await api(s, 'PUT', '/v1/channels/av', customChannel(standin, { pool: ['ams-01', 'utr-02'], bufferUnits: 2 }));
    expect(back.status).toBe(200);
    await waitUntil(() => standin.show('AV-1', null) === 51, 10_000, 'resumed channel pushes the new figure');
  });

  it('a 404 for an unknown channel on every route', async () => {
    for (const [m, u] of [['GET', '/v1/channels/ghost'], ['DELETE', '/v1/channels/ghost'], ['GET', '/v1/channels/ghost/status'], ['GET', '/v1/channels/ghost/quarantine'], ['POST', '/v1/channels/ghost/sync'], ['GET', '/v1/channels/ghost/availability?sku=A']] as const) {
      const r = await api(s, m, u);
      expect(r.status, `${m} ${u}`).toBe(404);
    }
  });

  it('documents every channel route in /docs', async () => {
    const r = await fetch(`${s.url}/docs`);
    const doc = (await r.json()) as { paths: Record<string, unknown> };
    for (const p of ['/v1/channels', '/v1/channels/{id}', '/v1/channels/{id}/availability', '/v1/channels/{id}/status', '/v1/channels/{id}/quarantine', '/v1/channels/{id}/sync', '/webhooks/{kind}/{channelId}']) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
  });
});
