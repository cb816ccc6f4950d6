import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { atp } from '../atp.js';
import { AtpIndex } from './atp-index.js';
import { haversineKm, coordinateError, isValidPoint } from './geo.js';
import { buildIndex, loc, pos } from './test-helpers.js';

describe('geo', () => {
  it('haversine: Amsterdam–Utrecht ≈ 35 km, zero to itself, symmetric', () => {
    const ams = { lat: 52.3676, lon: 4.9041 };
    const utr = { lat: 52.0907, lon: 5.1214 };
    expect(haversineKm(ams, utr)).toBeGreaterThan(34);
    expect(haversineKm(ams, utr)).toBeLessThan(35);
    expect(haversineKm(ams, ams)).toBe(0);
    expect(haversineKm(ams, utr)).toBeCloseTo(haversineKm(utr, ams), 9);
  });
  it('one degree of latitude ≈ 111.195 km with R = 6371.0088', () => {
    expect(haversineKm({ lat: 0, lon: 0 }, { lat: 1, lon: 0 })).toBeCloseTo(111.1951, 3);
    expect(haversineKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 })).toBeCloseTo(Math.PI * 6371.0088, 6);
  });
  it('validates coordinates and names the field', () => {
    expect(isValidPoint({ lat: 90, lon: -180 })).toBe(true);
    expect(isValidPoint({ lat: 90.1, lon: 0 })).toBe(false);
    expect(isValidPoint({ lat: Number.NaN, lon: 0 })).toBe(false);
    expect(coordinateError({ lat: 0, lon: 181 }, 'destination')).toMatch(/destination\.lon/);
    expect(coordinateError({ lat: -91, lon: 0 }, 'destination')).toMatch(/destination\.lat/);
    expect(coordinateError(null, 'destination')).toMatch(/destination/);
    expect(coordinateError({ lat: 1, lon: 2 }, 'destination')).toBeNull();
  });
});

describe('AtpIndex', () => {
  it('ATP = max(0, onHand − reserved − unavailable − safetyStock); inactive ⇒ 0', () => {
    const index = buildIndex(
      [loc('a', { safetyStock: 1 }), loc('b', { active: false })],
      [pos('X', 'a', 10, 3, 2), pos('X', 'b', 10), pos('Y', 'a', 1)],
    );
    expect(index.atp('X', 'a')).toBe(4);
    expect(index.atp('X', 'b')).toBe(0);
    expect(index.atp('Y', 'a')).toBe(0); // 1 − safety 1
    expect(index.atp('Z', 'a')).toBe(0);
    expect(index.atp('X', 'nowhere')).toBe(0);
    expect(index.networkAtp('X')).toBe(4);
    expect(index.locationsWithStock('X')).toEqual([{ locationId: 'a', atp: 4 }]);
    expect(index.locationsWithStock('Y')).toEqual([]);
  });

  it('updates positions in place and reacts to location changes without touching positions', () => {
    const index = buildIndex([loc('a')], [pos('X', 'a', 5)]);
    index.upsertPosition(pos('X', 'a', 2, 0, 1));
    expect(index.atp('X', 'a')).toBe(1);
    expect(index.stats()).toEqual({ locations: 1, skus: 1, positions: 1 });
    index.upsertLocation(loc('a', { active: false }));
    expect(index.atp('X', 'a')).toBe(0);
    index.upsertLocation(loc('a', { safetyStock: 0 }));
    expect(index.atp('X', 'a')).toBe(1);
    // negative on hand (oversold) never gives negative ATP
    index.upsertPosition(pos('X', 'a', -3));
    expect(index.atp('X', 'a')).toBe(0);
  });

  it('positions may arrive before their location', () => {
    const index = new AtpIndex();
    index.upsertPosition(pos('X', 'late', 4));
    expect(index.atp('X', 'late')).toBe(0);
    expect(index.hasLocation('late')).toBe(false);
    expect([...index.locations()]).toEqual([]);
    index.upsertLocation(loc('late'));
    expect(index.atp('X', 'late')).toBe(4);
    expect(index.stats().locations).toBe(1);
  });

  it('large rows (> 16 locations) keep O(1) updates and correct answers', () => {
    const index = new AtpIndex();
    for (let i = 0; i < 200; i++) index.upsertLocation(loc(`L${i}`));
    for (let i = 0; i < 200; i++) index.upsertPosition(pos('X', `L${i}`, i));
    for (let i = 0; i < 200; i += 7) index.upsertPosition(pos('X', `L${i}`, i + 1000));
    for (let i = 0; i < 200; i++) expect(index.atp('X', `L${i}`)).toBe(i % 7 === 0 ? i + 1000 : i);
    expect(index.stats().positions).toBe(200);
    expect(index.locationsWithStock('X')).toHaveLength(200);
  });

  it('capacity: null is unlimited, used ≥ capacity is used up; canShip combines the rules', () => {
    const index = buildIndex(
      [
        loc('w', { dailyCapacity: 2 }),
        loc('u', { dailyCapacity: null }),
        loc('s', { type: 'store', shipFromStore: false }),
        loc('t', { type: 'store', shipFromStore: true }),
        loc('off', { active: false }),
      ],
      [],
    );
    index.setCapacityUsed('w', 1);
    expect(index.hasCapacity('w')).toBe(true);
    index.setCapacityUsed('w', 2);
    expect(index.hasCapacity('w')).toBe(false);
    expect(index.capacityUsed('w')).toBe(2);
    index.setCapacityUsed('u', 1e6);
    expect(index.hasCapacity('u')).toBe(true);
    expect(index.canShip('w')).toBe(false);
    expect(index.canShip('u')).toBe(true);
    expect(index.canShip('s')).toBe(false);
    expect(index.canShip('t')).toBe(true);
    expect(index.canShip('off')).toBe(false);
    // capacity raised later frees the location again
    index.upsertLocation(loc('w', { dailyCapacity: 3 }));
    expect(index.canShip('w')).toBe(true);
  });

  it('rejects invalid locations with a message naming the field', () => {
    const index = new AtpIndex();
    expect(() => index.upsertLocation(loc('bad id'))).toThrow(/id/);
    expect(() => index.upsertLocation(loc('a', { lat: 100 }))).toThrow(/lat/);
    expect(() => index.upsertLocation(loc('a', { dailyCapacity: -1 }))).toThrow(/dailyCapacity/);
  });
});

describe('AtpIndex vs a naive model', () => {
  it('random updates over many locations agree with core atp()', () => {
    const locIds = Array.from({ length: 60 }, (_, i) => `L${i}`);
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('pos' as const),
        sku: fc.constantFrom('A', 'B', 'C'),
        loc: fc.constantFrom(...locIds),
        onHand: fc.integer({ min: -3, max: 20 }),
        reserved: fc.integer({ min: 0, max: 5 }),
        unavailable: fc.integer({ min: 0, max: 5 }),
      }),
      fc.record({
        kind: fc.constant('loc' as const),
        loc: fc.constantFrom(...locIds),
        safetyStock: fc.integer({ min: 0, max: 3 }),
        active: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const index = new AtpIndex();
        const posModel = new Map<string, { onHand: number; reserved: number; unavailable: number }>();
        const locModel = new Map<string, { safetyStock: number; active: boolean }>();
        for (const o of ops) {
          if (o.kind === 'pos') {
            index.upsertPosition({ sku: o.sku, locationId: o.loc, onHand: o.onHand, reserved: o.reserved, unavailable: o.unavailable });
            posModel.set(`${o.sku}|${o.loc}`, o);
          } else {
            index.upsertLocation(loc(o.loc, { safetyStock: o.safetyStock, active: o.active }));
            locModel.set(o.loc, o);
          }
        }
        for (const sku of ['A', 'B', 'C']) {
          let network = 0;
          for (const id of locIds) {
            const p = posModel.get(`${sku}|${id}`);
            const l = locModel.get(id);
            const want = p === undefined || l === undefined ? 0 : atp({ ...p, ...l });
            expect(index.atp(sku, id)).toBe(want);
            network += want;
          }
          expect(index.networkAtp(sku)).toBe(network);
          expect(index.locationsWithStock(sku).length).toBe(locIds.filter((id) => index.atp(sku, id) > 0).length);
        }
        expect(index.stats().positions).toBe(posModel.size);
      }),
      { numRuns: 200 },
    );
  });
});
