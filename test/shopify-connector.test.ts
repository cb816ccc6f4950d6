// The Shopify connector against the Shopify stand-in, with a recording ConnectorContext (the
// engine's side is exercised end to end in test/shopify-e2e-*.test.ts): pull, push with
// changeFromQuantity/@idempotent, THROTTLED and 5xx, readBack, and every webhook topic.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { ChannelOrder, ConnectorContext, OrderOutcome, PushItem, QuarantinedItem } from '../connectors/channel-connector.js';
import type { StockEvent } from '../src/core/stock-event.js';
import { PUSH_CALL_COST, ShopifyConnector } from '../connectors/shopify/shopify-connector.js';
import { shopifyKind } from '../connectors/shopify/shopify-kind.js';
import { shopifySettingsSchema, type ShopifySettings } from '../connectors/shopify/shopify-settings.js';
import { signWebhook, webhookHeaders, type Delivery } from './standins/shopify/webhook-sender.js';
import { ShopifyStandIn } from './standins/shopify/shopify-stand-in.js';

class Recorder {
  events: StockEvent[] = [];
  seenIds = new Set<string>();
  placed: ChannelOrder[] = [];
  calls: string[] = [];
  quarantined: QuarantinedItem[] = [];
  errors: string[] = [];
  state = new Map<string, string>();
  outcome = (orderRef: string, state: OrderOutcome['state']): OrderOutcome => ({ orderRef, state, duplicate: false, reservationId: null, allocations: [] });
  ctx(settings: ShopifySettings): ConnectorContext<ShopifySettings> {
    return {
      channelId: 'shop-1', settings, pool: ['ams-01', 'utr-01'], bufferUnits: 0, logger: pino({ level: 'silent' }),
      ingest: async (events) => {
        let accepted = 0;
        let duplicates = 0;
        for (const e of events) {
          if (this.seenIds.has(e.eventId)) duplicates++;
          else { this.seenIds.add(e.eventId); this.events.push(e); accepted++; }
        }
        return { accepted, duplicates, rejected: [], acceptedIds: [] };
      },
      orders: {
        placed: async (o) => { this.placed.push(o); this.calls.push(`placed ${o.orderRef}`); return this.outcome(o.orderRef, 'reserved'); },
        cancelled: async (ref) => { this.calls.push(`cancelled ${ref}`); return this.outcome(ref, 'cancelled'); },
        fulfilled: async (ref, _at, lines) => { this.calls.push(`fulfilled ${ref} ${JSON.stringify(lines)}`); return this.outcome(ref, 'fulfilled'); },
        restocked: async (ref, refund, lines) => { this.calls.push(`restocked ${ref} ${refund} ${JSON.stringify(lines)}`); return this.outcome(ref, 'fulfilled'); },
      },
      quarantine: async (items) => { this.quarantined.push(...items); },
      lastPublished: async () => null,
      state: { get: async (k) => this.state.get(k) ?? null, set: async (k, v) => { this.state.set(k, v); } },
      knownSkus: async (skus) => new Set(skus),
      reportError: (e) => { this.errors.push(e.message); },
    };
  }
}

let shop: ShopifyStandIn;
let ams: string;
let utr: string;
let unmapped: string;
let settings: ShopifySettings;
let rec: Recorder;
let c: ShopifyConnector;
const signal = () => AbortSignal.timeout(20_000);

async function deliver(topic: string, payload: unknown) {
  const body = Buffer.from(JSON.stringify(payload));
  const d: Delivery = { webhookId: crypto.randomUUID(), eventId: crypto.randomUUID(), topic, body: body.toString(), triggeredAt: new Date().toISOString() };
  const headers = webhookHeaders(d, { url: '', secret: shop.apiSecret, shopDomain: shop.shop, apiVersion: '2026-04' });
  expect(c.webhook.verify(body, headers)).toBe(true);
  return c.webhook.handle(body, headers);
}

/** Sends what the stand-in queued for its webhook URL straight into the connector, in order. */
async function pumpWebhooks(): Promise<Array<{ topic: string; outcome: string; detail?: string }>> {
  const out: Array<{ topic: string; outcome: string; detail?: string }> = [];
  for (const d of captured.splice(0)) {
    const r = await c.webhook.handle(Buffer.from(d.body), d.headers);
    out.push({ topic: d.headers['x-shopify-topic']!, ...r });
  }
  return out;
}
const captured: Array<{ body: string; headers: Record<string, string> }> = [];

beforeAll(async () => {
  shop = await new ShopifyStandIn({ shop: 'connector-test.myshopify.com' }).start();
  ams = shop.addLocation('Amsterdam');
  utr = shop.addLocation('Utrecht');
  unmapped = shop.addLocation('Warehouse not synced');
  shop.addProduct('A-1', { [ams]: 10, [utr]: 4, [unmapped]: 7 });
  shop.addProduct('B-2', { [ams]: 3 });
  shop.addProduct(null, { [ams]: 1 });
  shop.addProduct('dup', { [ams]: 1 });
  shop.addProduct('dup', { [utr]: 1 });
  // The webhook sender posts to a URL; here a tiny capturing server stands for the service.
  const http = await import('node:http');
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (x: Buffer) => chunks.push(x));
    req.on('end', () => {
      captured.push({ body: Buffer.concat(chunks).toString(), headers: req.headers as Record<string, string> });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  shop.deliverWebhooksTo(`http://127.0.0.1:${(srv.address() as import('node:net').AddressInfo).port}/`);
  settings = shopifySettingsSchema.parse({ shop: shop.shop, accessToken: shop.accessToken, apiSecret: shop.apiSecret, locationMap: { [ams]: 'ams-01', [utr]: 'utr-01' }, adminUrl: shop.adminUrl });
  rec = new Recorder();
  c = new ShopifyConnector(rec.ctx(settings));
  await c.start();
});

afterAll(async () => {
  await c.stop();
  await shop.stop();
});

describe('settings', () => {
  it('names the field that is missing or wrong', () => {
    const r = shopifyKind.settingsSchema.safeParse({ shop: 'nope', accessToken: '', apiSecret: 's', apiVersion: '2025-01', locationMap: { 'Location/1': 'ams' } });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['shop', 'accessToken', 'apiVersion', 'locationMap.Location/1']));
    expect(shopifyKind.referencedLocations(settings).sort()).toEqual(['ams-01', 'utr-01']);
  });
});

describe('pull', () => {
  it('reads locations then levels (a bulk operation the first time, then page by page), matches SKUs and quarantines the rest', async () => {
    const report = await c.pull(signal());
    expect(report.notes?.join(' ')).toMatch(/bulk operation/);
    expect(c.catalogue.itemOf('A-1')).toBeDefined();
    expect(c.catalogue.itemOf('B-2')).toBeDefined();
    expect(c.catalogue.itemOf('dup')).toBeUndefined();
    expect(rec.quarantined.map((q) => q.reason).sort()).toEqual(['SKU dup is on 2 Shopify variants', 'SKU dup is on 2 Shopify variants', 'variant has no SKU']);
    expect(report.quarantined).toBe(3);
    expect(report.ingested).toBe(0);
    // Pulling again (page by page: the catalogue is small) quarantines nothing twice.
    expect((await c.pull(signal())).notes?.join(' ')).toMatch(/paged/);
    expect(rec.quarantined).toHaveLength(3);
  });

  it('reads with a bulk operation when the catalogue is large', async () => {
    const bulk = new ShopifyConnector(rec.ctx({ ...settings, bulkFrom: 1 }));
    await bulk.start();
    const report = await bulk.pull(signal());
    expect(report.notes?.join(' ')).toMatch(/bulk operation/);
    expect(bulk.catalogue.itemOf('A-1')).toBe(c.catalogue.itemOf('A-1'));
    expect(shop.graphql.bulkOps.size).toBeGreaterThan(0);
    await bulk.stop();
  });
});

describe('push', () => {
  beforeEach(() => shop.bucket.fill());
  const item = (sku: string, loc: string, quantity: number, expected: number | null, key = `${sku}-${loc}-${quantity}`): PushItem => ({ sku, channelLocation: loc, quantity, expected, idempotencyKey: key });

  it('sets many quantities in one inventorySetQuantities call with changeFromQuantity and @idempotent', async () => {
    const before = shop.graphql.log.length;
    const r = await c.publisher.push([item('A-1', ams, 9, 10), item('A-1', utr, 2, 4), item('B-2', ams, 3, 3)], signal());
    expect(r.outcomes).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(shop.quantity('A-1', ams)).toBe(9);
    expect(shop.quantity('A-1', utr)).toBe(2);
    const calls = shop.graphql.log.slice(before).filter((l) => l.query.includes('inventorySetQuantities'));
    expect(calls).toHaveLength(1);
    expect(calls[0]!.cost).toBe(PUSH_CALL_COST);
    expect(await c.publisher.readBack([{ sku: 'A-1', channelLocation: ams }, { sku: 'A-1', channelLocation: utr }, { sku: 'nope', channelLocation: ams }], signal())).toEqual([9, 2, null]);
  });

  it('a retry of the same push is applied once (idempotency key)', async () => {
    const p = [item('B-2', ams, 2, 3, 'row-b2-v7')];
    expect((await c.publisher.push(p, signal())).outcomes).toEqual([{ ok: true }]);
    shop.merchantSetAvailable('B-2', ams, 2); // no change: the replay must not move anything either
    expect((await c.publisher.push(p, signal())).outcomes).toEqual([{ ok: true }]);
    expect(shop.quantity('B-2', ams)).toBe(2);
  });

  it('a stale changeFromQuantity reports what Shopify shows; the others in the call still land', async () => {
    shop.placeOrder({ lines: [{ sku: 'A-1', quantity: 1 }], locationId: ams }); // Shopify: 9 → 8, an order, not an edit
    captured.length = 0;
    const r = await c.publisher.push([item('A-1', ams, 7, 9), item('A-1', utr, 1, 2)], signal());
    expect(r.outcomes[0]).toMatchObject({ ok: false, retryable: true, actual: 8 });
    expect(r.outcomes[1]).toEqual({ ok: true });
    expect(shop.quantity('A-1', utr)).toBe(1);
    expect(rec.events.filter((e) => e.type === 'stock.adjusted')).toHaveLength(0);
    const retry = await c.publisher.push([item('A-1', ams, 7, 8)], signal());
    expect(retry.outcomes).toEqual([{ ok: true }]);
    expect(shop.quantity('A-1', ams)).toBe(7);
  });

  it('THROTTLED waits for the bucket as throttleStatus says, then lands; 5xx is retryable and changes nothing', async () => {
    shop.bucket.drain();
    const before = shop.graphql.log.length;
    const t0 = performance.now();
    const t = await c.publisher.push([item('A-1', ams, 6, 7)], signal());
    expect(t.outcomes[0]).toEqual({ ok: true });
    // One refused attempt, then one sent when 15 points had come back at 100/s: no blind retries.
    const calls = shop.graphql.log.slice(before).filter((l) => l.query.includes('inventorySetQuantities'));
    expect(calls.map((l) => l.throttled)).toEqual([true, false]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    // A deadline shorter than the wait: retryable, nothing applied.
    shop.bucket.drain();
    const short = await c.publisher.push([item('A-1', ams, 5, 6)], AbortSignal.timeout(60));
    expect(short.outcomes[0]).toMatchObject({ ok: false, retryable: true });
    expect(shop.quantity('A-1', ams)).toBe(6);
    shop.bucket.fill();
    shop.failNext(1, 503);
    const f = await c.publisher.push([item('A-1', ams, 7, 6)], signal());
    expect(f.outcomes[0]).toMatchObject({ ok: false, retryable: true });
    expect(shop.quantity('A-1', ams)).toBe(6);
  });

  it('a shop whose bucket is smaller than a page costs: pages shrink to what it holds (never THROTTLED for ever)', async () => {
    shop.setBucketSize(30);
    shop.bucket.fill();
    const small = new ShopifyConnector(rec.ctx({ ...settings })); // settings say 2,000: the shop says 30
    await small.start();
    try {
      const report = await small.pull(signal());
      expect(report.notes?.join(' ')).toMatch(/paged/);
      expect(small.catalogue.itemOf('A-1')).toBe(c.catalogue.itemOf('A-1'));
      expect(small.client.gate.maximumAvailable).toBe(30);
      const refused = shop.graphql.log.filter((l) => l.throttled && l.cost > 30);
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.length).toBeLessThanOrEqual(4); // each shrink is one free refusal
    } finally {
      await small.stop();
      shop.setBucketSize(2000);
      shop.bucket.fill();
    }
  });

  it('an unknown SKU is not listed', async () => {
    const r = await c.publisher.push([item('ZZZ', ams, 1, null)], signal());
    expect(r.outcomes[0]).toMatchObject({ ok: false, notListed: true, retryable: false });
  });
});

describe('webhooks', () => {
  beforeEach(() => shop.bucket.fill());
  it('verifies the HMAC over the raw body', () => {
    const body = Buffer.from('{"id":1}');
    const good = { 'x-shopify-hmac-sha256': signWebhook(body.toString(), shop.apiSecret) };
    expect(c.webhook.verify(body, good)).toBe(true);
    expect(c.webhook.verify(Buffer.from('{"id":2}'), good)).toBe(false);
    expect(c.webhook.verify(body, { 'x-shopify-hmac-sha256': 'AAAA' })).toBe(false);
    expect(c.webhook.verify(body, {})).toBe(false);
  });

  it('orders/create → placed (ship with destination, pickup at the mapped store); cancel, fulfil and refund follow', async () => {
    captured.length = 0;
    const id = shop.placeOrder({ lines: [{ sku: 'B-2', quantity: 1 }], locationId: ams, shippingAddress: { latitude: 52.37, longitude: 4.9 } });
    const pick = shop.placeOrder({ lines: [{ sku: 'A-1', quantity: 1 }], locationId: utr, pickup: true });
    await shop.webhooks.flush();
    const out = await pumpWebhooks();
    expect(out.filter((o) => o.topic === 'orders/create').map((o) => o.outcome)).toEqual(['applied', 'applied']);
    expect(out.filter((o) => o.topic === 'inventory_levels/update').every((o) => o.outcome === 'ignored')).toBe(true);
    expect(rec.placed.at(-2)).toMatchObject({ orderRef: String(id), method: 'ship', destination: { lat: 52.37, lon: 4.9 }, lines: [{ sku: 'B-2', quantity: 1 }] });
    expect(rec.placed.at(-1)).toMatchObject({ orderRef: String(pick), method: 'pickup', pickupLocationId: 'utr-01' });

    shop.cancelOrder(pick);
    shop.fulfil(id);
    shop.refundWithRestock(id, [{ sku: 'B-2', quantity: 1 }]);
    await shop.webhooks.flush();
    const out2 = await pumpWebhooks();
    expect(out2.map((o) => `${o.topic} ${o.outcome}`)).toEqual([
      'orders/cancelled applied', 'inventory_levels/update ignored', 'fulfillments/create applied', 'refunds/create applied', 'inventory_levels/update ignored',
    ]);
    expect(rec.calls.slice(-3)).toEqual([
      `cancelled ${pick}`, `fulfilled ${id} [{"sku":"B-2","quantity":1}]`, expect.stringMatching(new RegExp(`^restocked ${id} \\d+ \\[{"sku":"B-2","locationId":"ams-01","quantity":1}\\]$`)),
    ]);
    expect(rec.events.filter((e) => e.type === 'stock.adjusted')).toHaveLength(0);
  });

  it("a merchant's edit in the admin becomes one stock.adjusted of the difference, however often it is delivered", async () => {
    captured.length = 0;
    const before = shop.quantity('A-1', ams)!;
    shop.merchantSetAvailable('A-1', ams, before + 5);
    await shop.webhooks.flush();
    const copy = [...captured];
    const out = await pumpWebhooks();
    expect(out).toEqual([{ topic: 'inventory_levels/update', outcome: 'applied', detail: 'merchant edit of A-1: +5' }]);
    captured.push(...copy);
    expect((await pumpWebhooks())[0]!.outcome).toBe('ignored');
    const adj = rec.events.filter((e) => e.type === 'stock.adjusted');
    expect(adj).toEqual([expect.objectContaining({ sku: 'A-1', locationId: 'ams-01', delta: 5 })]);
  });

  it("the echo of our own push is not an edit", async () => {
    captured.length = 0;
    const cur = shop.quantity('A-1', utr)!;
    await c.publisher.push([{ sku: 'A-1', channelLocation: utr, quantity: cur + 3, expected: cur, idempotencyKey: 'echo-1' }], signal());
    await shop.webhooks.flush();
    expect((await pumpWebhooks()).map((o) => o.outcome)).toEqual(['ignored']);
    expect(rec.events.filter((e) => e.type === 'stock.adjusted')).toHaveLength(1);
  });

  it('a stale push caused by a merchant edit books the edit before reporting the figure', async () => {
    const cur = shop.quantity('B-2', ams)!;
    shop.webhooks.hold(); // the edit's webhook is late
    shop.merchantSetAvailable('B-2', ams, cur - 2);
    const r = await c.publisher.push([{ sku: 'B-2', channelLocation: ams, quantity: cur + 1, expected: cur, idempotencyKey: 'stale-edit' }], signal());
    expect(r.outcomes[0]).toMatchObject({ ok: false, actual: cur - 2 });
    expect(rec.events.filter((e) => e.type === 'stock.adjusted').at(-1)).toMatchObject({ sku: 'B-2', delta: -2 });
    captured.length = 0;
    shop.webhooks.release();
    await shop.webhooks.flush();
    expect((await pumpWebhooks()).map((o) => o.outcome)).toEqual(['ignored']); // booked once
    expect(rec.events.filter((e) => e.type === 'stock.adjusted')).toHaveLength(2);
  });

  it('bad input: unknown topic, malformed body, missing headers, unmapped SKU and location', async () => {
    expect((await deliver('products/update', { id: 1 })).outcome).toBe('unknown-topic');
    expect(await deliver('orders/create', { id: 'x' })).toMatchObject({ outcome: 'malformed' });
    const body = Buffer.from('not json');
    const d: Delivery = { webhookId: 'w', eventId: 'e', topic: 'orders/create', body: body.toString(), triggeredAt: '' };
    const h = webhookHeaders(d, { url: '', secret: shop.apiSecret, shopDomain: shop.shop, apiVersion: '2026-04' });
    expect(await c.webhook.handle(body, h)).toMatchObject({ outcome: 'malformed', detail: 'body is not JSON' });
    const { 'x-shopify-webhook-id': _drop, ...noId } = h;
    expect(await c.webhook.handle(body, noId)).toMatchObject({ outcome: 'malformed', detail: expect.stringMatching(/missing Shopify headers/) });
    const q = rec.quarantined.length;
    const placed = rec.placed.length;
    expect(await deliver('orders/create', { id: 77, created_at: '2026-12-05T10:00:00Z', line_items: [{ id: 1, sku: 'bad sku!', quantity: 1 }] })).toMatchObject({ outcome: 'quarantined' });
    expect(await deliver('orders/create', { id: 78, created_at: '2026-12-05T10:00:00Z', location_id: Number(unmapped.split('/').pop()), shipping_lines: [{ code: 'Pickup', source: 'shopify' }], line_items: [{ id: 1, sku: 'A-1', quantity: 1 }] })).toMatchObject({ outcome: 'quarantined' });
    expect(await deliver('inventory_levels/update', { inventory_item_id: c.catalogue.itemOf('A-1'), location_id: Number(unmapped.split('/').pop()), available: 3, updated_at: '2026-12-05T10:00:00Z' })).toMatchObject({ outcome: 'quarantined' });
    expect(rec.quarantined.length).toBe(q + 3);
    expect(rec.placed.length).toBe(placed);
  });
});

describe('first push of a level and crash safety', () => {
  beforeEach(() => shop.bucket.fill());
  const setCalls = (from: number) => shop.graphql.log.slice(from).filter((l) => l.query.includes('inventorySetQuantities') && !l.throttled)
    .map((l) => (l.variables as { input: { quantities: Array<{ changeFromQuantity: number | null }> } }).input.quantities.map((q) => q.changeFromQuantity));

  it('a first push (nothing published yet) compares against what Shopify shows: never a blind overwrite', async () => {
    shop.addProduct('F-1', { [ams]: 4 }); // stock the merchant had on Shopify before connecting
    const fresh = new ShopifyConnector(new Recorder().ctx(settings));
    await fresh.start();
    try {
      const before = shop.graphql.log.length;
      const r = await fresh.publisher.push([{ sku: 'F-1', channelLocation: ams, quantity: 9, expected: null, idempotencyKey: 'first-F-1' }], signal());
      expect(r.outcomes).toEqual([{ ok: true }]);
      expect(setCalls(before)).toEqual([[4]]); // read first, then changeFromQuantity 4, not null
      expect(shop.graphql.log.slice(before).some((l) => l.query.includes('OmnistockReadLevels'))).toBe(true);
      expect(shop.quantity('F-1', ams)).toBe(9);
    } finally {
      await fresh.stop();
    }
  });

  it('an order landing between the pull and the first push makes the push stale, not lost', async () => {
    shop.addProduct('F-2', { [ams]: 6 });
    const fresh = new ShopifyConnector(new Recorder().ctx({ ...settings, bulkFrom: 1 }));
    await fresh.start();
    try {
      await fresh.pull(signal()); // sees F-2 at 6 (kept in memory: no baseline yet)
      shop.webhooks.hold();
      shop.placeOrder({ lines: [{ sku: 'F-2', quantity: 2 }], locationId: ams }); // Shopify: 6 → 4
      const before = shop.graphql.log.length;
      const r = await fresh.publisher.push([{ sku: 'F-2', channelLocation: ams, quantity: 6, expected: null, idempotencyKey: 'first-F-2' }], signal());
      expect(setCalls(before)[0]).toEqual([6]);
      expect(r.outcomes[0]).toMatchObject({ ok: false, retryable: true, actual: 4 });
      expect(shop.quantity('F-2', ams)).toBe(4); // the order's decrement stands
    } finally {
      shop.webhooks.release('as-emitted');
      await shop.webhooks.flush();
      captured.length = 0;
      await fresh.stop();
    }
  });

  it('a crash between sending an edit adjustment and storing the baseline re-sends the same event id; a later edit still counts', async () => {
    for (const crash of ['after the send', 'before the send'] as const) {
      const sku = crash === 'after the send' ? 'G-1' : 'G-2';
      shop.addProduct(sku, { [ams]: 5 });
      const r2 = new Recorder();
      const first = new ShopifyConnector(r2.ctx(settings));
      await first.start();
      await first.publisher.push([{ sku, channelLocation: ams, quantity: 5, expected: 5, idempotencyKey: `base-${sku}` }], signal());
      const itemNum = first.catalogue.itemOf(sku)!;
      const locNum = Number(ams.split('/').pop());
      await first.reconcileLevel(itemNum, locNum); // after the push's baseline is stored
      // The process dies in the middle of booking a merchant's edit of +4.
      const ctx = r2.ctx(settings);
      const dying = new ShopifyConnector({
        ...ctx,
        ingest: async (events) => {
          if (crash === 'after the send') await ctx.ingest(events);
          throw new Error(`crash ${crash}`);
        },
      });
      await dying.start();
      shop.merchantSetAvailable(sku, ams, 9);
      await expect(dying.reconcileLevel(itemNum, locNum)).rejects.toThrow(/crash/);
      await dying.stop();
      await first.stop();
      // Restart on the same durable state: the stored adjustment goes out (once), then a new edit.
      const restarted = new ShopifyConnector(r2.ctx(settings));
      await restarted.start();
      shop.merchantSetAvailable(sku, ams, 12);
      expect(await restarted.reconcileLevel(itemNum, locNum)).toMatchObject({ kind: 'merchant-edit', delta: 3 });
      await restarted.stop();
      const adjustments = r2.events.filter((e) => e.type === 'stock.adjusted');
      expect(adjustments.map((e) => (e as { delta: number }).delta), crash).toEqual([4, 3]);
      expect(new Set(adjustments.map((e) => e.eventId)).size).toBe(2);
    }
  });
});
