// The staff app's stock lookup: a SKU's availability per location with each location's name and
// distance from the store asking, and the nearest other stores that can promise it (the
// endless aisle: a shopper at the till is offered stock from elsewhere). Pure.
import type { LocationAvailability, SkuAvailability } from './availability.js';
import { haversineKm } from './routing/geo.js';

export interface LookupLocation {
  id: string;
  name: string;
  type: 'store' | 'warehouse';
  lat: number;
  lon: number;
  pickup: boolean;
  shipFromStore: boolean;
  active: boolean;
}

export interface LookupRow extends LocationAvailability {
  name: string;
  type: 'store' | 'warehouse';
  distanceKm: number | null;
}

export interface NearbyStore {
  locationId: string;
  name: string;
  distanceKm: number;
  atp: number;
  pickup: boolean;
  shipFromStore: boolean;
}

export interface StockLookup extends Omit<SkuAvailability, 'locations'> {
  from: string | null;
  locations: LookupRow[];
  nearest: NearbyStore[];
}

export const NEAREST_STORES = 5;

export function stockLookup(av: SkuAvailability, locations: ReadonlyMap<string, LookupLocation>, fromId: string | null): StockLookup {
  const from = fromId ? locations.get(fromId) ?? null : null;
  const dist = (l: LookupLocation | undefined) => (from && l ? Math.round(haversineKm(from, l) * 10) / 10 : null);
  const rows: LookupRow[] = av.locations.map((p) => {
    const l = locations.get(p.locationId);
    return { ...p, name: l?.name ?? p.locationId, type: l?.type ?? 'store', distanceKm: dist(l) };
  });
  const nearest: NearbyStore[] = from
    ? rows
      .filter((r) => r.locationId !== from.id && r.type === 'store' && r.active && r.atp > 0)
      .map((r) => {
        const l = locations.get(r.locationId)!;
        return { locationId: r.locationId, name: r.name, distanceKm: r.distanceKm ?? 0, atp: r.atp, pickup: l.pickup, shipFromStore: l.shipFromStore };
      })
      .sort((a, b) => a.distanceKm - b.distanceKm || (a.locationId < b.locationId ? -1 : 1))
      .slice(0, NEAREST_STORES)
    : [];
  // The asking store first, then by distance (or id without a reference point).
  rows.sort((a, b) => {
    if (fromId) {
      if (a.locationId === fromId) return -1;
      if (b.locationId === fromId) return 1;
    }
    return (a.distanceKm ?? 0) - (b.distanceKm ?? 0) || (a.locationId < b.locationId ? -1 : 1);
  });
  return { sku: av.sku, network: av.network, from: from?.id ?? null, locations: rows, nearest };
}
