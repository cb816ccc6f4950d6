import type { Sql } from '../db/database.js';
import type { Location, LocationBody } from './location.js';

const COLUMNS = `id, name, type, lat, lon, ship_from_store, pickup, rank, daily_capacity, safety_stock, active`;

function toLocation(r: Record<string, unknown>): Location {
  return {
    id: r.id as string,
    name: r.name as string,
    type: r.type as Location['type'],
    lat: r.lat as number,
    lon: r.lon as number,
    shipFromStore: r.ship_from_store as boolean,
    pickup: r.pickup as boolean,
    rank: r.rank as number,
    dailyCapacity: r.daily_capacity as number | null,
    safetyStock: r.safety_stock as number,
    active: r.active as boolean,
  };
}

/** Told after a location is written (in-process caches such as the routing index). */
export type LocationListener = (db: Sql, location: Location) => void;
const listeners = new Set<LocationListener>();

/** Subscribes to location writes (any database of this process: compare `db`); returns the unsubscribe. */
export function onLocationUpserted(listener: LocationListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Creates or replaces a location; reports whether it was new. */
export async function upsertLocation(db: Sql, id: string, b: LocationBody): Promise<{ location: Location; created: boolean }> {
  const rows = await db.query<Record<string, unknown> & { created: boolean }>(
    `INSERT INTO locations (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, type = EXCLUDED.type, lat = EXCLUDED.lat, lon = EXCLUDED.lon,
       ship_from_store = EXCLUDED.ship_from_store, pickup = EXCLUDED.pickup, rank = EXCLUDED.rank,
       daily_capacity = EXCLUDED.daily_capacity, safety_stock = EXCLUDED.safety_stock, active = EXCLUDED.active, updated_at = now()
     RETURNING ${COLUMNS}, (xmax = 0) AS created`,
    [id, b.name, b.type, b.lat, b.lon, b.shipFromStore, b.pickup, b.rank, b.dailyCapacity, b.safetyStock, b.active],
  );
  const r = rows[0]!;
  const location = toLocation(r);
  for (const l of listeners) {
    try {
      l(db, location);
    } catch {
      // a cache failing to follow must not fail the write; its periodic refresh catches up
    }
  }
  return { location, created: r.created };
}

export async function listLocations(db: Sql): Promise<Location[]> {
  return (await db.query<Record<string, unknown>>(`SELECT ${COLUMNS} FROM locations ORDER BY id`)).map(toLocation);
}

export async function getLocation(db: Sql, id: string): Promise<Location | null> {
  const rows = await db.query<Record<string, unknown>>(`SELECT ${COLUMNS} FROM locations WHERE id = $1`, [id]);
  return rows[0] ? toLocation(rows[0]) : null;
}
