// Staff users, sessions and store queues at the API (contract §11), on PostgreSQL and PGlite:
// users and passwords, the session cookie, CSRF, roles and location scoping, the sign-in
// throttle, and the queue's actions with fulfilment at one store of a split reservation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Database } from '../src/db/database.js';
import { buildApp } from '../src/http/app.js';
import { staffRoutes } from '../src/http/routes/staff.js';
import { writeLedger } from '../src/ledger/ledger-writer.js';
import { rebuildPositions } from '../src/ledger/rebuild.js';
import { upsertLocation } from '../src/locations/location-store.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { loadConfig, SCOPES } from '../src/config.js';
import { ReservationService } from '../src/reservations/reservation-service.js';
import { StoreQueue } from '../src/staff/store-queue.js';
import { UserStore } from '../src/staff/user-store.js';
import { openTestDb, type Kind } from './support/test-database.js';

const ADMIN = 'admin-secret';
const READER = 'reader-secret';
const PASSWORD = 'a long enough password';

function defineSuite(kind: Kind): void {
  describe(`staff users and queues on ${kind}`, () => {
    let db: Database;
    let close: () => Promise<void>;
    let app: FastifyInstance;
    const admin = { authorization: `Bearer ${ADMIN}` };

    beforeAll(async () => {
      ({ db, close } = await openTestDb(kind));
      for (const [id, lat] of [['ams-01', 52.37], ['utr-02', 52.09]] as const) {
        await upsertLocation(db, id, { name: id, type: 'store', lat, lon: 5, shipFromStore: true, pickup: true, rank: 100, dailyCapacity: null, safetyStock: 0, active: true });
      }
      await db.transaction((tx) => writeLedger(tx, ['ams-01', 'utr-02'].map((l, i) => ({
        entryId: `seed-${i}`, kind: 'stock.received', sku: 'A-1', locationId: l, occurredAt: Date.now(), countQuantity: null,
        onHandDelta: 10, unavailableDelta: 0, missingDelta: 0, reservedDelta: 0, source: 'test', reason: null, reservationId: null,
      })), { dedupe: true }));
      const ingest = {
        ingest: async (events: unknown[]) => ({ accepted: events.length, duplicates: 0, rejected: [], acceptedIds: [] }),
        waitApplied: async () => true,
      };
      app = await buildApp(
        { config: loadConfig({}), db, log: null as never, ingest: ingest as never, metrics: createMetrics(), logger: createLogger('silent'), isStarted: () => true },
        [{ name: 'admin', secret: ADMIN, scopes: [...SCOPES] }, { name: 'reader', secret: READER, scopes: ['stock:read'] }],
        [staffRoutes(new StoreQueue({ db, rejects: null }))],
      );
    });
    afterAll(async () => {
      await app?.close();
      await close?.();
    });

    const putUser = (id: string, body: unknown, headers: Record<string, string> = admin) =>
      app.inject({ method: 'PUT', url: `/v1/users/${id}`, headers, payload: body as object });

    async function signIn(userId: string, password = PASSWORD) {
      const res = await app.inject({ method: 'POST', url: '/v1/session', payload: { userId, password } });
      const cookie = /omnistock_session=([^;]*)/.exec(String(res.headers['set-cookie'] ?? ''))?.[1];
      return { res, cookie: `omnistock_session=${cookie}`, csrf: res.statusCode === 200 ? (res.json().csrfToken as string) : '' };
    }

    it('creates and updates users; never returns a password; names the bad field', async () => {
      const created = await putUser('alice', { name: 'Alice de Vries', role: 'manager', locationIds: ['ams-01'], password: PASSWORD });
      expect(created.statusCode).toBe(201);
      expect(created.json()).toMatchObject({ id: 'alice', name: 'Alice de Vries', role: 'manager', locationIds: ['ams-01'] });
      expect(created.body).not.toMatch(/password|scrypt/i);
      const updated = await putUser('alice', { name: 'Alice', role: 'manager', locationIds: ['ams-01'] });
      expect(updated.statusCode).toBe(200);
      expect((await signIn('alice')).res.statusCode).toBe(200); // the password stayed

      const unknown = await putUser('x', { name: 'X', role: 'staff', locationIds: ['nowhere'], password: PASSWORD });
      expect(unknown.statusCode).toBe(400);
      expect(unknown.json().errors[0].field).toBe('body.locationIds.0');
      const short = await putUser('x', { name: 'X', role: 'staff', locationIds: ['ams-01'], password: 'short' });
      expect(short.statusCode).toBe(400);
      expect(short.json().detail).toMatch(/^body\.password: /);
      const noPassword = await putUser('x', { name: 'X', role: 'staff', locationIds: ['ams-01'] });
      expect(noPassword.statusCode).toBe(400);
      expect(noPassword.json().detail).toMatch(/^body\.password: required/);
      expect((await putUser('x', { name: 'X', role: 'boss', locationIds: ['ams-01'], password: PASSWORD })).statusCode).toBe(400);
      expect((await putUser('x', { name: 'X', role: 'staff', locationIds: ['ams-01'], password: PASSWORD }, { authorization: `Bearer ${READER}` })).statusCode).toBe(403);

      await putUser('sam', { name: 'Sam', role: 'staff', locationIds: ['ams-01'], password: PASSWORD });
      await putUser('bob', { name: 'Bob', role: 'staff', locationIds: ['utr-02'], password: PASSWORD });
      const list = await app.inject({ method: 'GET', url: '/v1/users', headers: admin });
      expect(list.json().users.map((u: { id: string }) => u.id)).toEqual(['alice', 'bob', 'sam']);
      expect(list.body).not.toMatch(/scrypt/);
    });

    it('signs in with an HttpOnly SameSite cookie; a wrong user and a wrong password look the same', async () => {
      const ok = await signIn('sam');
      expect(ok.res.statusCode).toBe(200);
      expect(String(ok.res.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
      const wrongUser = await signIn('nobody');
      const wrongPassword = await signIn('sam', 'not the password');
      expect(wrongUser.res.statusCode).toBe(401);
      expect(wrongPassword.res.statusCode).toBe(401);
      expect(wrongUser.res.body).toBe(wrongPassword.res.body);

      const me = await app.inject({ method: 'GET', url: '/v1/session', headers: { cookie: ok.cookie } });
      expect(me.json().user.id).toBe('sam');
      // A bearer token decides alone, cookie or not.
      expect((await app.inject({ method: 'GET', url: '/v1/users', headers: { ...admin, cookie: ok.cookie } })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/v1/users', headers: { cookie: ok.cookie } })).statusCode).toBe(403);
      // Signing out ends the session.
      expect((await app.inject({ method: 'DELETE', url: '/v1/session', headers: { cookie: ok.cookie, 'x-csrf-token': ok.csrf } })).statusCode).toBe(204);
      expect((await app.inject({ method: 'GET', url: '/v1/availability/A-1', headers: { cookie: ok.cookie } })).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url: '/v1/availability/A-1', headers: { cookie: 'omnistock_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAA' } })).statusCode).toBe(401);
    });

    it('needs the CSRF header on cookie writes; enforces roles and locations on stock events', async () => {
      const alice = await signIn('alice');
      const event = (locationId: string, type = 'stock.received') => ({
        events: [{ eventId: `e-${locationId}-${type}`, type, sku: 'A-1', locationId, quantity: 1, occurredAt: new Date().toISOString(), source: 'forged' }],
      });
      const post = (body: unknown, headers: Record<string, string>) => app.inject({ method: 'POST', url: '/v1/events', headers, payload: body as object });
      expect((await post(event('ams-01'), { cookie: alice.cookie })).statusCode).toBe(403);
      expect((await post(event('ams-01'), { cookie: alice.cookie, 'x-csrf-token': 'wrong' })).statusCode).toBe(403);
      expect((await post(event('ams-01'), { cookie: alice.cookie, 'x-csrf-token': alice.csrf })).statusCode).toBe(202);
      const other = await post(event('utr-02'), { cookie: alice.cookie, 'x-csrf-token': alice.csrf });
      expect(other.statusCode).toBe(403);
      expect(other.json().detail).toMatch(/^events\.0\.locationId: /);
      expect((await post(event('ams-01', 'stock.sold'), { cookie: alice.cookie, 'x-csrf-token': alice.csrf })).statusCode).toBe(403);
      const sam = await signIn('sam');
      expect((await post(event('ams-01'), { cookie: sam.cookie, 'x-csrf-token': sam.csrf })).statusCode).toBe(403);
      expect((await app.inject({ method: 'GET', url: '/v1/availability/A-1', headers: { cookie: sam.cookie } })).statusCode).toBe(200);
    });

    it('slows sign-in down after five wrong passwords in a row, the right one included, until the delay is over', async () => {
      let now = Date.parse('2030-01-01T10:00:00Z');
      const users = new UserStore(db, () => now);
      await users.upsert('tess', { name: 'Tess', role: 'staff', locationIds: ['ams-01'], password: PASSWORD });
      for (let i = 0; i < 5; i++) expect((await users.signIn('tess', 'wrong')).kind).toBe('refused');
      expect(await users.signIn('tess', PASSWORD)).toMatchObject({ kind: 'throttled', retryAfterMs: 1000 });
      now += 1000;
      expect((await users.signIn('tess', 'wrong')).kind).toBe('refused'); // the sixth: 2 s now
      expect(await users.signIn('tess', PASSWORD)).toMatchObject({ kind: 'throttled', retryAfterMs: 2000 });
      now += 2000;
      expect((await users.signIn('tess', PASSWORD)).kind).toBe('ok');
      expect((await users.signIn('tess', 'wrong')).kind).toBe('refused'); // the count starts again
      expect((await users.signIn('tess', PASSWORD)).kind).toBe('ok');
      // Unknown users are throttled the same way, so a 429 tells nothing about who exists.
      for (let i = 0; i < 5; i++) expect((await users.signIn('ghost', 'x')).kind).toBe('refused');
      expect((await users.signIn('ghost', 'x')).kind).toBe('throttled');
      // Over HTTP: 429 with Retry-After. Seven wrong in a row: on a machine slow enough that an
      // attempt outlasts the delay, the extra ones double it, so the right one still meets it.
      for (let i = 0; i < 7; i++) await signIn('bob', 'wrong');
      const res = await signIn('bob');
      expect(res.res.statusCode).toBe(429);
      expect(Number(res.res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    });

    it('works a queue: each store acts on its own lines, ship fulfils them, the reservation once all are done', async () => {
      const reservations = new ReservationService({ db });
      await reservations.hold({ reservationId: 'q-1', channel: 'web', orderRef: '1001', ttlSeconds: 900, lines: [
        { sku: 'A-1', locationId: 'ams-01', quantity: 2 }, { sku: 'A-1', locationId: 'utr-02', quantity: 1 },
      ] });
      const sam = await signIn('sam');
      const samH = { cookie: sam.cookie, 'x-csrf-token': sam.csrf };
      const queue = await app.inject({ method: 'GET', url: '/v1/locations/ams-01/queue', headers: { cookie: sam.cookie } });
      expect(queue.statusCode).toBe(200);
      expect(queue.json().orders).toEqual([expect.objectContaining({
        reservationId: 'q-1', orderRef: '1001', channel: 'web', method: 'ship', status: 'new', lines: [{ lineNo: 1, sku: 'A-1', quantity: 2, state: 'held' }],
      })]);
      // Another store's queue: 403 for the user, fine for a routing token.
      expect((await app.inject({ method: 'GET', url: '/v1/locations/utr-02/queue', headers: { cookie: sam.cookie } })).statusCode).toBe(403);
      expect((await app.inject({ method: 'POST', url: '/v1/locations/utr-02/queue/q-1/pick', headers: samH })).statusCode).toBe(403);
      expect((await app.inject({ method: 'GET', url: '/v1/locations/utr-02/queue', headers: admin })).statusCode).toBe(200);

      const act = (loc: string, action: string, headers: Record<string, string> = samH) =>
        app.inject({ method: 'POST', url: `/v1/locations/${loc}/queue/q-1/${action}`, headers });
      expect((await act('ams-01', 'ship')).statusCode).toBe(409);
      expect((await act('ams-01', 'pick')).json().status).toBe('picked');
      expect((await act('ams-01', 'pick')).statusCode).toBe(200); // a double tap
      expect((await act('ams-01', 'pack')).json().status).toBe('packed');
      expect((await act('ams-01', 'ready')).statusCode).toBe(409); // ready is for pickup orders
      const shipped = await act('ams-01', 'ship');
      expect(shipped.statusCode).toBe(200);
      expect(shipped.json()).toMatchObject({ status: 'shipped', lines: [{ state: 'fulfilled' }] });
      expect((await reservations.get('q-1')).status).toBe('held'); // Utrecht's line is still to ship
      expect((await app.inject({ method: 'GET', url: '/v1/locations/ams-01/queue', headers: { cookie: sam.cookie } })).json().orders).toEqual([]);

      for (const a of ['pick', 'pack', 'ship']) expect((await act('utr-02', a, admin)).statusCode).toBe(200);
      const r = await reservations.get('q-1');
      expect(r.status).toBe('fulfilled');
      expect(r.lines.map((l) => l.state)).toEqual(['fulfilled', 'fulfilled']);
      const pos = await db.query<{ location_id: string; on_hand: number; reserved: number }>(`SELECT location_id, on_hand, reserved FROM positions WHERE sku = 'A-1' ORDER BY location_id`);
      expect(pos.map((p) => [p.location_id, Number(p.on_hand), Number(p.reserved)])).toEqual([['ams-01', 8, 0], ['utr-02', 9, 0]]);
      expect((await rebuildPositions(db, { verify: true })).differences).toEqual([]);
      expect((await act('ams-01', 'pick')).statusCode).toBe(409);
      expect((await app.inject({ method: 'POST', url: '/v1/locations/ams-01/queue/nope/pick', headers: samH })).statusCode).toBe(404);
    });

    it('fulfils once when two handhelds ship the same order at the same moment', async () => {
      const reservations = new ReservationService({ db });
      await reservations.hold({ reservationId: 'q-race', channel: 'web', ttlSeconds: 900, lines: [{ sku: 'A-1', locationId: 'ams-01', quantity: 3 }] });
      const act = (action: string) => app.inject({ method: 'POST', url: `/v1/locations/ams-01/queue/q-race/${action}`, headers: admin });
      await act('pick');
      await act('pack');
      const answers = await Promise.all([act('ship'), act('ship'), act('ship')]);
      expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
      const entries = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ledger_entries WHERE reservation_id = 'q-race' AND kind = 'reservation.fulfilled'`);
      expect(Number(entries[0]!.n)).toBe(1);
      expect((await reservations.get('q-race')).status).toBe('fulfilled');
      const pos = await db.query<{ on_hand: number; reserved: number }>(`SELECT on_hand, reserved FROM positions WHERE sku = 'A-1' AND location_id = 'ams-01'`);
      expect([Number(pos[0]!.on_hand), Number(pos[0]!.reserved)]).toEqual([5, 0]); // 8 − 3
      expect((await rebuildPositions(db, { verify: true })).differences).toEqual([]);
    });

    it('looks stock up with distances and finds SKUs by prefix', async () => {
      const get = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${READER}` } });
      const r = await get('/v1/stock/A-1?near=utr-02');
      expect(r.statusCode).toBe(200);
      expect(r.json().locations.map((l: { locationId: string }) => l.locationId)).toEqual(['utr-02', 'ams-01']);
      expect(r.json().nearest).toEqual([expect.objectContaining({ locationId: 'ams-01', atp: 5, pickup: true })]);
      expect(r.json().nearest[0].distanceKm).toBeCloseTo(31.1, 0);
      expect((await get('/v1/stock/A-1?near=nowhere')).statusCode).toBe(400);
      expect((await get('/v1/stock/NEVER-SEEN')).json()).toMatchObject({ sku: 'NEVER-SEEN', locations: [], nearest: [], from: null });
      expect((await get('/v1/skus?prefix=A-')).json()).toEqual({ items: [{ sku: 'A-1', locations: 2, onHand: 14 }] });
      expect((await get('/v1/skus?prefix=B')).json()).toEqual({ items: [] });
      const bad = await get('/v1/skus?prefix=%25');
      expect(bad.statusCode).toBe(400);
      expect(bad.json().detail).toMatch(/^querystring\.prefix: /);
    });
  });
}

defineSuite('pg');
defineSuite('pglite');
