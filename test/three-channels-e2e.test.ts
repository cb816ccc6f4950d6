// End to end across three channels at once (issue 15), in the production layout on PostgreSQL
// with Kafka (the mock broker): Shopify, Amazon and Square stand-ins connected together, plus a
// store's POS webhook channel. Each stand-in checks our requests against its vendor's spec.
// - Amazon and Shopify race for the last unit: one order holds it, the other is unfulfillable
//   (quarantined with its reason), never double-promised; every channel ends showing 0.
// - A POS sale at a store reaches every channel.
// - A late offline POS batch lands as of occurredAt: every channel converges to the in-order
//   reference fold (test/support/reference-fold.ts), whatever the batching, order and re-sends.
// - A count import (contract §10) reaches every channel; importing it again changes nothing.
// - `omnistock import-counts --url` killed mid-file and run again: each count lands once and
//   every channel converges to the newest counts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signPosBody } from '../connectors/pos/pos-kind.js';
import { positionKey } from '../src/core/ids.js';
import type { StockEvent } from '../src/core/stock-event.js';
import type { RunningService } from '../src/service/service.js';
import { amazonChannel, api, counted, eventId, postEvents, putLocations, startWith, waitUntil } from './channels-harness.js';
import { OPS, pgKafkaDeployment, type Deployment } from './spine/deployments.js';
import { AmazonStandIn } from './standins/amazon/amazon-standin.js';
import { ShopifyStandIn } from './standins/shopify/shopify-stand-in.js';
import { SquareStandIn } from './standins/square/square-standin.js';
import { shuffledBatches } from './support/delivery.js';
import { killAllServices, spawnService } from './support/service-process.js';
import { expectedPositions, randomHistory } from './support/stock-history.js';

const POS_SECRET = 'three-channel-till-secret-0123456789';
const STORES = ['ams-01', 'utr-02'] as const;
const ALL = ['ams-01', 'utr-02', 'wh-1'] as const;
type Loc = (typeof ALL)[number];
type Figures = Partial<Record<Loc, number>>;

let d: Deployment;
let s: RunningService;
let shop: ShopifyStandIn;
let amz: AmazonStandIn;
let sq: SquareStandIn;
/** Our location → the Shopify location gid, and → the Square location id (stores only). */
const shopLoc = {} as Record<Loc, string>;
const SQUARE_LOC: Record<(typeof STORES)[number], string> = { 'ams-01': 'LOC-AMS', 'utr-02': 'LOC-UTR' };
const variation = (sku: string) => `VAR-${sku}`;

/** What each channel shows for `sku`, as one comparable object. */
function shown(sku: string) {
  return {
    shopify: Object.fromEntries(ALL.map((l) => [l, shop.quantity(sku, shopLoc[l])])),
    amazon: amz.listingQuantity(sku),
    square: Object.fromEntries(STORES.map((l) => [l, sq.quantity(variation(sku), SQUARE_LOC[l])])),
  };
}

/** What every channel should show when each location's ATP is `atp` (buffers are 0; Amazon: the pool's sum). */
function expectedShown(atp: Figures) {
  const at = (l: Loc) => atp[l] ?? 0;
  return {
    shopify: Object.fromEntries(ALL.map((l) => [l, at(l)])),
    amazon: ALL.reduce((n, l) => n + at(l), 0),
    square: Object.fromEntries(STORES.map((l) => [l, String(at(l))])),
  };
}

async function everyChannelShows(sku: string, atp: Figures, what: string) {
  const want = JSON.stringify(expectedShown(atp));
  try {
    await waitUntil(() => JSON.stringify(shown(sku)) === want, 30_000, what);
  } catch (err) {
    throw new Error(`${(err as Error).message}: want ${want}, channels show ${JSON.stringify(shown(sku))}`, { cause: err });
  }
}

/** Every test's SKU is listed at 0 on every channel before the channels connect (catalogues are cached). */
const RESUME_SKUS = ['TRI-RES-1', 'TRI-RES-2', 'TRI-RES-3'];
const SKUS = ['TRI-LAST', 'TRI-POS', 'TRI-LATE', 'TRI-CNT', ...RESUME_SKUS];

/** Counts a listed SKU in our ledger and waits until every channel shows the counts. */
async function count(sku: string, counts: Figures) {
  await postEvents(s, ALL.map((l) => counted(sku, l, counts[l] ?? 0)));
  await everyChannelShows(sku, counts, `${sku}: the counts on every channel`);
}

async function tillBatch(events: unknown[]) {
  const body = JSON.stringify({ events });
  const res = await fetch(`${s.url}/webhooks/pos/till`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-signature': signPosBody(POS_SECRET, body) } });
  const json = (await res.json()) as { accepted: number; duplicates: number; rejected: unknown[] };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

const availability = async (sku: string) => (await api(s, 'GET', `/v1/availability/${sku}`)).json as {
  network: { onHand: number; reserved: number; atp: number };
  locations: Array<{ locationId: string; onHand: number; reserved: number; atp: number }>;
};

beforeAll(async () => {
  d = await pgKafkaDeployment();
  s = await startWith(d);
  await putLocations(s);
  shop = await new ShopifyStandIn({ shop: 'three-channels.myshopify.com' }).start();
  shopLoc['ams-01'] = shop.addLocation('Amsterdam store');
  shopLoc['utr-02'] = shop.addLocation('Utrecht store');
  shopLoc['wh-1'] = shop.addLocation('Rotterdam warehouse');
  shop.deliverWebhooksTo(`${s.url}/webhooks/shopify/shop`);
  amz = await new AmazonStandIn({ rateScale: 100, ordersVisibilityLagMs: 0 }).start();
  sq = await new SquareStandIn({ notificationUrl: `${s.url}/webhooks/square/sq` }).start();
  for (const l of STORES) sq.addLocation(SQUARE_LOC[l]);
  for (const sku of SKUS) {
    shop.addProduct(sku, Object.fromEntries(ALL.map((l) => [shopLoc[l], 0])));
    amz.setListing(sku, 0);
    sq.addVariation(variation(sku), sku);
  }
  const channels: Array<[string, unknown]> = [
    ['shop', {
      kind: 'shopify', pool: [...ALL], bufferUnits: 0,
      settings: { shop: shop.shop, accessToken: shop.accessToken, apiSecret: shop.apiSecret, adminUrl: shop.adminUrl, locationMap: Object.fromEntries(ALL.map((l) => [shopLoc[l], l])) },
    }],
    ['amz', amazonChannel(amz, [...ALL])],
    ['sq', {
      kind: 'square', pool: [...STORES], bufferUnits: 0,
      settings: { accessToken: sq.accessToken, signatureKey: sq.signatureKey, notificationUrl: sq.notificationUrl, locationMap: Object.fromEntries(STORES.map((l) => [SQUARE_LOC[l], l])), apiUrl: sq.url },
    }],
    ['till', { kind: 'pos', pool: [...STORES], settings: { secret: POS_SECRET } }],
  ];
  for (const [id, body] of channels) {
    const r = await api(s, 'PUT', `/v1/channels/${id}`, body);
    expect(r.status, `${id}: ${JSON.stringify(r.json)}`).toBe(201);
  }
}, 120_000);

afterAll(async () => {
  await killAllServices();
  await s?.stop();
  await shop?.stop();
  await amz?.stop();
  await sq?.stop();
  await d?.cleanup();
});

describe('three channels at once (Shopify, Amazon, Square) and a POS till', () => {
  it('Amazon and Shopify race for the last unit: exactly one order holds it, the other is unfulfillable, and every channel ends at 0', async () => {
    const sku = 'TRI-LAST';
    await count(sku, { 'utr-02': 1 });
    // Both customers buy while every channel still offers the unit: Shopify's webhook is held
    // back until the Amazon order exists, then both reach us at once.
    shop.webhooks.hold();
    const shopifyRef = String(shop.placeOrder({ lines: [{ sku, quantity: 1 }], locationId: shopLoc['utr-02'], shippingAddress: { latitude: 52.1, longitude: 5.1 } }));
    const amazonRef = amz.createOrder({ items: [{ sku, quantity: 1 }] }).AmazonOrderId;
    await new Promise((r) => setTimeout(r, 20)); // the Amazon order is visible to getOrders
    shop.webhooks.release('as-emitted');
    const [, sync] = await Promise.all([shop.webhooks.flush(), api(s, 'POST', '/v1/channels/amz/sync')]);
    expect(sync.status).toBe(202);

    const states = async () => new Map((await s.db.query<{ channel_id: string; state: string }>(
      'SELECT channel_id, state FROM channel_orders WHERE (channel_id, order_ref) IN ((\'shop\', $1), (\'amz\', $2))', [shopifyRef, amazonRef],
    )).map((r) => [r.channel_id, r.state]));
    await waitUntil(async () => [...(await states()).values()].filter((st) => st === 'reserved' || st === 'unfulfillable').length === 2, 30_000, 'both orders decided');
    const decided = await states();
    expect([...decided.values()].sort()).toEqual(['reserved', 'unfulfillable']);
    const loser = decided.get('shop') === 'unfulfillable' ? { channel: 'shop', ref: shopifyRef } : { channel: 'amz', ref: amazonRef };
    const quarantine = JSON.stringify((await api(s, 'GET', `/v1/channels/${loser.channel}/quarantine`)).json);
    expect(quarantine).toContain(loser.ref);

    // Never double-promised: one unit, one hold, at the only location that had it.
    const a = await availability(sku);
    expect(a.network).toMatchObject({ onHand: 1, reserved: 1, atp: 0 });
    expect(a.locations.find((l) => l.locationId === 'utr-02')).toMatchObject({ onHand: 1, reserved: 1, atp: 0 });
    await everyChannelShows(sku, {}, 'every channel at 0 after the race');
    // And it stays so: nothing more is promised after the channels settle.
    await sq.settled();
    await new Promise((r) => setTimeout(r, 500));
    expect(shown(sku)).toEqual(expectedShown({}));
    expect((await availability(sku)).network).toMatchObject({ onHand: 1, reserved: 1 });
    expect(amz.violations).toEqual([]);
    expect(sq.violations).toEqual([]);
  });

  it('a POS sale at a store reaches every channel', async () => {
    const sku = 'TRI-POS';
    await count(sku, { 'ams-01': 5, 'utr-02': 3, 'wh-1': 4 });
    const r = await tillBatch([{ eventId: eventId('till'), type: 'stock.sold', sku, locationId: 'ams-01', quantity: 2, occurredAt: new Date().toISOString(), source: 'pos-ams-01' }]);
    expect(r).toMatchObject({ accepted: 1, rejected: [] });
    await everyChannelShows(sku, { 'ams-01': 3, 'utr-02': 3, 'wh-1': 4 }, 'the till sale on every channel');
    expect(amz.violations).toEqual([]);
    expect(sq.violations).toEqual([]);
  });

  it('a late offline POS batch lands as of occurredAt: every channel converges to the in-order reference', async () => {
    const sku = 'TRI-LATE';
    // Known before the till's history arrives (the till refuses SKUs the ledger never saw).
    const known: StockEvent[] = STORES.map((l) => ({ eventId: eventId('seed'), type: 'stock.received', sku, locationId: l, quantity: 1, occurredAt: '2026-10-01T00:00:00.000Z', source: 'seed' }));
    await postEvents(s, known);
    await everyChannelShows(sku, { 'ams-01': 1, 'utr-02': 1 }, 'the seed on every channel');
    // A month of offline till history (counts, sales, returns, adjustments, damage), sent late,
    // shuffled, in batches of uneven size, some events sent twice.
    const history = randomHistory({ n: 60, skus: [sku], locations: [...STORES], seed: 20261205, prefix: `${sku}-${process.pid}` }).map((e) => ({ ...e, source: 'pos-offline' }));
    // A re-send of an event still in flight in the log may be answered accepted again (see
    // src/ingest/ingest-events.ts); the reconciler applies it once, which the figures below prove.
    let answered = 0;
    const batches = shuffledBatches(history, [3, 17, 17, 42], 7, [9, 1, 25]);
    for (const b of batches) {
      const r = await tillBatch(b);
      expect(r.rejected).toEqual([]);
      answered += r.accepted + r.duplicates;
    }
    expect(answered).toBe(batches.flat().length);
    const want = expectedPositions([...known, ...history]);
    const atp: Figures = {};
    for (const l of STORES) {
      const f = want.get(positionKey(sku, l))!;
      atp[l] = Math.max(0, f.onHand - f.unavailable);
    }
    await everyChannelShows(sku, atp, 'every channel at the reference fold');
    const a = await availability(sku);
    for (const l of STORES) expect(a.locations.find((x) => x.locationId === l)?.onHand, l).toBe(want.get(positionKey(sku, l))!.onHand);
    expect(amz.violations).toEqual([]);
    expect(sq.violations).toEqual([]);
  });

  it('a count import (POST /v1/imports/counts) reaches every channel; the same file again changes nothing', async () => {
    const sku = 'TRI-CNT';
    await count(sku, { 'ams-01': 1, 'utr-02': 1, 'wh-1': 1 });
    const countedAt = new Date().toISOString();
    const csv = ['sku,locationId,quantity,countedAt', `${sku},ams-01,7,${countedAt}`, `${sku},nowhere-9,3,${countedAt}`, `${sku},utr-02,2,${countedAt}`, `${sku},wh-1,4,${countedAt}`].join('\n');
    const post = async () => {
      const res = await fetch(`${s.url}/v1/imports/counts`, { method: 'POST', body: csv, headers: { ...OPS, 'content-type': 'text/csv' } });
      const json = (await res.json()) as { accepted: number; duplicates: number; rejected: Array<{ line: number; error: string }> };
      expect(res.status, JSON.stringify(json)).toBe(200);
      return json;
    };
    const first = await post();
    expect(first).toMatchObject({ accepted: 3, duplicates: 0 });
    expect(first.rejected).toEqual([{ line: 3, error: expect.stringContaining('locationId') }]);
    await everyChannelShows(sku, { 'ams-01': 7, 'utr-02': 2, 'wh-1': 4 }, 'the imported counts on every channel');
    expect(await post()).toMatchObject({ accepted: 0, duplicates: 3 });
    await new Promise((r) => setTimeout(r, 500));
    expect(shown(sku)).toEqual(expectedShown({ 'ams-01': 7, 'utr-02': 2, 'wh-1': 4 }));
    expect(amz.violations).toEqual([]);
    expect(sq.violations).toEqual([]);
  });

  it('import-counts killed mid-file and run again: each count lands once, and every channel converges to the newest counts', async () => {
    // 12,000 rows a position, each a later count than the one before, the newest last: a run
    // killed half way leaves older counts applied, and only the whole file gives the final ones.
    const perPosition = 12_000;
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    const last = (k: number) => (k * 7 + 3) % 11;
    const positions = RESUME_SKUS.flatMap((sku) => ALL.map((l) => ({ sku, l })));
    const lines = ['sku,locationId,quantity,countedAt'];
    for (let i = 0; i < perPosition; i++) {
      positions.forEach((p, k) => lines.push(`${p.sku},${p.l},${i === perPosition - 1 ? last(k) : 20 + ((i + k) % 50)},${new Date(t0 + i * 1000).toISOString()}`));
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnistock-three-'));
    const file = path.join(dir, 'counts.csv');
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const rows = lines.length - 1;
    const countsApplied = async () => (await s.db.query<{ n: number; ids: number }>(
      "SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS ids FROM ledger_entries WHERE kind = 'stock.counted' AND sku LIKE 'TRI-RES-%'",
    ))[0]!;
    try {
      const args = ['import-counts', file, '--url', s.url!, '--token', 'ops-secret'];
      const first = spawnService(args, {});
      await first.waitFor(/importing counts: ([5-9]\d|100)%/, 120_000);
      await first.kill('SIGKILL');
      // What the killed run got into the log is applied; let it drain (stable for 2 s).
      await waitUntil(async () => (await countsApplied()).n > 0, 60_000, 'the killed run\'s counts applied');
      let applied = -1;
      for (let seen = (await countsApplied()).n; seen !== applied; seen = (await countsApplied()).n) {
        applied = seen;
        await new Promise((r) => setTimeout(r, 2000));
      }
      expect(applied, 'killed mid-file: not every row').toBeLessThan(rows);
      const second = spawnService(args, {});
      expect(await second.exited, second.output()).toBe(0);
      const summary = /(\d+) accepted, (\d+) duplicates, (\d+) rejected/.exec(second.output());
      expect(summary, second.output()).not.toBeNull();
      const [accepted, duplicates, rejected] = summary!.slice(1).map(Number);
      expect(accepted! + duplicates!).toBe(rows);
      expect(rejected).toBe(0);
      expect(duplicates, 'the rows the killed run applied are duplicates now').toBeGreaterThanOrEqual(applied);
      await waitUntil(async () => (await countsApplied()).n === rows, 120_000, 'every count applied');
      expect(await countsApplied()).toEqual({ n: rows, ids: rows }); // each row once, none twice
      for (const [i, sku] of RESUME_SKUS.entries()) {
        const atp = Object.fromEntries(ALL.map((l, j) => [l, last(i * ALL.length + j)])) as Figures;
        await everyChannelShows(sku, atp, `${sku}: the newest counts on every channel`);
      }
      expect(amz.violations).toEqual([]);
      expect(sq.violations).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
