import { describe, expect, it } from 'vitest';
import { skuAvailability } from './availability.js';
import { stockLookup, type LookupLocation } from './stock-lookup.js';

const loc = (id: string, lat: number, lon: number, o: Partial<LookupLocation> = {}): LookupLocation => ({
  id, name: `Store ${id}`, type: 'store', lat, lon, pickup: true, shipFromStore: true, active: true, ...o,
});
const fig = (locationId: string, onHand: number) => ({ locationId, onHand, reserved: 0, unavailable: 0, safetyStock: 0, active: true, oversold: false, countRequested: false });

describe('stock lookup', () => {
  const locations = new Map([
    loc('ams', 52.37, 4.89), loc('utr', 52.09, 5.12), loc('rot', 51.92, 4.48), loc('wh', 52.0, 5.0, { type: 'warehouse' }), loc('far', 40.4, -3.7),
  ].map((l) => [l.id, l]));

  it('lists the nearest other stores with ATP, nearest first, and puts the asking store first', () => {
    const av = skuAvailability('A-1', [fig('ams', 1), fig('utr', 3), fig('rot', 0), fig('wh', 50), fig('far', 2)]);
    const r = stockLookup(av, locations, 'ams');
    expect(r.locations[0]!.locationId).toBe('ams');
    expect(r.nearest.map((n) => n.locationId)).toEqual(['utr', 'far']); // rot has none, wh is no store
    expect(r.nearest[0]!.distanceKm).toBeGreaterThan(30);
    expect(r.nearest[0]!.distanceKm).toBeLessThan(45);
  });

  it('has no distances and no nearest list without a reference store', () => {
    const r = stockLookup(skuAvailability('A-1', [fig('utr', 3)]), locations, null);
    expect(r.nearest).toEqual([]);
    expect(r.locations[0]!.distanceKm).toBeNull();
  });
});
