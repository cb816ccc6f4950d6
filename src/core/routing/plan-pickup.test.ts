import { describe, expect, it } from 'vitest';
import { planPickup } from './plan-pickup.js';
import { buildIndex, DEST, loc, north, pos } from './test-helpers.js';

const store = (id: string, km: number, o: Parameters<typeof loc>[1] = {}) =>
  loc(id, { type: 'store', pickup: true, lat: north(km), ...o });

function network() {
  return buildIndex(
    [
      store('home', 0), // requested store, lacks Y
      store('s5', 5),
      store('s3', 3),
      store('s20', 20, { active: false }), // inactive
      store('s30', 30, { pickup: false }), // no pickup
      store('s40', 40),
      store('s80', 80), // beyond 50 km of home
      store('partial', 2), // holds X only
      loc('wh', { lat: north(1), pickup: false }),
    ],
    [
      pos('X', 'home', 5),
      ...['s5', 's3', 's20', 's30', 's40', 's80'].flatMap((id) => [pos('X', id, 2), pos('Y', id, 1)]),
      pos('X', 'partial', 9),
      pos('X', 'wh', 99),
      pos('Y', 'wh', 99),
    ],
  );
}

const lines = [
  { sku: 'X', quantity: 2 },
  { sku: 'Y', quantity: 1 },
];

describe('planPickup', () => {
  it('named store holding every line: one shipment with all lines', () => {
    const index = network();
    const r = planPickup({ lines, pickupLocationId: 's5', destination: DEST }, index);
    expect(r.feasible).toBe(true);
    expect(r.shipments).toEqual([{ locationId: 's5', distanceKm: expect.closeTo(5, 6) as number, lines }]);
    expect(r.unassigned).toEqual([]);
    // without destination the distance is 0
    expect(planPickup({ lines, pickupLocationId: 's5' }, index).shipments[0]!.distanceKm).toBe(0);
  });

  it('named store missing a line: infeasible with alternatives nearest to it, within the radius', () => {
    const index = network();
    const r = planPickup({ lines, pickupLocationId: 'home' }, index);
    expect(r.feasible).toBe(false);
    expect(r.shipments).toEqual([]);
    expect(r.unassigned).toEqual(lines);
    expect(r.alternatives!.map((a) => a.locationId)).toEqual(['s3', 's5', 's40']);
    expect(r.alternatives![0]!.distanceKm).toBeCloseTo(3, 6);
    // radius widens / narrows the search
    expect(planPickup({ lines, pickupLocationId: 'home', radiusKm: 100 }, index).alternatives!.map((a) => a.locationId)).toEqual([
      's3',
      's5',
      's40',
      's80',
    ]);
    expect(planPickup({ lines, pickupLocationId: 'home', radiusKm: 4 }, index).alternatives!.map((a) => a.locationId)).toEqual([
      's3',
    ]);
  });

  it('named store must have pickup and be active', () => {
    const index = network();
    expect(planPickup({ lines, pickupLocationId: 's30' }, index).feasible).toBe(false);
    expect(planPickup({ lines, pickupLocationId: 's20' }, index).feasible).toBe(false);
    expect(planPickup({ lines, pickupLocationId: 'wh' }, index).feasible).toBe(false);
    const r = planPickup({ lines, pickupLocationId: 's20' }, index);
    // alternatives are measured from the named store (20 km north): s5 15 km, s3 17 km, s40 20 km
    expect(r.alternatives!.map((a) => a.locationId)).toEqual(['s5', 's3', 's40']);
  });

  it('unknown named store: alternatives around the destination if given, else none', () => {
    const index = network();
    const r = planPickup({ lines, pickupLocationId: 'ghost', destination: { lat: north(38), lon: DEST.lon } }, index);
    expect(r.feasible).toBe(false);
    expect(r.alternatives!.map((a) => a.locationId)).toEqual(['s40', 's5', 's3', 's80']);
    expect(planPickup({ lines, pickupLocationId: 'ghost' }, index).alternatives).toEqual([]);
  });

  it('destination only: the nearest active pickup store holding every line', () => {
    const index = network();
    const r = planPickup({ lines, destination: DEST }, index, { explain: true });
    expect(r.feasible).toBe(true);
    expect(r.shipments.map((s) => s.locationId)).toEqual(['s3']);
    const reason = (id: string) => r.explain!.candidates.find((c) => c.locationId === id)?.reason;
    expect(reason('s3')).toBe('best plan');
    expect(reason('home')).toBe('no stock');
    expect(reason('partial')).toBe('no stock');
    expect(reason('s20')).toBe('inactive');
    expect(reason('wh')).toBe('not a pickup location');
    expect(reason('s5')).toBe('farther');
    // more than any store holds: infeasible, no alternatives
    const big = planPickup({ lines: [{ sku: 'X', quantity: 10 }], destination: DEST }, index);
    expect(big.feasible).toBe(false);
    expect(big.alternatives).toEqual([]);
    // duplicate lines are merged: 1 + 1 of Y exceeds every store's single Y
    expect(planPickup({ lines: [{ sku: 'Y', quantity: 1 }, { sku: 'Y', quantity: 1 }], destination: DEST }, index).feasible).toBe(false);
  });

  it('ties on distance go to the lower rank, then the smaller id', () => {
    const index = buildIndex(
      [store('b', 5, { rank: 1 }), store('a', 5, { rank: 2 }), store('c', 5, { rank: 1 })],
      ['a', 'b', 'c'].map((id) => pos('X', id, 1)),
    );
    expect(planPickup({ lines: [{ sku: 'X', quantity: 1 }], destination: DEST }, index).shipments[0]!.locationId).toBe('b');
  });

  it('safety stock counts', () => {
    const index = buildIndex([store('s', 1, { safetyStock: 1 })], [pos('X', 's', 2)]);
    expect(planPickup({ lines: [{ sku: 'X', quantity: 1 }], pickupLocationId: 's' }, index).feasible).toBe(true);
    expect(planPickup({ lines: [{ sku: 'X', quantity: 2 }], pickupLocationId: 's' }, index).feasible).toBe(false);
  });

  it('rejects a request with neither store nor destination, or a bad radius', () => {
    const index = network();
    expect(() => planPickup({ lines }, index)).toThrow(/pickupLocationId or destination/);
    expect(() => planPickup({ lines, destination: DEST, radiusKm: -1 }, index)).toThrow(/radiusKm/);
    expect(() => planPickup({ lines, destination: { lat: 0, lon: 200 } }, index)).toThrow(/destination\.lon/);
  });

  it('onlyLocationIds restricts the chosen store and the alternatives', () => {
    const index = network();
    // nearest pickup store holding the order is s3; outside the pool it is not chosen
    expect(planPickup({ lines, destination: DEST }, index).shipments[0]!.locationId).toBe('s3');
    const r = planPickup({ lines, destination: DEST }, index, { onlyLocationIds: ['s5', 's40'], explain: true });
    expect(r.shipments.map((s) => s.locationId)).toEqual(['s5']);
    expect(r.explain!.candidates.find((c) => c.locationId === 's3')!.reason).toBe('not allowed');
    const alt = planPickup({ lines, pickupLocationId: 'home' }, index, { onlyLocationIds: ['home', 's40'] });
    expect(alt.feasible).toBe(false);
    expect(alt.alternatives!.map((a) => a.locationId)).toEqual(['s40']);
    // a named store outside the pool is never chosen
    expect(planPickup({ lines, pickupLocationId: 's5' }, index, { onlyLocationIds: ['s40'] }).feasible).toBe(false);
  });
});
