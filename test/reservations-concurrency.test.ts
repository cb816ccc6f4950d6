// No oversell under concurrency (issue 3): 500 concurrent reservation requests for a few hot
// SKUs over a few locations, through the HTTP app, with POS sales applied at the same time
// through the reconciler's write path; on real PostgreSQL (pool of 24 connections) and on
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
import { openTestDb, type Kind } from './support/test-database.js';
import { mulberry32 } from './support/random.js';

let seq = 0;
function movement(sku: string, locationId: string, onHandDelta: number): LedgerRow {
  seq += 1;
  return {
    entryId: `conc-${process.pid}-${seq}`, kind: onHandDelta >= 0 ? 'stock.received' : 'stock.sold', sku, locationId,
    occurredAt: Date.now(), countQuantity: null, onHandDelta, unavailableDelta: 0, missingDelta: 0, reservedDelta: 0,
    source: 'pos-test', reason: null, reservationId: null,
  };
}

const LOCATIONS = [
  { id: 'ams-01', safetyStock: 1 },
  { id: 'rtm-03', safetyStock: 0 },
  { id: 'utr-02', safetyStock: 2 },
];
const SAFETY = new Map(LOCATIONS.map((l) => [l.id, l.safetyStock]));
const TOKEN = 'conc-secret';

interface LedgerLine {
  id: number;
  kind: string;
  sku: string;
  location_id: string;
  on_hand_delta: number;
  unavailable_delta: number;
  missing_delta: number;
  reserved_delta: number;
}

function defineSuite(kind: Kind): void {
  describe(`reservation concurrency on ${kind}`, () => {
    let db: Database;
    let close: () => Promise<void>;
    let service: ReservationService;
    let app: FastifyInstance;

    beforeAll(async () => {
      ({ db, close } = await openTestDb(kind, { poolSize: 24 }));
      service = new ReservationService({ db });
      for (const l of LOCATIONS) {
        await upsertLocation(db, l.id, {
          name: l.id, type: 'store', lat: 52, lon: 5, shipFromStore: true, pickup: true, rank: 100, dailyCapacity: null,
          safetyStock: l.safetyStock, active: true,
        });
      }
      app = await buildApp(
        { config: loadConfig({}), db, log: null as never, ingest: null as never, metrics: createMetrics(), logger: createLogger('silent'), isStarted: () => true },
        [{ name: 'conc', secret: TOKEN, scopes: [...SCOPES] }],
        [reservationRoutes(service)],
      );
    });
    afterAll(async () => {
      await app?.close();
      await close?.();
    });

    const reserve = (payload: unknown) =>
      app.inject({ method: 'POST', url: '/v1/reservations', headers: { authorization: `Bearer ${TOKEN}` }, payload: payload as object });
    const act = (id: string, action: string) =>
      app.inject({ method: 'POST', url: `/v1/reservations/${id}/${action}`, headers: { authorization: `Bearer ${TOKEN}` } });

    async function deadlocks(): Promise<number> {
      if (kind !== 'pg') return 0;
      const rows = await db.query<{ n: number }>('SELECT deadlocks::int8 AS n FROM pg_stat_database WHERE datname = current_database()');
      return rows[0]?.n ?? 0;
    }

    it('grants exactly the available units when nothing else interferes', async () => {
      const skus = ['X-1', 'X-2', 'X-3', 'X-4'];
      const stock = 20;
      await db.transaction((tx) => writeLedger(tx, skus.flatMap((s) => LOCATIONS.map((l) => movement(s, l.id, stock))), { dedupe: true }));
      const keys = skus.flatMap((sku) => LOCATIONS.map((l) => ({ sku, locationId: l.id })));
      const before = await deadlocks();
      const results = await Promise.all(
        Array.from({ length: 500 }, (_, i) => reserve({ channel: 'web', lines: [{ ...keys[i % keys.length]!, quantity: 1 }] })),
      );
      const statuses = results.map((r) => r.statusCode);
      expect(statuses.filter((s) => s !== 201 && s !== 409), 'only 201 and 409').toEqual([]);
      const expected = keys.reduce((n, k) => n + stock - (SAFETY.get(k.locationId) ?? 0), 0);
      expect(statuses.filter((s) => s === 201).length).toBe(expected);
      for (const r of results.filter((x) => x.statusCode === 409)) expect(r.json().shortages[0].available).toBe(0);
      const positions = await db.query<{ sku: string; location_id: string; reserved: number; on_hand: number }>(
        `SELECT sku, location_id, reserved, on_hand FROM positions WHERE sku LIKE 'X-%'`,
      );
      for (const p of positions) expect(p.reserved, `${p.sku}@${p.location_id}`).toBe(p.on_hand - (SAFETY.get(p.location_id) ?? 0));
      expect(service.stats.retries).toBe(0);
      expect(await deadlocks()).toBe(before);
    });

    it('never holds more than was there, with POS sales, releases and fulfilments racing the holds', async () => {
      const random = mulberry32(kind === 'pg' ? 3 : 4);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
      const skus = ['H-1', 'H-2', 'H-3'];
      await db.transaction((tx) => writeLedger(tx, skus.flatMap((s) => LOCATIONS.map((l) => movement(s, l.id, 60))), { dedupe: true }));
      const before = await deadlocks();

      const requests = Array.from({ length: 500 }, () => {
        const lines = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({ sku: pick(skus), locationId: pick(LOCATIONS).id, quantity: 1 + Math.floor(random() * 3) }));
        // Two lines of one order sharing a SKU and location (medusa#16569, #16502).
        if (random() < 0.25) lines.push({ ...lines[0]!, quantity: 1 + Math.floor(random() * 2) });
        return { channel: 'web', lines, then: random() };
      });
      const unexpected: string[] = [];
      const holds = requests.map(async (req) => {
        const res = await reserve({ channel: req.channel, lines: req.lines });
        if (res.statusCode === 409) {
          if (!Array.isArray(res.json().shortages)) unexpected.push(`409 without shortages: ${res.body}`);
          return;
        }
        if (res.statusCode !== 201) {
          unexpected.push(`${res.statusCode}: ${res.body}`);
          return;
        }
        const id = res.json().reservationId as string;
        const follow = req.then < 0.15 ? 'release' : req.then < 0.3 ? 'fulfil' : req.then < 0.4 ? 'commit' : null;
        if (follow) {
          const r = await act(id, follow);
          if (r.statusCode !== 200) unexpected.push(`${follow} ${r.statusCode}: ${r.body}`);
        }
      });
      // POS sales through the reconciler's write path (dedupe on), 60 small batches.
      const sales = Array.from({ length: 60 }, async (_, b) => {
        await new Promise((r) => setTimeout(r, b * 2));
        const rows = Array.from({ length: 1 + Math.floor(random() * 4) }, () => movement(pick(skus), pick(LOCATIONS).id, -(1 + Math.floor(random() * 3))));
        try {
          await db.transaction((tx) => writeLedger(tx, rows, { dedupe: true }));
        } catch (err) {
          unexpected.push(`sale batch failed: ${(err as Error).message}`);
        }
      });
      await Promise.all([...holds, ...sales]);
      expect(unexpected).toEqual([]);
      expect(service.stats.retries).toBe(0);
      expect(await deadlocks()).toBe(before);

      // Replay each position's ledger in id order (= lock order per row): every hold left
      // reserved ≤ on hand − unavailable − missing − safety stock at that point.
      const ledger = await db.query<LedgerLine>(
        `SELECT id, kind, sku, location_id, on_hand_delta, unavailable_delta, missing_delta, reserved_delta
           FROM ledger_entries WHERE sku LIKE 'H-%' ORDER BY id`,
      );
      const state = new Map<string, { onHand: number; unavailable: number; missing: number; reserved: number }>();
      let heldEntries = 0;
      for (const e of ledger) {
        const k = `${e.sku}@${e.location_id}`;
        const s = state.get(k) ?? { onHand: 0, unavailable: 0, missing: 0, reserved: 0 };
        s.onHand += e.on_hand_delta;
        s.unavailable += e.unavailable_delta;
        s.missing += e.missing_delta;
        s.reserved += e.reserved_delta;
        state.set(k, s);
        if (e.kind === 'reservation.held') {
          heldEntries += 1;
          expect(s.reserved, `entry ${e.id} at ${k}`).toBeLessThanOrEqual(s.onHand - s.unavailable - s.missing - (SAFETY.get(e.location_id) ?? 0));
        }
        expect(s.reserved, `entry ${e.id} at ${k}`).toBeGreaterThanOrEqual(0);
      }
      expect(heldEntries).toBeGreaterThan(50);

      // Positions equal the ledger fold, and reserved equals what open reservation lines hold.
      expect((await rebuildPositions(db, { verify: true })).differences).toEqual([]);
      const mismatch = await db.query(
        `SELECT p.sku, p.location_id, p.reserved, coalesce(o.q, 0) AS open
           FROM positions p
           LEFT JOIN (SELECT sku, location_id, sum(quantity)::int8 AS q FROM reservation_lines
                       WHERE state IN ('held', 'committed') GROUP BY sku, location_id) o
             ON o.sku = p.sku AND o.location_id = p.location_id
          WHERE p.sku LIKE 'H-%' AND p.reserved <> coalesce(o.q, 0)`,
      );
      expect(mismatch).toEqual([]);
      // Sales may oversell (a POS sold what was promised): then the position says so.
      const hidden = await db.query(
        `SELECT sku, location_id FROM positions WHERE sku LIKE 'H-%' AND NOT oversold AND reserved > on_hand - unavailable - missing`,
      );
      expect(hidden).toEqual([]);
    });
  });
}

defineSuite('pg');
defineSuite('pglite');
