// Routing wired into the service (contract §7): plans through HTTP, holding plans atomically
// with daily capacity, re-planning when stock moved, pickup, explain, store rejects with
// re-routing, idempotency and bad input. One suite, run on real PostgreSQL and on PGlite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
import { rebuildPositions } from '../src/ledger/rebuild.js';
import { RejectService } from '../src/routing/reject-service.js';
import {
  addLocation, applyStock, countRow, NO_ROUTING_TOKEN, startRouting, stockRow, TOKEN, type RoutingHarness,
} from './routing-support.js';
import { openTestDb, type Kind } from './support/test-database.js';

const DEST = { lat: 52.09, lon: 5.12 };
const auth = { authorization: `Bearer ${TOKEN}` };

function defineSuite(kind: Kind): void {
  describe(`routing on ${kind}`, () => {
    let db: Database;
    let close: () => Promise<void>;
    let h: RoutingHarness;

    beforeAll(async () => {
      ({ db, close } = await openTestDb(kind));
      await addLocation(db, 'utr-02', { lat: 52.091, lon: 5.121, pickup: true, rank: 10 });
      await addLocation(db, 'ams-01', { lat: 52.37, lon: 4.89, pickup: true });
      await addLocation(db, 'wh-1', { type: 'warehouse', lat: 52.0, lon: 5.5, shipFromStore: false });
      await addLocation(db, 'rot-03', { lat: 51.92, lon: 4.48, pickup: true, shipFromStore: false });
      await addLocation(db, 'off-09', { type: 'warehouse', lat: 52.09, lon: 5.12, active: false });
      await addLocation(db, 'cap-1', { type: 'warehouse', lat: 52.1, lon: 5.2, dailyCapacity: 1 });
      await addLocation(db, 'grn-05', { lat: 53.22, lon: 6.57, pickup: true });
      await applyStock(db, [
        // §7 order
        stockRow('O-A', 'utr-02', 2), stockRow('O-A', 'ams-01', 5), stockRow('O-B', 'ams-01', 5), stockRow('O-B', 'wh-1', 5), stockRow('O-A', 'off-09', 9),
        // reserve
        stockRow('R-1', 'wh-1', 3),
        // capacity
        stockRow('C-1', 'cap-1', 10), stockRow('C-1', 'wh-1', 10),
        // moved stock
        stockRow('M-1', 'utr-02', 1), stockRow('M-1', 'ams-01', 1), stockRow('M-2', 'utr-02', 1), stockRow('M-2', 'ams-01', 1),
        // pickup
        stockRow('P-1', 'utr-02', 5), stockRow('P-1', 'rot-03', 5), stockRow('P-1', 'grn-05', 5),
        // reject
        stockRow('J-1', 'utr-02', 3), stockRow('J-1', 'wh-1', 5), stockRow('J-2', 'utr-02', 2), stockRow('J-2', 'ams-01', 2),
        // idempotency
        stockRow('I-1', 'wh-1', 4),
        // no destination, locationIds
        stockRow('N-1', 'utr-02', 2), stockRow('N-1', 'ams-01', 5), stockRow('N-1', 'wh-1', 5),
        stockRow('N-3', 'utr-02', 5), stockRow('N-3', 'ams-01', 5), stockRow('N-3', 'wh-1', 5),
      ]);
      h = await startRouting(db);
    });
    afterAll(async () => {
      await h?.close();
      await close?.();
    });

    const post = (url: string, payload: unknown, headers: Record<string, string> = auth) =>
      h.app.inject({ method: 'POST', url, headers, payload: payload as object });
    const plan = (body: Record<string, unknown>, query = '') =>
      post(`/v1/routing/plan${query}`, { channel: 'web', method: 'ship', destination: DEST, ...body });
    const availability = async (sku: string, locationId: string) => {
      const res = await h.app.inject({ method: 'GET', url: `/v1/availability/${sku}`, headers: auth });
      return (res.json() as { locations: Array<{ locationId: string; onHand: number; reserved: number; unavailable: number; atp: number }> })
        .locations.find((l) => l.locationId === locationId);
    };

    it('ship: fewest shipments first, then distance; the answer has the §7 shape', async () => {
      const both = await plan({ lines: [{ sku: 'O-A', quantity: 2 }, { sku: 'O-B', quantity: 1 }] });
      expect(both.statusCode).toBe(200);
      const b = both.json();
      // utr-02 is nearest but holds only O-A; ams-01 covers the whole order in one shipment
      expect(b).toMatchObject({ feasible: true, unassigned: [], reservationId: null });
      expect(b.shipments).toEqual([{ locationId: 'ams-01', distanceKm: expect.any(Number), lines: [{ sku: 'O-A', quantity: 2 }, { sku: 'O-B', quantity: 1 }] }]);
      expect(b.shipments[0].distanceKm).toBeGreaterThan(30);
      const one = (await plan({ lines: [{ sku: 'O-A', quantity: 1 }] })).json();
      expect(one.shipments.map((s: { locationId: string }) => s.locationId)).toEqual(['utr-02']);
      // more than the network holds (inactive off-09 does not count): best partial plan + unassigned
      const short = (await plan({ lines: [{ sku: 'O-A', quantity: 9 }] })).json();
      expect(short.feasible).toBe(false);
      expect(short.unassigned).toEqual([{ sku: 'O-A', quantity: 2 }]);
      expect(short.shipments.map((s: { locationId: string }) => s.locationId).sort()).toEqual(['ams-01', 'utr-02']);
    });

    it('explain lists every candidate with why it was taken or dropped', async () => {
      const res = await plan({ lines: [{ sku: 'O-A', quantity: 1 }] }, '?explain=true');
      const e = res.json().explain as { method: string; candidates: Array<{ locationId: string; decision: string; reason: string }> };
      expect(e.method).toBe('exact');
      const reason = (id: string) => e.candidates.find((c) => c.locationId === id);
      expect(e.candidates).toHaveLength(7);
      expect(reason('utr-02')).toMatchObject({ decision: 'chosen', reason: 'best plan' });
      expect(reason('off-09')).toMatchObject({ decision: 'dropped', reason: 'inactive' });
      expect(reason('rot-03')).toMatchObject({ decision: 'dropped', reason: 'not a ship location' });
      expect(reason('wh-1')).toMatchObject({ decision: 'dropped', reason: 'no stock' });
      expect(reason('ams-01')).toMatchObject({ decision: 'dropped', reason: 'farther' });
      const plain = await plan({ lines: [{ sku: 'O-A', quantity: 1 }] });
      expect(plain.json().explain).toBeUndefined();
    });

    it('reserve holds the plan as one reservation; availability shows it reserved', async () => {
      const res = await plan({ orderRef: 'r-1', lines: [{ sku: 'R-1', quantity: 2 }], reserve: { ttlSeconds: 600 } });
      expect(res.statusCode).toBe(200);
      const b = res.json();
      expect(b.feasible).toBe(true);
      expect(b.reservationId).toMatch(/^res_/);
      expect(b.reservation).toMatchObject({ reservationId: b.reservationId, status: 'held', channel: 'web', orderRef: 'r-1' });
      expect(b.reservation.lines).toEqual([{ lineNo: 1, sku: 'R-1', locationId: 'wh-1', quantity: 2, state: 'held' }]);
      expect(await availability('R-1', 'wh-1')).toMatchObject({ onHand: 3, reserved: 2, atp: 1 });
      const lines = await db.query<{ shipment_no: number; capacity_day: string }>(
        'SELECT shipment_no, capacity_day::text AS capacity_day FROM reservation_lines WHERE reservation_id = $1', [b.reservationId],
      );
      expect(lines).toEqual([{ shipment_no: 1, capacity_day: new Date().toISOString().slice(0, 10) }]);
      // the index saw the hold: only 1 left, so 2 more is infeasible and holds nothing
      const more = (await plan({ lines: [{ sku: 'R-1', quantity: 2 }], reserve: { ttlSeconds: 600 } })).json();
      expect(more).toMatchObject({ feasible: false, reservationId: null, unassigned: [{ sku: 'R-1', quantity: 1 }] });
      expect(await availability('R-1', 'wh-1')).toMatchObject({ reserved: 2 });
    });

    it('daily capacity: a used-up location is skipped, a release gives its capacity back', async () => {
      const first = (await plan({ lines: [{ sku: 'C-1', quantity: 1 }], reserve: { ttlSeconds: 600 } })).json();
      expect(first.shipments[0].locationId).toBe('cap-1');
      const second = (await plan({ lines: [{ sku: 'C-1', quantity: 1 }], reserve: { ttlSeconds: 600 } }, '?explain=true')).json();
      expect(second.shipments[0].locationId).toBe('wh-1');
      expect(second.explain.candidates.find((c: { locationId: string }) => c.locationId === 'cap-1')).toMatchObject({ reason: 'capacity used up' });
      const usage = async () => (await db.query<{ used: number }>(`SELECT used FROM location_capacity_usage WHERE location_id = 'cap-1'`))[0]?.used;
      expect(await usage()).toBe(1);
      expect((await post(`/v1/reservations/${first.reservationId}/release`, {})).statusCode).toBe(200);
      expect(await usage()).toBe(0);
      await h.index.settle();
      const third = (await plan({ lines: [{ sku: 'C-1', quantity: 1 }], reserve: { ttlSeconds: 600 } })).json();
      expect(third.shipments[0].locationId).toBe('cap-1');
    });

    it('stock moved between plan and hold: re-plans once, and answers 409 when the re-plan misses too', async () => {
      // a sale the index has not heard of: utr-02 (nearest) no longer holds M-1
      await applyStock(db, [stockRow('M-1', 'utr-02', -1)]);
      const before = h.routing.stats.replans;
      const res = await plan({ lines: [{ sku: 'M-1', quantity: 1 }], reserve: { ttlSeconds: 600 } });
      expect(res.statusCode).toBe(200);
      expect(res.json().shipments[0].locationId).toBe('ams-01');
      expect(h.routing.stats.replans).toBe(before + 1);

      // every attempt loses the race: a sale lands at the planned location right before each hold
      const racing = await startRouting(db, {
        beforeHold: async (_attempt, p) => applyStock(db, p.shipments.map((s) => stockRow(s.lines[0]!.sku, s.locationId, -1))),
      });
      try {
        const lost = await racing.app.inject({
          method: 'POST', url: '/v1/routing/plan', headers: auth,
          payload: { method: 'ship', destination: DEST, lines: [{ sku: 'M-2', quantity: 1 }], reserve: { ttlSeconds: 60, reservationId: 'race-1' } },
        });
        expect(lost.statusCode).toBe(409);
        expect(lost.headers['content-type']).toContain('application/problem+json');
        // first try utr-02 (nearest), re-planned to ams-01, which was sold too
        expect(lost.json().shortages).toEqual([{ sku: 'M-2', locationId: 'ams-01', requested: 1, available: 0 }]);
        expect(racing.routing.stats).toMatchObject({ replans: 1, conflicts: 1, held: 0 });
      } finally {
        await racing.close();
      }
      expect((await h.app.inject({ method: 'GET', url: '/v1/reservations/race-1', headers: auth })).statusCode).toBe(404);
    });

    it('capacity used up by another instance between plan and hold: re-plans to the next location', async () => {
      await addLocation(db, 'cap-2', { type: 'warehouse', lat: 52.092, lon: 5.122, dailyCapacity: 1 });
      await applyStock(db, [stockRow('C-2', 'cap-2', 5), stockRow('C-2', 'wh-1', 5)]);
      await h.index.refreshSkus(['C-2'], ['cap-2', 'wh-1']);
      const day = new Date().toISOString().slice(0, 10);
      // Another API process took cap-2's last shipment for today; this index has not heard of it.
      await db.query(`INSERT INTO location_capacity_usage (location_id, day, used) VALUES ('cap-2', $1::date, 1)`, [day]);
      const before = h.routing.stats.replans;
      const res = await plan({ lines: [{ sku: 'C-2', quantity: 2 }], reserve: { ttlSeconds: 600 } });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ feasible: true, shipments: [{ locationId: 'wh-1' }] });
      expect(h.routing.stats.replans).toBe(before + 1);
      // cap-2 was not over-assigned, and nothing of C-2 is held there
      expect(await db.query(`SELECT used FROM location_capacity_usage WHERE location_id = 'cap-2'`)).toEqual([{ used: 1 }]);
      expect(await availability('C-2', 'cap-2')).toMatchObject({ reserved: 0, atp: 5 });
      expect(await availability('C-2', 'wh-1')).toMatchObject({ reserved: 2 });
    });

    it('pickup: the named store, the nearest store, alternatives within radiusKm', async () => {
      const named = (await plan({ method: 'pickup', destination: undefined, pickupLocationId: 'utr-02', lines: [{ sku: 'P-1', quantity: 2 }] })).json();
      expect(named).toMatchObject({ feasible: true, shipments: [{ locationId: 'utr-02', distanceKm: 0, lines: [{ sku: 'P-1', quantity: 2 }] }] });
      const nearest = (await plan({ method: 'pickup', destination: { lat: 51.93, lon: 4.5 }, lines: [{ sku: 'P-1', quantity: 1 }] })).json();
      expect(nearest.shipments[0].locationId).toBe('rot-03');
      // ams-01 has none: alternatives nearest to ams-01 first, within 50 km by default
      const alt = (await plan({ method: 'pickup', destination: undefined, pickupLocationId: 'ams-01', lines: [{ sku: 'P-1', quantity: 1 }] })).json();
      expect(alt).toMatchObject({ feasible: false, shipments: [], unassigned: [{ sku: 'P-1', quantity: 1 }] });
      expect(alt.alternatives.map((a: { locationId: string }) => a.locationId)).toEqual(['utr-02']);
      const wide = (await plan({ method: 'pickup', destination: undefined, pickupLocationId: 'ams-01', radiusKm: 100, lines: [{ sku: 'P-1', quantity: 1 }] })).json();
      expect(wide.alternatives.map((a: { locationId: string }) => a.locationId)).toEqual(['utr-02', 'rot-03']);
      expect(wide.alternatives[0].distanceKm).toBeGreaterThan(30);
      // pickup holds stock but no shipping capacity
      const held = (await plan({ method: 'pickup', destination: undefined, pickupLocationId: 'rot-03', lines: [{ sku: 'P-1', quantity: 1 }], reserve: { ttlSeconds: 60 } })).json();
      expect(held.reservation.lines).toEqual([{ lineNo: 1, sku: 'P-1', locationId: 'rot-03', quantity: 1, state: 'held' }]);
      expect(await db.query(`SELECT 1 FROM location_capacity_usage WHERE location_id = 'rot-03'`)).toEqual([]);
    });

    it('ship without destination (§7): rank, then id; distanceKm null; held, replayed and re-routed without one', async () => {
      const noDest = (body: Record<string, unknown>) => plan({ ...body, destination: undefined });
      const two = await noDest({ lines: [{ sku: 'N-1', quantity: 2 }] });
      expect(two.statusCode, two.body).toBe(200);
      // utr-02 has rank 10: it wins though wh-1 / ams-01 hold more
      expect(two.json()).toMatchObject({ feasible: true, unassigned: [], shipments: [{ locationId: 'utr-02', distanceKm: null, lines: [{ sku: 'N-1', quantity: 2 }] }] });
      // 3 units: utr-02 alone cannot; one shipment from ams-01 or wh-1 (both rank 100): the id decides
      expect((await noDest({ lines: [{ sku: 'N-1', quantity: 3 }] })).json().shipments).toEqual([{ locationId: 'ams-01', distanceKm: null, lines: [{ sku: 'N-1', quantity: 3 }] }]);
      // explain: candidates without distances
      const ex = (await plan({ destination: undefined, lines: [{ sku: 'N-1', quantity: 3 }] }, '?explain=true')).json();
      expect(ex.explain.candidates.every((c: { distanceKm: number | null }) => c.distanceKm === null)).toBe(true);

      const body = { orderRef: 'n-1', lines: [{ sku: 'N-1', quantity: 2 }], reserve: { ttlSeconds: 600, reservationId: 'nodest-1' } };
      const held = (await noDest(body)).json();
      expect(held.shipments).toEqual([{ locationId: 'utr-02', distanceKm: null, lines: [{ sku: 'N-1', quantity: 2 }] }]);
      expect(await availability('N-1', 'utr-02')).toMatchObject({ reserved: 2 });
      // replay: same plan, still no distance
      expect((await noDest(body)).json().shipments).toEqual(held.shipments);
      // a store rejects: re-routed without destination
      const rej = await post('/v1/reservations/nodest-1/reject', { lines: [{ sku: 'N-1', locationId: 'utr-02', quantity: 2, reason: 'other' }] });
      expect(rej.statusCode, rej.body).toBe(200);
      expect(rej.json().plan).toEqual({ shipments: [{ locationId: 'ams-01', distanceKm: null, lines: [{ sku: 'N-1', quantity: 2 }] }], unassigned: [] });
      expect((await post('/v1/reservations/nodest-1/release', {})).statusCode).toBe(200);
      expect((await rebuildPositions(db, { verify: true })).differences).toEqual([]);
    });

    it('locationIds (our extension) restricts ship candidates and pickup choices / alternatives', async () => {
      // with DEST utr-02 is nearest, but not allowed; wh-1 is nearer than ams-01
      const ship = (await plan({ lines: [{ sku: 'N-3', quantity: 1 }], locationIds: ['wh-1', 'ams-01'] })).json();
      expect(ship.shipments.map((s: { locationId: string }) => s.locationId)).toEqual(['wh-1']);
      // without destination: ams-01 < wh-1 on the id (equal ranks)
      const noDest = (await plan({ destination: undefined, lines: [{ sku: 'N-3', quantity: 1 }], locationIds: ['wh-1', 'ams-01'] })).json();
      expect(noDest.shipments).toEqual([{ locationId: 'ams-01', distanceKm: null, lines: [{ sku: 'N-3', quantity: 1 }] }]);
      // more than the allowed locations hold: partial, not spilling outside
      const short = (await plan({ lines: [{ sku: 'N-3', quantity: 7 }], locationIds: ['wh-1'] })).json();
      expect(short).toMatchObject({ feasible: false, unassigned: [{ sku: 'N-3', quantity: 2 }], shipments: [{ locationId: 'wh-1' }] });
      // pickup: the nearest allowed store, and only allowed alternatives
      const near = (await plan({ method: 'pickup', lines: [{ sku: 'P-1', quantity: 1 }], locationIds: ['rot-03', 'grn-05'] })).json();
      expect(near.shipments[0].locationId).toBe('rot-03');
      const alt = (await plan({ method: 'pickup', destination: undefined, pickupLocationId: 'ams-01', radiusKm: 300, lines: [{ sku: 'P-1', quantity: 1 }], locationIds: ['ams-01', 'grn-05'] })).json();
      expect(alt).toMatchObject({ feasible: false, alternatives: [{ locationId: 'grn-05' }] });
      expect(alt.alternatives).toHaveLength(1);
      const outside = await plan({ method: 'pickup', destination: undefined, pickupLocationId: 'utr-02', lines: [{ sku: 'P-1', quantity: 1 }], locationIds: ['grn-05'] });
      expect(outside.statusCode).toBe(400);
      expect(outside.json().errors[0].field).toBe('body.pickupLocationId');
    });

    it('holdPartial (in-process, the channel sink): an infeasible plan holds its partial plan; a replay reports the rest as unassigned', async () => {
      const req = { method: 'ship' as const, lines: [{ sku: 'N-3', quantity: 12 }], locationIds: ['ams-01', 'wh-1'], reserve: { ttlSeconds: 600, reservationId: 'partial-1' } };
      // over HTTP an infeasible plan is never held
      const http = (await plan({ ...req, destination: undefined, reserve: { ttlSeconds: 600, reservationId: 'partial-0' } })).json();
      expect(http).toMatchObject({ feasible: false, reservationId: null, unassigned: [{ sku: 'N-3', quantity: 2 }] });
      const first = await h.routing.plan(req, { channel: 'sink', holdPartial: true });
      expect(first).toMatchObject({ feasible: false, reservationId: 'partial-1', unassigned: [{ sku: 'N-3', quantity: 2 }] });
      expect(first.shipments.map((x) => x.locationId).sort()).toEqual(['ams-01', 'wh-1']);
      expect(first.shipments.every((x) => x.distanceKm === null)).toBe(true);
      expect(await availability('N-3', 'ams-01')).toMatchObject({ reserved: 5 });
      expect(await availability('N-3', 'wh-1')).toMatchObject({ reserved: 5 });
      const again = await h.routing.plan(req, { channel: 'sink', holdPartial: true });
      expect(again).toMatchObject({ feasible: false, reservationId: 'partial-1', unassigned: [{ sku: 'N-3', quantity: 2 }] });
      expect(await availability('N-3', 'wh-1')).toMatchObject({ reserved: 5 });
      expect((await post('/v1/reservations/partial-1/release', {})).statusCode).toBe(200);
      expect(await availability('N-3', 'ams-01')).toMatchObject({ reserved: 0 });
    });

    it('reject not_found: unavailable, flagged for a count, re-routed as new lines of the same reservation; a later count clears it', async () => {
      const planned = (await plan({ lines: [{ sku: 'J-1', quantity: 2 }], reserve: { ttlSeconds: 600, reservationId: 'rej-1' } })).json();
      expect(planned.shipments[0].locationId).toBe('utr-02');
      const res = await post('/v1/reservations/rej-1/reject', { lines: [{ sku: 'J-1', locationId: 'utr-02', quantity: 2, reason: 'not_found' }] });
      expect(res.statusCode).toBe(200);
      const b = res.json();
      expect(b.plan).toEqual({ shipments: [{ locationId: 'wh-1', distanceKm: expect.any(Number), lines: [{ sku: 'J-1', quantity: 2 }] }], unassigned: [] });
      expect(b.reservation.status).toBe('held');
      expect(b.reservation.lines).toEqual([
        { lineNo: 1, sku: 'J-1', locationId: 'utr-02', quantity: 2, state: 'rejected' },
        { lineNo: 2, sku: 'J-1', locationId: 'wh-1', quantity: 2, state: 'held' },
      ]);
      const lines = await db.query<{ line_no: number; shipment_no: number; replaces_line_no: number | null; reason: string | null }>(
        'SELECT line_no, shipment_no, replaces_line_no, reason FROM reservation_lines WHERE reservation_id = $1 ORDER BY line_no', ['rej-1'],
      );
      expect(lines).toEqual([
        { line_no: 1, shipment_no: 1, replaces_line_no: null, reason: 'not_found' },
        { line_no: 2, shipment_no: 2, replaces_line_no: 1, reason: null },
      ]);
      expect(await availability('J-1', 'utr-02')).toMatchObject({ onHand: 3, reserved: 0, unavailable: 2, atp: 1 });
      expect(await availability('J-1', 'wh-1')).toMatchObject({ reserved: 2 });
      const flag = async () => (await db.query<{ requested: boolean; missing: number }>(
        `SELECT count_requested_at IS NOT NULL AS requested, missing FROM positions WHERE sku = 'J-1' AND location_id = 'utr-02'`,
      ))[0];
      expect(await flag()).toEqual({ requested: true, missing: 2 });
      // the index no longer promises the missing units at utr-02
      expect(h.index.index.atp('J-1', 'utr-02')).toBe(1);
      // positions still equal the ledger fold
      expect((await rebuildPositions(db, { verify: true })).differences).toEqual([]);

      // a count taken after the report: the store found them after all
      await applyStock(db, [countRow('J-1', 'utr-02', 3, Date.now() + 1000)]);
      expect(await flag()).toEqual({ requested: false, missing: 0 });
      expect(await availability('J-1', 'utr-02')).toMatchObject({ onHand: 3, unavailable: 0, atp: 3 });
      expect((await rebuildPositions(db, { verify: true })).differences).toEqual([]);
    });

    it('reject part of a line for another reason; errors: unknown id 404, too much 409, released 409', async () => {
      const planned = (await plan({ lines: [{ sku: 'J-2', quantity: 2 }], reserve: { ttlSeconds: 600, reservationId: 'rej-2' } })).json();
      expect(planned.shipments[0].locationId).toBe('utr-02');
      const res = await post('/v1/reservations/rej-2/reject', { lines: [{ sku: 'J-2', locationId: 'utr-02', quantity: 1, reason: 'damaged' }] });
      expect(res.statusCode).toBe(200);
      expect(res.json().reservation.lines).toEqual([
        { lineNo: 1, sku: 'J-2', locationId: 'utr-02', quantity: 1, state: 'held' },
        { lineNo: 2, sku: 'J-2', locationId: 'utr-02', quantity: 1, state: 'rejected' },
        { lineNo: 3, sku: 'J-2', locationId: 'ams-01', quantity: 1, state: 'held' },
      ]);
      expect(await availability('J-2', 'utr-02')).toMatchObject({ onHand: 2, reserved: 1, unavailable: 1, atp: 0 });

      expect((await post('/v1/reservations/nope/reject', { lines: [{ sku: 'J-2', locationId: 'utr-02', quantity: 1, reason: 'other' }] })).statusCode).toBe(404);
      const tooMuch = await post('/v1/reservations/rej-2/reject', { lines: [{ sku: 'J-2', locationId: 'utr-02', quantity: 2, reason: 'other' }] });
      expect(tooMuch.statusCode).toBe(409);
      const bad = await post('/v1/reservations/rej-2/reject', { lines: [{ sku: 'J-2', locationId: 'utr-02', quantity: 1, reason: 'lost' }] });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().errors[0].field).toBe('body.lines.0.reason');

      expect((await post('/v1/reservations/rej-2/release', {})).statusCode).toBe(200);
      expect(await availability('J-2', 'utr-02')).toMatchObject({ reserved: 0 });
      expect(await availability('J-2', 'ams-01')).toMatchObject({ reserved: 0 });
      const after = await post('/v1/reservations/rej-2/reject', { lines: [{ sku: 'J-2', locationId: 'utr-02', quantity: 1, reason: 'other' }] });
      expect(after.statusCode).toBe(409);
      expect((await rebuildPositions(db, { verify: true })).differences).toEqual([]);
    });

    it('idempotent: the same reservationId and body answers the same plan; another body is 409', async () => {
      const body = { orderRef: 'i-1', lines: [{ sku: 'I-1', quantity: 3 }], reserve: { ttlSeconds: 600, reservationId: 'idem-1' } };
      const a = await plan(body);
      const b = await plan(body);
      expect(a.statusCode).toBe(200);
      expect(b.statusCode).toBe(200);
      expect(b.json().shipments).toEqual(a.json().shipments);
      expect(b.json().reservationId).toBe('idem-1');
      expect(await availability('I-1', 'wh-1')).toMatchObject({ reserved: 3 });
      // top-level reservationId is the same key
      const c = await plan({ ...body, reserve: { ttlSeconds: 600 }, reservationId: 'idem-1' });
      expect(c.statusCode).toBe(200);
      const other = await plan({ ...body, lines: [{ sku: 'I-1', quantity: 1 }] });
      expect(other.statusCode).toBe(409);
      expect(await availability('I-1', 'wh-1')).toMatchObject({ reserved: 3 });
    });

    it('bad input is a 400 naming the field; no routing scope is 403', async () => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ lines: [{ sku: 'O-A', quantity: 0 }] }, 'body.lines.0.quantity'],
        [{ lines: [{ sku: 'O-A', quantity: -1 }] }, 'body.lines.0.quantity'],
        [{ lines: [{ sku: 'O-A', quantity: 1.5 }] }, 'body.lines.0.quantity'],
        [{ lines: Array.from({ length: 101 }, () => ({ sku: 'O-A', quantity: 1 })) }, 'body.lines'],
        [{ lines: [] }, 'body.lines'],
        [{ destination: { lat: 91, lon: 5 }, lines: [{ sku: 'O-A', quantity: 1 }] }, 'body.destination.lat'],
        [{ destination: { lat: 52, lon: 181 }, lines: [{ sku: 'O-A', quantity: 1 }] }, 'body.destination.lon'],
        [{ lines: [{ sku: 'bad sku!', quantity: 1 }] }, 'body.lines.0.sku'],
        [{ locationIds: ['nowhere'], lines: [{ sku: 'O-A', quantity: 1 }] }, 'body.locationIds'],
        [{ locationIds: [], lines: [{ sku: 'O-A', quantity: 1 }] }, 'body.locationIds'],
        [{ locationIds: ['bad id!'], lines: [{ sku: 'O-A', quantity: 1 }] }, 'body.locationIds.0'],
        [{ method: 'pickup', destination: undefined, lines: [{ sku: 'O-A', quantity: 1 }] }, 'body.pickupLocationId'],
        [{ method: 'drone', lines: [{ sku: 'O-A', quantity: 1 }] }, 'body.method'],
        [{ method: 'pickup', destination: undefined, pickupLocationId: 'nowhere', lines: [{ sku: 'O-A', quantity: 1 }] }, 'body.pickupLocationId'],
      ];
      for (const [body, field] of cases) {
        const res = await plan(body);
        expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
        expect(res.json().detail).toContain(field);
      }
      const forbidden = await post('/v1/routing/plan', { method: 'ship', destination: DEST, lines: [{ sku: 'O-A', quantity: 1 }] }, { authorization: `Bearer ${NO_ROUTING_TOKEN}` });
      expect(forbidden.statusCode).toBe(403);
      expect((await post('/v1/routing/plan', {}, {})).statusCode).toBe(401);
    });

    it('a location written through the store reaches the index at once', async () => {
      await applyStock(db, [stockRow('L-1', 'utr-02', 1)]);
      await h.index.refreshSkus(['L-1']);
      expect((await plan({ lines: [{ sku: 'L-1', quantity: 1 }] })).json().feasible).toBe(true);
      const put = await h.app.inject({
        method: 'PUT', url: '/v1/locations/utr-02', headers: auth,
        payload: { name: 'utr', type: 'store', lat: 52.091, lon: 5.121, pickup: true, rank: 10, shipFromStore: true, active: false },
      });
      expect(put.statusCode).toBe(200);
      expect((await plan({ lines: [{ sku: 'L-1', quantity: 1 }] })).json().feasible).toBe(false);
      await h.app.inject({
        method: 'PUT', url: '/v1/locations/utr-02', headers: auth,
        payload: { name: 'utr', type: 'store', lat: 52.091, lon: 5.121, pickup: true, rank: 10, shipFromStore: true, active: true },
      });
      expect((await plan({ lines: [{ sku: 'L-1', quantity: 1 }] })).json().feasible).toBe(true);
    });

    it('the full reload swaps in a fresh index that matches the database', async () => {
      await applyStock(db, [stockRow('F-1', 'ams-01', 4)]); // not announced
      expect(h.index.index.atp('F-1', 'ams-01')).toBe(0);
      await h.index.reload();
      expect(h.index.index.atp('F-1', 'ams-01')).toBe(4);
      expect(h.index.index.capacityUsed('cap-1')).toBe(1);
    });

    it('reject: a malformed id is 400; the service reports an unknown id', async () => {
      const svc = new RejectService({ db, routing: h.routing });
      await expect(svc.reject('race-1', { lines: [{ sku: 'M-2', locationId: 'ams-01', quantity: 1, reason: 'other' }] })).rejects.toThrow(/no reservation/);
      expect((await post('/v1/reservations/bad%20id/reject', { lines: [{ sku: 'A', locationId: 'x', quantity: 1, reason: 'other' }] })).statusCode).toBe(400);
    });
  });
}

defineSuite('pg');
defineSuite('pglite');
