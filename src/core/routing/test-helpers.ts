// Small builders for the routing tests (tests only).
//
// API
//   loc(id, overrides?): RoutingLocation     active warehouse at (52, 5), rank 100, unlimited
//   pos(sku, locationId, onHand, reserved?, unavailable?): PositionUpdate
//   buildIndex(locations, positions, capacityUsed?): AtpIndex
//   DEST                                     destination used by the unit tests (52, 5)
//   north(km): number                        latitude km north of DEST (same longitude)

import { AtpIndex } from './atp-index.js';
import { EARTH_RADIUS_KM } from './geo.js';
import type { PositionUpdate, RoutingLocation } from './types.js';

export const DEST = { lat: 52, lon: 5 };

export function north(km: number): number {
  return DEST.lat + (km / EARTH_RADIUS_KM) * (180 / Math.PI);
}

export function loc(id: string, o: Partial<RoutingLocation> = {}): RoutingLocation {
  return {
    id,
    type: 'warehouse',
    lat: DEST.lat,
    lon: DEST.lon,
    shipFromStore: false,
    pickup: false,
    rank: 100,
    dailyCapacity: null,
    safetyStock: 0,
    active: true,
    ...o,
  };
}

export function pos(sku: string, locationId: string, onHand: number, reserved = 0, unavailable = 0): PositionUpdate {
  return { sku, locationId, onHand, reserved, unavailable };
}

export function buildIndex(
  locations: RoutingLocation[],
  positions: PositionUpdate[],
  capacityUsed: Record<string, number> = {},
): AtpIndex {
  const index = new AtpIndex();
  for (const l of locations) index.upsertLocation(l);
  for (const p of positions) index.upsertPosition(p);
  for (const [id, used] of Object.entries(capacityUsed)) index.setCapacityUsed(id, used);
  return index;
}
