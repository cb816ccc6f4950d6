// The `pos` kind end to end on one deployment: tills post signed §3 batches to
// POST /webhooks/pos/{channelId}; each event goes through the ingest path once (per eventId),
// late offline history lands as of occurredAt, and bad input is refused visibly (401 for a bad
// signature, 400 problem+json for a malformed batch, per-event reasons for unknown SKUs and
// locations, all in the channel's status, quarantine and metrics). Run by pos-channel-*.test.ts.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../src/service/service.js';
import type { StockEvent } from '../src/core/stock-event.js';
import { positionKey } from '../src/core/ids.js';
import { signPosBody } from '../connectors/pos/pos-kind.js';
import type { Deployment } from './spine/deployments.js';
import { api, counted, eventId, postEvents, putLocations, startWith, waitUntil } from './channels-harness.js';
import { expectedPositions, randomHistory } from './support/stock-history.js';
import { shuffledBatches } from './support/delivery.js';

const POS_SECRET = 'pos-till-secret-0123456789abcdef';

export function definePosChannelSuite(makeDeployment: () => Promise<Deployment>) {
  let d: Deployment;
  let s: RunningService;

  const post = async (channel: string, body: string, signature = signPosBody(POS_SECRET, body)) => {
    const res = await fetch(`${s.url}/webhooks/pos/${channel}`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-signature': signature } });
    const text = await res.text();
    let json: any = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, json, type: res.headers.get('content-type') ?? '' };
  };
  const batch = (channel: string, events: unknown[]) => post(channel, JSON.stringify({ events }));
  const figures = async (sku: string) => {
    const r = await api(s, 'GET', `/v1/availability/${sku}`);
    const out = new Map<string, { onHand: number; unavailable: number }>();
    for (const l of (r.json?.locations ?? []) as Array<{ locationId: string; onHand: number; unavailable: number }>) out.set(l.locationId, { onHand: l.onHand, unavailable: l.unavailable });
    return out;
  };
  const sale = (sku: string, locationId: string, quantity: number, occurredAt: string) => ({ eventId: eventId('till'), type: 'stock.sold', sku, locationId, quantity, occurredAt, source: 'pos-ams-01' });

  beforeAll(async () => {
    d = await makeDeployment();
    s = await startWith(d);
    await putLocations(s);
    const put = await api(s, 'PUT', '/v1/channels/till', { kind: 'pos', pool: ['ams-01'], settings: { secret: POS_SECRET } });
    expect(put.status, JSON.stringify(put.json)).toBe(201);
    const restricted = await api(s, 'PUT', '/v1/channels/till-ams', { kind: 'pos', pool: ['ams-01'], settings: { secret: POS_SECRET, locationIds: ['ams-01'] } });
    expect(restricted.status, JSON.stringify(restricted.json)).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await s?.stop();
    await d?.cleanup();
  });

  describe('pos channel', () => {
    it('a signed batch lands once per eventId; a re-sent or overlapping batch applies nothing twice', async () => {
      await postEvents(s, [counted('TILL-1', 'ams-01', 20)]);
      const a = sale('TILL-1', 'ams-01', 2, new Date().toISOString());
      const b = sale('TILL-1', 'ams-01', 3, new Date().toISOString());
      const first = await batch('till', [a, b]);
      expect(first.status, JSON.stringify(first.json)).toBe(200);
      expect(first.json).toMatchObject({ outcome: 'applied', accepted: 2, duplicates: 0, rejected: [] });
      await waitUntil(async () => (await figures('TILL-1')).get('ams-01')?.onHand === 15, 20_000, 'batch applied');
      const c = sale('TILL-1', 'ams-01', 1, new Date().toISOString());
      const again = await batch('till', [a, b, c]);
      expect(again.json).toMatchObject({ accepted: 1, duplicates: 2 });
      await waitUntil(async () => (await figures('TILL-1')).get('ams-01')?.onHand === 14, 20_000, 'overlap applied');
      expect((await batch('till', [c])).json).toMatchObject({ outcome: 'ignored', accepted: 0, duplicates: 1 });
      await new Promise((r) => setTimeout(r, 300));
      expect((await figures('TILL-1')).get('ams-01')?.onHand).toBe(14);
    });

    it('a late offline batch lands as of occurredAt: sales before a count are inside it, sales after it count', async () => {
      const t = (min: number) => new Date(Date.parse('2026-12-04T10:00:00Z') + min * 60_000).toISOString();
      // The count at 10:30 found 12; a sale at 10:45 was posted live.
      await postEvents(s, [{ ...counted('TILL-2', 'ams-01', 12, t(30)) }, { ...sale('TILL-2', 'ams-01', 1, t(45)), source: 'live' }]);
      await waitUntil(async () => (await figures('TILL-2')).get('ams-01')?.onHand === 11, 20_000, 'count and live sale');
      // The offline till comes back: 3 sold before the count (already inside it), 2 after.
      const r = await batch('till', [sale('TILL-2', 'ams-01', 3, t(10)), sale('TILL-2', 'ams-01', 2, t(40))]);
      expect(r.json).toMatchObject({ accepted: 2, rejected: [] });
      await waitUntil(async () => (await figures('TILL-2')).get('ams-01')?.onHand === 9, 20_000, 'late batch');
      await new Promise((r2) => setTimeout(r2, 300));
      expect((await figures('TILL-2')).get('ams-01')?.onHand).toBe(9);
    });

    it('a bad signature is refused with 401 problem+json, changes nothing, and shows in status and metrics', async () => {
      await postEvents(s, [counted('TILL-3', 'ams-01', 5)]);
      const body = JSON.stringify({ events: [sale('TILL-3', 'ams-01', 1, new Date().toISOString())] });
      for (const sig of [signPosBody('another-secret-0123456789', body), 'sha256=', '']) {
        const r = await post('till', body, sig);
        expect(r.status).toBe(401);
        expect(r.type).toContain('application/problem+json');
      }
      const tampered = await post('till', body.replace('"quantity":1', '"quantity":4'), signPosBody(POS_SECRET, body));
      expect(tampered.status).toBe(401);
      await new Promise((r) => setTimeout(r, 300));
      expect((await figures('TILL-3')).get('ams-01')?.onHand).toBe(5);
      const status = await api(s, 'GET', '/v1/channels/till/status');
      expect(JSON.stringify(status.json)).toContain('bad signature');
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toMatch(/omnistock_channel_webhooks_total\{channel="till",outcome="bad-signature"\} [4-9]/);
    });

    it('a malformed batch is refused with 400 problem+json naming the field, and quarantined', async () => {
      const before = (await api(s, 'GET', '/v1/channels/till/status')).json.quarantined as number;
      const cases: Array<[string, RegExp]> = [
        ['not json', /body: not JSON/],
        [JSON.stringify({ events: [] }), /events: .*at least one/],
        [JSON.stringify({ sales: [] }), /events: /],
        [JSON.stringify({ events: Array.from({ length: 1001 }, () => sale('TILL-4', 'ams-01', 1, new Date().toISOString())) }), /events: at most 1000/],
      ];
      for (const [body, reason] of cases) {
        const r = await post('till', body);
        expect(r.status, body.slice(0, 40)).toBe(400);
        expect(r.type).toContain('application/problem+json');
        expect(r.json.detail).toMatch(reason);
      }
      const status = await api(s, 'GET', '/v1/channels/till/status');
      expect(status.json.quarantined).toBe(before + cases.length);
      // 1,000 is allowed.
      await postEvents(s, [counted('TILL-4', 'ams-01', 5000)]);
      const full = await batch('till', Array.from({ length: 1000 }, () => sale('TILL-4', 'ams-01', 1, new Date().toISOString())));
      expect(full.status).toBe(200);
      expect(full.json.accepted).toBe(1000);
      await waitUntil(async () => (await figures('TILL-4')).get('ams-01')?.onHand === 4000, 30_000, '1,000 events');
    });

    it('unknown SKUs, unknown or foreign locations and invalid events are refused one by one with reasons; the valid ones beside them land', async () => {
      await postEvents(s, [counted('TILL-5', 'ams-01', 10), counted('TILL-5', 'utr-02', 10)]);
      const now = new Date().toISOString();
      const events = [
        sale('TILL-5', 'ams-01', 1, now),
        sale('NO-SUCH-SKU', 'ams-01', 1, now),
        sale('TILL-5', 'mars-01', 1, now),
        { ...sale('TILL-5', 'ams-01', 1, now), quantity: 1.5 },
        sale('TILL-5', 'utr-02', 1, now),
        { eventId: eventId('till'), type: 'stock.received', sku: 'TILL-5-NEW', locationId: 'ams-01', quantity: 4, occurredAt: now, source: 'pos' },
      ];
      const r = await batch('till', events);
      expect(r.status).toBe(200);
      expect(r.json.outcome).toBe('quarantined');
      expect(r.json.accepted).toBe(3);
      expect(r.json.rejected.map((x: { index: number }) => x.index)).toEqual([1, 2, 3]);
      expect(r.json.rejected[0].reason).toMatch(/sku: unknown SKU "NO-SUCH-SKU"/);
      expect(r.json.rejected[1].reason).toMatch(/locationId: unknown location "mars-01"/);
      expect(r.json.rejected[2].reason).toMatch(/quantity/);
      await waitUntil(async () => {
        const f = await figures('TILL-5');
        return f.get('ams-01')?.onHand === 9 && f.get('utr-02')?.onHand === 9;
      }, 20_000, 'valid events beside the bad ones');
      await waitUntil(async () => (await figures('TILL-5-NEW')).get('ams-01')?.onHand === 4, 20_000, 'receipt introduces a SKU');
      const q = await api(s, 'GET', '/v1/channels/till/quarantine');
      const reasons = JSON.stringify(q.json);
      expect(reasons).toContain('unknown SKU \\"NO-SUCH-SKU\\"');
      expect(reasons).toContain('mars-01');
      // A till restricted to its store: another store's event is refused with its reason.
      const foreign = await batch('till-ams', [sale('TILL-5', 'utr-02', 1, now), sale('TILL-5', 'ams-01', 1, now)]);
      expect(foreign.json.accepted).toBe(1);
      expect(foreign.json.rejected[0].reason).toMatch(/"utr-02" is not one of this channel's locationIds/);
      const status = await api(s, 'GET', '/v1/channels/till-ams/status');
      expect(status.json.quarantined).toBe(1);
    });

    it('property: an offline history posted in any batches, any order, with re-sends, ends at the in-order reference fold', async () => {
      let run = 0;
      await fc.assert(fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 5, max: 40 }),
        async (seed, redeliver, sizes, n) => {
          run += 1;
          const sku = `PROP-${process.pid}-${run}`;
          const locations = ['ams-01', 'utr-02'];
          // The SKU is known before the till's history arrives (a sale may be the first to land).
          const seedEvents: StockEvent[] = locations.map((l) => ({ eventId: eventId('seed'), type: 'stock.received', sku, locationId: l, quantity: 1, occurredAt: '2026-10-01T00:00:00.000Z', source: 'seed' }));
          await postEvents(s, seedEvents);
          const history = randomHistory({ n, skus: [sku], locations, seed, prefix: `${sku}-h` }).map((e) => ({ ...e, source: 'pos-offline' }));
          for (const b of shuffledBatches(history, redeliver, seed, sizes)) {
            const r = await batch('till', b);
            expect(r.status, JSON.stringify(r.json)).toBe(200);
            expect(r.json.rejected).toEqual([]);
          }
          const want = expectedPositions([...seedEvents, ...history]);
          const matches = async () => {
            const got = await figures(sku);
            return locations.every((l) => {
              const w = want.get(positionKey(sku, l));
              const g = got.get(l);
              return w !== undefined && g !== undefined && g.onHand === w.onHand && g.unavailable === w.unavailable;
            });
          };
          await waitUntil(matches, 20_000, `${sku} at the reference fold`);
          await new Promise((r) => setTimeout(r, 100));
          expect(await matches()).toBe(true);
        },
      ), { numRuns: 12 });
    }, 300_000);
  });
}
