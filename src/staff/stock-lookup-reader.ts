// Reads what the stock lookup shows in one query: the SKU's positions joined with their
// locations' names and coordinates (a SKU at 1,000 locations is one index range scan), plus the
// reference location when it holds none.
import type { Sql } from '../db/database.js';
import { skuAvailability, type PositionFigures } from '../core/availability.js';
import { stockLookup, type LookupLocation, type StockLookup } from '../core/stock-lookup.js';

interface Row {
  location_id: string; on_hand: number; reserved: number; unavailable: number; safety_stock: number; active: boolean;
  oversold: boolean; count_requested: boolean; name: string; type: 'store' | 'warehouse'; lat: number; lon: number; pickup: boolean; ship_from_store: boolean;
}

export class UnknownLocation extends Error {}

export async function readStockLookup(db: Sql, sku: string, near: string | null): Promise<StockLookup> {
  const rows = await db.query<Row>(
    `SELECT p.location_id, p.on_hand, p.reserved, p.unavailable + p.missing AS unavailable, l.safety_stock, l.active, p.oversold,
            p.count_requested_at IS NOT NULL AS count_requested, l.name, l.type, l.lat, l.lon, l.pickup, l.ship_from_store
       FROM positions p JOIN locations l ON l.id = p.location_id
      WHERE p.sku = $1`,
    [sku],
  );
  const locations = new Map<string, LookupLocation>();
  const figures: PositionFigures[] = rows.map((r) => {
    locations.set(r.location_id, { id: r.location_id, name: r.name, type: r.type, lat: r.lat, lon: r.lon, pickup: r.pickup, shipFromStore: r.ship_from_store, active: r.active });
    return {
      locationId: r.location_id, onHand: r.on_hand, reserved: r.reserved, unavailable: r.unavailable, safetyStock: r.safety_stock,
      active: r.active, oversold: r.oversold, countRequested: r.count_requested,
    };
  });
  if (near !== null && !locations.has(near)) {
    const l = (await db.query<Omit<Row, 'location_id'> & { id: string }>(
      'SELECT id, name, type, lat, lon, pickup, ship_from_store, active FROM locations WHERE id = $1', [near],
    ))[0];
    if (!l) throw new UnknownLocation(near);
    locations.set(l.id, { id: l.id, name: l.name, type: l.type, lat: l.lat, lon: l.lon, pickup: l.pickup, shipFromStore: l.ship_from_store, active: l.active });
  }
  return stockLookup(skuAvailability(sku, figures), locations, near);
}
