// Shared setup of the routing tests: databases, seeding and an app with routing wired as the
// service wires it (index fed by reservation changes; no timers, tests settle it explicitly).
import type { FastifyInstance } from 'fastify';
import type { Database } from '../src/db/database.js';
import { buildApp } from '../src/http/app.js';
import { reservationRoutes } from '../src/http/routes/reservations.js';
import { routingRoutes } from '../src/http/routes/routing.js';
import { writeLedger } from '../src/ledger/ledger-writer.js';
import type { LedgerRow } from '../src/ledger/ledger-row.js';
import { upsertLocation } from '../src/locations/location-store.js';
import type { LocationBody } from '../src/locations/location.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { loadConfig, SCOPES } from '../src/config.js';
import { ReservationService } from '../src/reservations/reservation-service.js';
import { RejectService } from '../src/routing/reject-service.js';
import { RoutingIndex } from '../src/routing/routing-index.js';
import { RoutingService, type RoutingServiceOptions } from '../src/routing/routing-service.js';

export const TOKEN = 'routing-test-secret';
export const NO_ROUTING_TOKEN = 'routing-test-reservations-only';

let seq = 0;
export function stockRow(sku: string, locationId: string, onHandDelta: number, at = Date.now()): LedgerRow {
  seq += 1;
  return {
    entryId: `rt-${process.pid}-${seq}`, kind: onHandDelta >= 0 ? 'stock.received' : 'stock.sold', sku, locationId,
    occurredAt: at, countQuantity: null, onHandDelta, unavailableDelta: 0, missingDelta: 0, reservedDelta: 0,
    source: 'test', reason: null, reservationId: null,
  };
}

export function countRow(sku: string, locationId: string, quantity: number, at: number): LedgerRow {
  seq += 1;
  return { ...stockRow(sku, locationId, 0, at), entryId: `rt-count-${process.pid}-${seq}`, kind: 'stock.counted', countQuantity: quantity };
}

export async function applyStock(db: Database, rows: LedgerRow[]): Promise<void> {
  await db.transaction((tx) => writeLedger(tx, rows, { dedupe: true }));
}

export async function addLocation(db: Database, id: string, o: Partial<LocationBody>): Promise<void> {
  await upsertLocation(db, id, {
    name: id, type: 'store', lat: 52, lon: 5, shipFromStore: true, pickup: false, rank: 100, dailyCapacity: null, safetyStock: 0, active: true, ...o,
  });
}

export interface RoutingHarness {
  app: FastifyInstance;
  index: RoutingIndex;
  routing: RoutingService;
  reservations: ReservationService;
  close(): Promise<void>;
}

/** The app with reservations and routing; call after seeding locations and stock. */
export async function startRouting(db: Database, opts: Partial<RoutingServiceOptions> = {}): Promise<RoutingHarness> {
  const index = new RoutingIndex({ db, fullRefreshMs: 0, tailMs: 0 });
  await index.start();
  const notify = (keys: Array<{ sku: string; locationId: string }>) => index.notePositionsChanged(keys);
  const reservations = new ReservationService({ db, onChanged: notify });
  const routing = new RoutingService({ db, index, onChanged: notify, ...opts });
  const app = await buildApp(
    { config: loadConfig({}), db, log: null as never, ingest: null as never, metrics: createMetrics(), logger: createLogger('silent'), isStarted: () => true },
    [{ name: 'test', secret: TOKEN, scopes: [...SCOPES] }, { name: 'res', secret: NO_ROUTING_TOKEN, scopes: ['reservations', 'stock:read'] }],
    [reservationRoutes(reservations), routingRoutes(routing, new RejectService({ db, routing }))],
  );
  return {
    app, index, routing, reservations,
    async close() {
      await app.close();
      await index.stop();
    },
  };
}
