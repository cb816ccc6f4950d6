// Reservations (contract §5): lifecycles, expiry with an injected clock, idempotency and bad
// input, through the service and through the HTTP app. One suite, run on real PostgreSQL and on
// embedded PGlite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../src/db/database.js';
import { buildApp } from '../src/http/app.js';
import { reservationRoutes } from '../src/http/routes/reservations.js';
import { writeLedger } from '../src/ledger/ledger-writer.js';
import type { LedgerRow } from '../src/ledger/ledger-row.js';
import { rebuildPositions } from '../src/ledger/rebuild.js';
import { upsertLocation } from '../src/locations/location-store.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { loadConfig, SCOPES } from '../src/config.js';
import { ReservationService } from '../src/reservations/reservation-service.js';
import { ReservationConflict, ReservationNotFound, ReservationShortage } from '../src/reservations/errors.js';
import { holdPositions, releasePositions } from '../src/reservations/reserved-positions.js';
import { openTestDb, type Kind } from './support/test-database.js';

let seq = 0;
function movement(sku: string, locationId: string, onHandDelta: number): LedgerRow {
  seq += 1;
  return {
    entryId: `test-${process.pid}-${seq}`, kind: onHandDelta >= 0 ? 'stock.received' : 'stock.sold', sku, locationId,
    occurredAt: Date.now(), countQuantity: null, onHandDelta, unavailableDelta: 0, missingDelta: 0, reservedDelta: 0,
    source: 'test', reason: null, reservationId: null,
  };
}

async function applyStock(db: Database, rows: LedgerRow[]): Promise<void> {
  await db.transaction((tx) => writeLedger(tx, rows, { dedupe: true }));
}

async function addLocation(db: Database, id: string, o: { safetyStock?: number; active?: boolean } = {}): Promise<void> {
  await upsertLocation(db, id, {
    name: id, type: 'store', lat: 52.37, lon: 4.89, shipFromStore: true, pickup: true, rank: 100, dailyCapacity: null,
    safetyStock: o.safetyStock ?? 0, active: o.active ?? true,
  });
}

async function position(db: Database, sku: string, locationId: string) {
  const rows = await db.query<{ on_hand: number; reserved: number; oversold: boolean }>(
    'SELECT on_hand, reserved, oversold FROM positions WHERE sku = $1 AND location_id = $2', [sku, locationId],
  );
  return rows[0] ?? null;
}

async function ledgerKinds(db: Database, reservationId: string): Promise<string[]> {
  return (await db.query<{ kind: string }>('SELECT kind FROM ledger_entries WHERE reservation_id = $1 ORDER BY id', [reservationId])).map((r) => r.kind);
}

const TOKEN = 'test-secret';
const NO_SCOPE_TOKEN = 'test-readonly';

function defineSuite(kind: Kind): void {
  describe(`reservations on ${kind}`, () => {
    let db: Database;
    let close: () => Promise<void>;
    let clock = new Date('2030-01-01T10:00:00.000Z');
    const now = () => clock;
    let service: ReservationService;
    let app: FastifyInstance;
    const auth = { authorization: `Bearer ${TOKEN}` };

    beforeAll(async () => {
      ({ db, close } = await openTestDb(kind, { poolSize: 20 }));
      service = new ReservationService({ db, now });
      await addLocation(db, 'ams-01', { safetyStock: 1 });
      await addLocation(db, 'utr-02');
      await addLocation(db, 'off-09', { active: false });
      await applyStock(db, [movement('A-1', 'ams-01', 10), movement('A-1', 'utr-02', 5), movement('B-7', 'utr-02', 3), movement('C-3', 'off-09', 8)]);
      app = await buildApp(
        {
          config: loadConfig({}), db, log: null as never, ingest: null as never, metrics: createMetrics(),
          logger: createLogger('silent'), isStarted: () => true,
        },
        [{ name: 'test', secret: TOKEN, scopes: [...SCOPES] }, { name: 'ro', secret: NO_SCOPE_TOKEN, scopes: ['stock:read'] }],
        [reservationRoutes(service)],
      );
    });
    afterAll(async () => {
      await app?.close();
      await close?.();
    });

    const post = (url: string, payload?: unknown, headers: Record<string, string> = auth) =>
      app.inject({ method: 'POST', url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });

    it('holds, commits and fulfils: on hand and reserved both drop, positions equal the ledger fold', async () => {
      const res = await post('/v1/reservations', {
        reservationId: 'web-1001', channel: 'shopify-main', orderRef: '1001', ttlSeconds: 900,
        lines: [{ sku: 'A-1', locationId: 'ams-01', quantity: 2 }, { sku: 'B-7', locationId: 'utr-02', quantity: 1 }],
      });
      expect(res.statusCode).toBe(201);
      const body = res.json();
      expect(body).toMatchObject({ reservationId: 'web-1001', status: 'held', expiresAt: '2030-01-01T10:15:00.000Z' });
      expect(body.lines).toEqual([
        { lineNo: 1, sku: 'A-1', locationId: 'ams-01', quantity: 2, state: 'held' },
        { lineNo: 2, sku: 'B-7', locationId: 'utr-02', quantity: 1, state: 'held' },
      ]);
      expect(await position(db, 'A-1', 'ams-01')).toMatchObject({ on_hand: 10, reserved: 2 });

      const got = await app.inject({ method: 'GET', url: '/v1/reservations/web-1001', headers: auth });
      expect(got.statusCode).toBe(200);
      expect(got.json()).toEqual(body);

      const committed = await post('/v1/reservations/web-1001/commit');
      expect(committed.statusCode).toBe(200);
      expect(committed.json()).toMatchObject({ status: 'committed', expiresAt: null });
      // Committing again: already there, 200, nothing changes.
      expect((await post('/v1/reservations/web-1001/commit')).statusCode).toBe(200);

      const fulfilled = await post('/v1/reservations/web-1001/fulfil', {}, { ...auth, 'content-type': 'application/json' });
      expect(fulfilled.statusCode).toBe(200);
      expect(fulfilled.json().status).toBe('fulfilled');
      expect(fulfilled.json().lines.map((l: { state: string }) => l.state)).toEqual(['fulfilled', 'fulfilled']);
      expect(await position(db, 'A-1', 'ams-01')).toMatchObject({ on_hand: 8, reserved: 0 });
      expect(await position(db, 'B-7', 'utr-02')).toMatchObject({ on_hand: 2, reserved: 0 });
      expect(await ledgerKinds(db, 'web-1001')).toEqual(['reservation.held', 'reservation.held', 'reservation.fulfilled', 'reservation.fulfilled']);

      expect((await post('/v1/reservations/web-1001/fulfil')).statusCode).toBe(200);
      const releaseFulfilled = await post('/v1/reservations/web-1001/release');
      expect(releaseFulfilled.statusCode).toBe(409);
      expect(releaseFulfilled.headers['content-type']).toContain('application/problem+json');

      const report = await rebuildPositions(db, { verify: true });
      expect(report.differences).toEqual([]);
    });

    it('releases: units become available again; fulfilling or committing a released one is 409', async () => {
      const r = await service.hold({ reservationId: 'rel-1', channel: 'web', ttlSeconds: 900, lines: [{ sku: 'A-1', locationId: 'utr-02', quantity: 5 }] });
      expect(r.created).toBe(true);
      await expect(service.hold({ channel: 'web', ttlSeconds: 900, lines: [{ sku: 'A-1', locationId: 'utr-02', quantity: 1 }] })).rejects.toBeInstanceOf(ReservationShortage);
      const released = await post('/v1/reservations/rel-1/release');
      expect(released.statusCode).toBe(200);
      expect(released.json()).toMatchObject({ status: 'released', releasedReason: 'released' });
      expect((await post('/v1/reservations/rel-1/release')).statusCode).toBe(200);
      expect((await post('/v1/reservations/rel-1/fulfil')).statusCode).toBe(409);
      expect((await post('/v1/reservations/rel-1/commit')).statusCode).toBe(409);
      expect(await position(db, 'A-1', 'utr-02')).toMatchObject({ on_hand: 5, reserved: 0 });
      expect(await ledgerKinds(db, 'rel-1')).toEqual(['reservation.held', 'reservation.released']);
      // A committed reservation may be released too (order cancelled before it shipped).
      await service.hold({ reservationId: 'rel-2', channel: 'web', ttlSeconds: 900, lines: [{ sku: 'A-1', locationId: 'utr-02', quantity: 1 }] });
      await service.commit('rel-2');
      expect((await service.release('rel-2')).status).toBe('released');
      expect(await position(db, 'A-1', 'utr-02')).toMatchObject({ reserved: 0 });
      expect((await rebuildPositions(db, { verify: true })).differences).toEqual([]);
    });

    it('unknown id is 404 for every action', async () => {
      for (const action of ['commit', 'release', 'fulfil']) expect((await post(`/v1/reservations/nope/${action}`)).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/v1/reservations/nope', headers: auth })).statusCode).toBe(404);
      await expect(service.commit('nope')).rejects.toBeInstanceOf(ReservationNotFound);
    });

    it('merges lines sharing (sku, location) before checking, and answers 409 with shortages', async () => {
      // ams-01: on hand 8 after the first test, safety stock 1: ATP 7.
      const res = await post('/v1/reservations', {
        channel: 'web', lines: [{ sku: 'A-1', locationId: 'ams-01', quantity: 4 }, { sku: 'A-1', locationId: 'ams-01', quantity: 4 }],
      });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ status: 409, shortages: [{ sku: 'A-1', locationId: 'ams-01', requested: 8, available: 7 }] });
      expect(typeof res.json().type).toBe('string');
      expect(typeof res.json().title).toBe('string');
      expect(await position(db, 'A-1', 'ams-01')).toMatchObject({ reserved: 0 });
      const ok = await post('/v1/reservations', {
        channel: 'web', lines: [{ sku: 'A-1', locationId: 'ams-01', quantity: 3 }, { sku: 'A-1', locationId: 'ams-01', quantity: 4 }],
      });
      expect(ok.statusCode).toBe(201);
      expect(ok.json().lines).toEqual([{ lineNo: 1, sku: 'A-1', locationId: 'ams-01', quantity: 7, state: 'held' }]);
      expect(ok.json().reservationId).toMatch(/^res_/);
      await service.release(ok.json().reservationId);
    });

    it('all lines or none: one short line holds nothing', async () => {
      const res = await post('/v1/reservations', {
        channel: 'web', lines: [{ sku: 'A-1', locationId: 'ams-01', quantity: 1 }, { sku: 'B-7', locationId: 'utr-02', quantity: 3 }],
      });
      expect(res.statusCode).toBe(409);
      expect(res.json().shortages).toEqual([{ sku: 'B-7', locationId: 'utr-02', requested: 3, available: 2 }]);
      expect(await position(db, 'A-1', 'ams-01')).toMatchObject({ reserved: 0 });
    });

    it('a SKU the ledger never saw and an inactive location are 409 shortages with available 0, not 500', async () => {
      const res = await post('/v1/reservations', { channel: 'web', lines: [{ sku: 'NEVER-SEEN', locationId: 'ams-01', quantity: 1 }] });
      expect(res.statusCode).toBe(409);
      expect(res.json().shortages).toEqual([{ sku: 'NEVER-SEEN', locationId: 'ams-01', requested: 1, available: 0 }]);
      const inactive = await post('/v1/reservations', { channel: 'web', lines: [{ sku: 'C-3', locationId: 'off-09', quantity: 1 }] });
      expect(inactive.statusCode).toBe(409);
      expect(inactive.json().shortages).toEqual([{ sku: 'C-3', locationId: 'off-09', requested: 1, available: 0 }]);
    });

    it('bad input is a 4xx naming the field', async () => {
      const line = { sku: 'A-1', locationId: 'ams-01', quantity: 1 };
      const cases: Array<[unknown, string]> = [
        [{ channel: 'web', lines: [{ ...line, quantity: 0 }] }, 'body.lines.0.quantity'],
        [{ channel: 'web', lines: [{ ...line, quantity: -2 }] }, 'body.lines.0.quantity'],
        [{ channel: 'web', lines: [{ ...line, quantity: 1.5 }] }, 'body.lines.0.quantity'],
        [{ channel: 'web', lines: Array.from({ length: 101 }, () => line) }, 'body.lines'],
        [{ channel: 'web', lines: [] }, 'body.lines'],
        [{ channel: 'web', lines: [{ ...line, sku: 'bad sku!' }] }, 'body.lines.0.sku'],
        [{ channel: 'web', ttlSeconds: 0, lines: [line] }, 'body.ttlSeconds'],
        [{ channel: 'web', ttlSeconds: 604_801, lines: [line] }, 'body.ttlSeconds'],
        [{ reservationId: 'has space', channel: 'web', lines: [line] }, 'body.reservationId'],
      ];
      for (const [payload, field] of cases) {
        const res = await post('/v1/reservations', payload);
        expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
        expect(res.json().detail).toContain(field);
      }
      const unknownLoc = await post('/v1/reservations', { channel: 'web', lines: [line, { ...line, locationId: 'nowhere' }] });
      expect(unknownLoc.statusCode).toBe(400);
      expect(unknownLoc.json().errors).toEqual([{ field: 'body.lines.1.locationId', message: 'unknown location "nowhere"' }]);
      expect(await position(db, 'A-1', 'ams-01')).toMatchObject({ reserved: 0 });
      expect((await post('/v1/reservations', { lines: [line] }, {})).statusCode).toBe(401);
      expect((await post('/v1/reservations', { lines: [line] }, { authorization: `Bearer ${NO_SCOPE_TOKEN}` })).statusCode).toBe(403);
    });

    it('reservationId is idempotent: same body → same answer, different body → 409', async () => {
      const body = { reservationId: 'idem-1', channel: 'web', orderRef: 'o-1', lines: [{ sku: 'A-1', locationId: 'ams-01', quantity: 1 }, { sku: 'A-1', locationId: 'utr-02', quantity: 1 }] };
      const first = await post('/v1/reservations', body);
      expect(first.statusCode).toBe(201);
      const again = await post('/v1/reservations', body);
      expect(again.statusCode).toBe(201);
      expect(again.json()).toEqual(first.json());
      // Lines in another order are the same request.
      const reordered = await post('/v1/reservations', { ...body, lines: [...body.lines].reverse() });
      expect(reordered.statusCode).toBe(201);
      const different = await post('/v1/reservations', { ...body, lines: [{ sku: 'A-1', locationId: 'ams-01', quantity: 2 }] });
      expect(different.statusCode).toBe(409);
      expect(different.json().detail).toContain('different request');
      expect(await position(db, 'A-1', 'ams-01')).toMatchObject({ reserved: 1 });
      // Concurrent retries of one id hold once.
      const results = await Promise.all(Array.from({ length: 8 }, () => post('/v1/reservations', { ...body, reservationId: 'idem-2' })));
      expect(results.map((r) => r.statusCode)).toEqual(Array(8).fill(201));
      expect(await position(db, 'A-1', 'ams-01')).toMatchObject({ reserved: 2 });
      await service.release('idem-1');
      await service.release('idem-2');
      await expect(service.hold({ ...body, ttlSeconds: 900, reservationId: 'idem-1', orderRef: 'other' })).rejects.toBeInstanceOf(ReservationConflict);
    });

    it('expires held reservations with an injected clock; never a committed one', async () => {
      clock = new Date('2030-01-02T08:00:00.000Z');
      await service.hold({ reservationId: 'exp-1', channel: 'web', ttlSeconds: 60, lines: [{ sku: 'A-1', locationId: 'ams-01', quantity: 2 }] });
      await service.hold({ reservationId: 'exp-2', channel: 'web', ttlSeconds: 60, lines: [{ sku: 'A-1', locationId: 'ams-01', quantity: 1 }] });
      await service.commit('exp-2');
      await service.hold({ reservationId: 'exp-3', channel: 'web', ttlSeconds: 300, lines: [{ sku: 'A-1', locationId: 'ams-01', quantity: 1 }] });
      expect(await position(db, 'A-1', 'ams-01')).toMatchObject({ reserved: 4 });

      clock = new Date('2030-01-02T08:00:59.999Z');
      expect(await service.expireDue()).toBe(0);
      clock = new Date('2030-01-02T08:01:00.000Z');
      expect(await service.expireDue()).toBe(1);
      expect(await service.expireDue()).toBe(0);
      expect(await service.get('exp-1')).toMatchObject({ status: 'released', releasedReason: 'expired' });
      expect(await service.get('exp-2')).toMatchObject({ status: 'committed' });
      expect(await position(db, 'A-1', 'ams-01')).toMatchObject({ reserved: 2 });

      // Past its deadline but not yet picked up by the job: committing releases it and is refused.
      clock = new Date('2030-01-02T08:05:00.000Z');
      const late = await post('/v1/reservations/exp-3/commit');
      expect(late.statusCode).toBe(409);
      expect(late.json().detail).toContain('expired');
      expect(await service.get('exp-3')).toMatchObject({ status: 'released', releasedReason: 'expired' });
      expect(await ledgerKinds(db, 'exp-3')).toEqual(['reservation.held', 'reservation.released']);
      expect(await position(db, 'A-1', 'ams-01')).toMatchObject({ reserved: 1 });
      await service.release('exp-2');
      expect((await rebuildPositions(db, { verify: true })).differences).toEqual([]);
    });

    it('two expiry runners (and explicit releases) racing release each expired hold exactly once, never a committed one', async () => {
      clock = new Date('2030-01-03T08:00:00.000Z');
      await applyStock(db, [movement('R-1', 'utr-02', 400), movement('R-2', 'utr-02', 400), movement('R-1', 'ams-01', 400)]);
      const ids: string[] = [];
      for (let i = 0; i < 120; i++) {
        const id = `race-${i}`;
        ids.push(id);
        await service.hold({
          reservationId: id, channel: 'web', ttlSeconds: 30,
          lines: [{ sku: i % 2 ? 'R-1' : 'R-2', locationId: 'utr-02', quantity: 1 }, { sku: 'R-1', locationId: 'ams-01', quantity: 1 }],
        });
      }
      const committed = ids.filter((_, i) => i % 5 === 0);
      for (const id of committed) await service.commit(id);
      clock = new Date('2030-01-03T08:00:31.000Z');
      const a = new ReservationService({ db, now });
      const b = new ReservationService({ db, now });
      const manual = ids.filter((id, i) => i % 7 === 1 && !committed.includes(id));
      const [ra, rb] = await Promise.all([
        a.expireDue({ batchSize: 7 }),
        b.expireDue({ batchSize: 5 }),
        ...manual.map((id) => service.release(id).catch((err: unknown) => err)),
      ]);
      // Each non-committed hold is released exactly once, by whichever actor got there first.
      const reasons = new Map((await db.query<{ released_reason: string; n: number }>(
        `SELECT released_reason, count(*)::int AS n FROM reservations WHERE id LIKE 'race-%' AND status = 'released' GROUP BY released_reason`,
      )).map((r) => [r.released_reason, r.n]));
      expect(reasons.get('expired') ?? 0).toBe((ra as number) + (rb as number));
      expect((reasons.get('expired') ?? 0) + (reasons.get('released') ?? 0)).toBe(ids.length - committed.length);
      expect(reasons.get('released') ?? 0).toBeLessThanOrEqual(manual.length);
      const perLine = await db.query<{ reservation_id: string; n: number }>(
        `SELECT reservation_id, count(*)::int AS n FROM ledger_entries WHERE kind = 'reservation.released' AND reservation_id LIKE 'race-%'
          GROUP BY reservation_id`,
      );
      const released = new Map(perLine.map((r) => [r.reservation_id, r.n]));
      for (const id of ids) expect(released.get(id) ?? 0, id).toBe(committed.includes(id) ? 0 : 2);
      for (const id of committed) expect((await service.get(id)).status).toBe('committed');
      expect(await position(db, 'R-1', 'ams-01')).toMatchObject({ reserved: committed.length });
      for (const id of committed) await service.release(id);
      expect((await rebuildPositions(db, { verify: true })).differences).toEqual([]);
      expect(a.stats.retries + b.stats.retries + service.stats.retries).toBe(0);
    });

    it('holdPositions (for callers with their own transaction, e.g. routing) reports the first miss and changes nothing on rollback', async () => {
      await applyStock(db, [movement('P-1', 'utr-02', 3), movement('P-2', 'utr-02', 1)]);
      const lines = [
        { reservationId: 'tx-1', lineNo: 1, sku: 'P-1', locationId: 'utr-02', quantity: 2 },
        { reservationId: 'tx-1', lineNo: 2, sku: 'P-2', locationId: 'utr-02', quantity: 2 },
      ];
      const missed = await db.transaction(async (tx) => {
        const m = await holdPositions(tx, lines, new Date().toISOString(), 'routing');
        if (m) throw Object.assign(new Error('rollback'), { missed: m });
        return null;
      }).catch((err: { missed?: unknown }) => err.missed);
      expect(missed).toEqual({ sku: 'P-2', locationId: 'utr-02' });
      expect(await position(db, 'P-1', 'utr-02')).toMatchObject({ reserved: 0 });
      const ok = await db.transaction((tx) => holdPositions(tx, [lines[0]!], new Date().toISOString(), 'routing'));
      expect(ok).toBeNull();
      expect(await position(db, 'P-1', 'utr-02')).toMatchObject({ reserved: 2 });
      await db.transaction((tx) => releasePositions(tx, [lines[0]!], new Date().toISOString(), 'routing'));
      expect(await position(db, 'P-1', 'utr-02')).toMatchObject({ reserved: 0 });
    });

    it('the CHECK constraint refuses reserved beyond stock written directly', async () => {
      await expect(db.query(`UPDATE positions SET reserved = on_hand + 1 WHERE sku = 'A-1' AND location_id = 'ams-01'`)).rejects.toMatchObject({ code: '23514' });
      await expect(db.query(`UPDATE positions SET reserved = -1 WHERE sku = 'A-1' AND location_id = 'ams-01'`)).rejects.toMatchObject({ code: '23514' });
    });
  });
}

defineSuite('pg');
defineSuite('pglite');
