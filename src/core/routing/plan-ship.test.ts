import { describe, expect, it } from 'vitest';
import { mergeLines, planReroute, planShip } from './plan-ship.js';
import { buildIndex, DEST, loc, north, pos } from './test-helpers.js';
import type { PlanResult } from './types.js';

const ids = (r: PlanResult): string[] => r.shipments.map((s) => s.locationId);
const sortedIds = (r: PlanResult): string[] => ids(r).sort();
const reasonOf = (r: PlanResult, id: string): string | undefined =>
  r.explain?.candidates.find((c) => c.locationId === id)?.reason;

describe('planShip: choice order of §7', () => {
  it('(1) fewest shipments beats distance', () => {
    const index = buildIndex(
      [loc('nearX', { lat: north(1) }), loc('nearY', { lat: north(2) }), loc('farXY', { lat: north(300) })],
      [pos('X', 'nearX', 5), pos('Y', 'nearY', 5), pos('X', 'farXY', 1), pos('Y', 'farXY', 1)],
    );
    const r = planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 1 }, { sku: 'Y', quantity: 1 }] }, index);
    expect(r.feasible).toBe(true);
    expect(ids(r)).toEqual(['farXY']);
    expect(r.shipments[0]!.distanceKm).toBeCloseTo(300, 6);
  });

  it('(2) smallest distance sum among plans with the fewest shipments', () => {
    // single shipment: nearest of the full coverers
    const one = buildIndex(
      [loc('a', { lat: north(20), rank: 1 }), loc('b', { lat: north(10), rank: 500 })],
      [pos('X', 'a', 1), pos('X', 'b', 1)],
    );
    expect(ids(planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 1 }] }, one))).toEqual(['b']);
    // two shipments: the nearest location n1 (X only) needs a partner holding Y+Z, 5 + 30 = 35;
    // {b (X+Y), c (Z)} costs 12 + 14 = 26 and wins
    const two = buildIndex(
      [
        loc('n1', { lat: north(5) }),
        loc('a', { lat: north(30) }),
        loc('b', { lat: north(12) }),
        loc('c', { lat: north(14) }),
      ],
      [pos('X', 'n1', 1), pos('Y', 'a', 1), pos('Z', 'a', 1), pos('X', 'b', 1), pos('Y', 'b', 1), pos('Z', 'c', 1)],
    );
    const r2 = planShip(
      { destination: DEST, lines: [{ sku: 'X', quantity: 1 }, { sku: 'Y', quantity: 1 }, { sku: 'Z', quantity: 1 }] },
      two,
      { explain: true },
    );
    expect(sortedIds(r2)).toEqual(['b', 'c']);
    expect(r2.shipments.reduce((s, x) => s + x.distanceKm!, 0)).toBeCloseTo(26, 6);
    expect(reasonOf(r2, 'n1')).toBe('farther');
  });

  it('(2) a nearer location is not chosen when it forces a worse total', () => {
    // X needs 2: near has 1, mid1 and mid2 have 2 each, far has 2.
    // {mid1} alone covers (1 shipment) even though near is nearer.
    const index = buildIndex(
      [loc('near', { lat: north(1) }), loc('mid1', { lat: north(50) }), loc('mid2', { lat: north(60) })],
      [pos('X', 'near', 1), pos('X', 'mid1', 2), pos('X', 'mid2', 2)],
    );
    const r = planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 2 }] }, index);
    expect(ids(r)).toEqual(['mid1']);
  });

  it('(3) lower rank sum at equal distance', () => {
    const index = buildIndex(
      [loc('a', { lat: north(10), rank: 50 }), loc('b', { lat: north(10), rank: 10 })],
      [pos('X', 'a', 1), pos('X', 'b', 1)],
    );
    const r = planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 1 }] }, index, { explain: true });
    expect(ids(r)).toEqual(['b']);
    expect(reasonOf(r, 'a')).toBe('higher rank');
    // with two shipments: the rank sum decides
    const two = buildIndex(
      [
        loc('x1', { lat: north(10), rank: 1 }),
        loc('x2', { lat: north(10), rank: 3 }),
        loc('y1', { lat: north(20), rank: 5 }),
        loc('y2', { lat: north(20), rank: 2 }),
      ],
      [pos('X', 'x1', 1), pos('X', 'x2', 1), pos('Y', 'y1', 1), pos('Y', 'y2', 1)],
    );
    const r2 = planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 1 }, { sku: 'Y', quantity: 1 }] }, two);
    expect(sortedIds(r2)).toEqual(['x1', 'y2']);
  });

  it('(4) location ids when distance and rank tie', () => {
    const index = buildIndex(
      [loc('b', { lat: north(10) }), loc('a', { lat: north(10) }), loc('c', { lat: north(10) })],
      [pos('X', 'b', 1), pos('X', 'a', 1), pos('X', 'c', 1)],
    );
    const r = planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 1 }] }, index, { explain: true });
    expect(ids(r)).toEqual(['a']);
    expect(reasonOf(r, 'b')).toBe('location id');
    // two shipments: sorted id lists compared element by element: [a, d] < [b, c]
    const two = buildIndex(
      [loc('b', { lat: north(10) }), loc('a', { lat: north(10) }), loc('c', { lat: north(20) }), loc('d', { lat: north(20) })],
      [pos('X', 'a', 1), pos('X', 'b', 1), pos('Y', 'c', 1), pos('Y', 'd', 1)],
    );
    const r2 = planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 1 }, { sku: 'Y', quantity: 1 }] }, two);
    expect(sortedIds(r2)).toEqual(['a', 'c']);
  });
});

describe('planShip: candidates', () => {
  it('skips locations whose daily capacity is used up; null is unlimited', () => {
    const locs = [loc('near', { lat: north(1), dailyCapacity: 2 }), loc('far', { lat: north(100), dailyCapacity: null })];
    const positions = [pos('X', 'near', 5), pos('X', 'far', 5)];
    const line = { destination: DEST, lines: [{ sku: 'X', quantity: 1 }] };
    expect(ids(planShip(line, buildIndex(locs, positions, { near: 1 })))).toEqual(['near']);
    const full = buildIndex(locs, positions, { near: 2, far: 10_000 });
    const r = planShip(line, full, { explain: true });
    expect(ids(r)).toEqual(['far']);
    expect(reasonOf(r, 'near')).toBe('capacity used up');
    // capacity 0 never ships
    const zero = buildIndex([loc('z', { dailyCapacity: 0 })], [pos('X', 'z', 5)]);
    expect(planShip(line, zero).feasible).toBe(false);
  });

  it('excludes inactive locations and stores without shipFromStore; warehouses always ship', () => {
    const index = buildIndex(
      [
        loc('off', { lat: north(1), active: false }),
        loc('shop', { lat: north(2), type: 'store', shipFromStore: false, pickup: true }),
        loc('sfs', { lat: north(3), type: 'store', shipFromStore: true }),
        loc('wh', { lat: north(4), type: 'warehouse', shipFromStore: false }),
      ],
      [pos('X', 'off', 9), pos('X', 'shop', 9), pos('X', 'sfs', 1), pos('X', 'wh', 9)],
    );
    const r = planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 1 }] }, index, { explain: true });
    expect(ids(r)).toEqual(['sfs']);
    expect(reasonOf(r, 'off')).toBe('inactive');
    expect(reasonOf(r, 'shop')).toBe('not a ship location');
    expect(reasonOf(r, 'wh')).toBe('farther');
    const r2 = planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 2 }] }, index);
    expect(ids(r2)).toEqual(['wh']);
  });

  it('respects safety stock, reservations and unavailable units', () => {
    const index = buildIndex(
      [loc('near', { lat: north(1), safetyStock: 2 }), loc('far', { lat: north(9) })],
      [pos('X', 'near', 6, 1, 1), pos('X', 'far', 3)],
    );
    expect(ids(planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 2 }] }, index))).toEqual(['near']);
    expect(ids(planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 3 }] }, index))).toEqual(['far']);
  });
});

describe('planShip: lines', () => {
  it('splits a line across locations when needed; the nearest takes as much as it can', () => {
    const index = buildIndex(
      [loc('a', { lat: north(5) }), loc('b', { lat: north(10) }), loc('c', { lat: north(50) })],
      [pos('X', 'a', 3), pos('X', 'b', 4), pos('X', 'c', 2), pos('Y', 'b', 1)],
    );
    const r = planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 5 }, { sku: 'Y', quantity: 1 }] }, index);
    expect(r.feasible).toBe(true);
    expect(r.shipments).toEqual([
      { locationId: 'a', distanceKm: expect.closeTo(5, 6) as number, lines: [{ sku: 'X', quantity: 3 }] },
      {
        locationId: 'b',
        distanceKm: expect.closeTo(10, 6) as number,
        lines: [
          { sku: 'X', quantity: 2 },
          { sku: 'Y', quantity: 1 },
        ],
      },
    ]);
  });

  it('merges duplicate SKU lines before checking ATP', () => {
    const index = buildIndex(
      [loc('near', { lat: north(1) }), loc('far', { lat: north(80) })],
      [pos('X', 'near', 3), pos('X', 'far', 4)],
    );
    const r = planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 2 }, { sku: 'X', quantity: 2 }] }, index);
    expect(r.feasible).toBe(true);
    expect(r.shipments).toHaveLength(1);
    expect(r.shipments[0]).toMatchObject({ locationId: 'far', lines: [{ sku: 'X', quantity: 4 }] });
    expect(mergeLines([{ sku: 'A', quantity: 1 }, { sku: 'B', quantity: 2 }, { sku: 'A', quantity: 3 }])).toEqual([
      { sku: 'A', quantity: 4 },
      { sku: 'B', quantity: 2 },
    ]);
  });

  it('infeasible: unassigned lists the shortfall and shipments hold the best partial plan', () => {
    const index = buildIndex(
      [loc('a', { lat: north(5) }), loc('b', { lat: north(15) }), loc('off', { active: false })],
      [pos('X', 'a', 2), pos('X', 'b', 1), pos('Y', 'b', 1), pos('X', 'off', 50)],
    );
    const r = planShip(
      {
        destination: DEST,
        lines: [
          { sku: 'X', quantity: 5 },
          { sku: 'Y', quantity: 1 },
          { sku: 'Z', quantity: 2 },
        ],
      },
      index,
      { explain: true },
    );
    expect(r.feasible).toBe(false);
    expect(r.unassigned).toEqual([
      { sku: 'X', quantity: 2 },
      { sku: 'Z', quantity: 2 },
    ]);
    expect(r.shipments).toEqual([
      { locationId: 'a', distanceKm: expect.closeTo(5, 6) as number, lines: [{ sku: 'X', quantity: 2 }] },
      {
        locationId: 'b',
        distanceKm: expect.closeTo(15, 6) as number,
        lines: [
          { sku: 'X', quantity: 1 },
          { sku: 'Y', quantity: 1 },
        ],
      },
    ]);
    expect(r.explain?.method).toBe('partial');
    expect(reasonOf(r, 'a')).toBe('partial plan');
  });

  it('an unknown SKU is simply unassigned; an empty order is trivially feasible', () => {
    const index = buildIndex([loc('a')], [pos('X', 'a', 1)]);
    const r = planShip({ destination: DEST, lines: [{ sku: 'nope', quantity: 1 }] }, index);
    expect(r).toEqual({ feasible: false, shipments: [], unassigned: [{ sku: 'nope', quantity: 1 }] });
    expect(planShip({ destination: DEST, lines: [] }, index)).toEqual({ feasible: true, shipments: [], unassigned: [] });
  });

  it('uses the greedy heuristic beyond 3 shipments and still covers the order', () => {
    const skus = ['A', 'B', 'C', 'D', 'E'];
    const locs = skus.map((s, i) => loc(`only${s}`, { lat: north(10 * (i + 1)) }));
    const positions = skus.map((s) => pos(s, `only${s}`, 1));
    // decoys: a far location holding A+B (greedy may take it, then drop it if redundant)
    locs.push(loc('decoy', { lat: north(500) }));
    positions.push(pos('A', 'decoy', 1), pos('B', 'decoy', 1));
    const index = buildIndex(locs, positions);
    const r = planShip({ destination: DEST, lines: skus.map((sku) => ({ sku, quantity: 1 })) }, index, { explain: true });
    expect(r.feasible).toBe(true);
    expect(r.explain?.method).toBe('heuristic');
    expect(r.shipments.length).toBeGreaterThanOrEqual(4);
    const shipped = r.shipments.flatMap((s) => s.lines).map((l) => l.sku).sort();
    expect(shipped).toEqual(skus);
    // greedy picks decoy (2 units) first, then needs onlyC/D/E; onlyA/onlyB are redundant
    expect(sortedIds(r)).toEqual(['decoy', 'onlyC', 'onlyD', 'onlyE']);
  });

  it('rejects invalid input naming the field', () => {
    const index = buildIndex([], []);
    expect(() => planShip({ destination: { lat: 95, lon: 0 }, lines: [] }, index)).toThrow(/destination\.lat/);
    expect(() => planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 0 }] }, index)).toThrow(/lines\[0\]\.quantity/);
    expect(() => planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 1.5 }] }, index)).toThrow(RangeError);
  });
});

describe('planShip: re-routing and explain', () => {
  it('planReroute / excludeLocationIds never use the rejecting store', () => {
    const index = buildIndex(
      [
        loc('s1', { lat: north(1), type: 'store', shipFromStore: true }),
        loc('s2', { lat: north(5), type: 'store', shipFromStore: true }),
        loc('wh', { lat: north(100) }),
      ],
      [pos('X', 's1', 5), pos('X', 's2', 5), pos('X', 'wh', 5)],
    );
    const lines = [{ sku: 'X', quantity: 2 }];
    expect(ids(planShip({ destination: DEST, lines }, index))).toEqual(['s1']);
    const r = planReroute({ destination: DEST, rejectedLines: lines, rejectedBy: 's1' }, index, { explain: true });
    expect(ids(r)).toEqual(['s2']);
    expect(reasonOf(r, 's1')).toBe('excluded');
    const r2 = planReroute({ destination: DEST, rejectedLines: lines, rejectedBy: ['s1'], excludeLocationIds: ['s2'] }, index);
    expect(ids(r2)).toEqual(['wh']);
    expect(ids(planShip({ destination: DEST, lines }, index, { excludeLocationIds: ['s1', 's2', 'unknown'] }))).toEqual(['wh']);
  });

  it('explain lists every location once with a reason', () => {
    const index = buildIndex(
      [
        loc('best', { lat: north(10) }),
        loc('far', { lat: north(30) }),
        loc('splitA', { lat: north(1) }),
        loc('splitB', { lat: north(2) }),
        loc('empty', { lat: north(3) }),
        loc('off', { active: false }),
        loc('shop', { type: 'store' }),
        loc('busy', { dailyCapacity: 1 }),
      ],
      [
        pos('X', 'best', 1),
        pos('Y', 'best', 1),
        pos('X', 'far', 1),
        pos('Y', 'far', 1),
        pos('X', 'splitA', 1),
        pos('Y', 'splitB', 1),
        pos('Z', 'empty', 1),
        pos('X', 'busy', 9),
        pos('Y', 'busy', 9),
      ],
      { busy: 1 },
    );
    const r = planShip({ destination: DEST, lines: [{ sku: 'X', quantity: 1 }, { sku: 'Y', quantity: 1 }] }, index, {
      explain: true,
    });
    expect(ids(r)).toEqual(['best']);
    const cands = r.explain!.candidates;
    expect(cands.map((c) => c.locationId).sort()).toEqual(['best', 'busy', 'empty', 'far', 'off', 'shop', 'splitA', 'splitB']);
    expect(cands.find((c) => c.locationId === 'best')).toMatchObject({ decision: 'chosen', reason: 'best plan' });
    expect(reasonOf(r, 'far')).toBe('farther');
    expect(reasonOf(r, 'splitA')).toBe('more shipments');
    expect(reasonOf(r, 'splitB')).toBe('more shipments');
    expect(reasonOf(r, 'empty')).toBe('no stock');
    expect(reasonOf(r, 'off')).toBe('inactive');
    expect(reasonOf(r, 'shop')).toBe('not a ship location');
    expect(reasonOf(r, 'busy')).toBe('capacity used up');
    expect(cands.filter((c) => c.decision === 'chosen')).toHaveLength(1);
    // sorted by distance
    const d = cands.map((c) => c.distanceKm!);
    expect([...d].sort((a, b) => a - b)).toEqual(d);
    expect(r.explain!.method).toBe('exact');
  });

  it('the unpruned baseline gives the same plans', () => {
    const index = buildIndex(
      [loc('a', { lat: north(5) }), loc('b', { lat: north(7) }), loc('c', { lat: north(9) }), loc('d', { lat: north(11) })],
      [pos('X', 'a', 1), pos('Y', 'b', 1), pos('X', 'c', 1), pos('Y', 'c', 1), pos('Z', 'd', 3), pos('X', 'd', 1)],
    );
    const order = {
      destination: DEST,
      lines: [
        { sku: 'X', quantity: 2 },
        { sku: 'Y', quantity: 1 },
        { sku: 'Z', quantity: 1 },
      ],
    };
    expect(planShip(order, index, { pruning: false })).toEqual(planShip(order, index));
  });
});

describe('planShip without destination (§7: step (2) skipped)', () => {
  it('fewest shipments, then rank sum, then ids; distances are null', () => {
    const index = buildIndex(
      [
        loc('near', { lat: north(1), rank: 50 }), // nearest to anything, but rank decides
        loc('far-a', { lat: north(900), rank: 10 }),
        loc('far-b', { lat: north(900), rank: 10 }),
        loc('one-stop', { lat: north(500), rank: 100 }), // holds both lines
      ],
      [pos('X', 'near', 5), pos('X', 'far-a', 5), pos('X', 'far-b', 5), pos('X', 'one-stop', 5), pos('Y', 'one-stop', 1), pos('Y', 'far-b', 1)],
    );
    // (1) one shipment wins whatever the rank: far-b (rank 10) holds both lines
    const both = planShip({ lines: [{ sku: 'X', quantity: 2 }, { sku: 'Y', quantity: 1 }] }, index);
    expect(both.shipments).toEqual([{ locationId: 'far-b', distanceKm: null, lines: [{ sku: 'X', quantity: 2 }, { sku: 'Y', quantity: 1 }] }]);
    // (3) lower rank beats nearer; (4) far-a < far-b on the id
    expect(ids(planShip({ lines: [{ sku: 'X', quantity: 2 }] }, index))).toEqual(['far-a']);
    // the same order with a destination picks the nearest
    expect(ids(planShip({ lines: [{ sku: 'X', quantity: 2 }], destination: DEST }, index))).toEqual(['near']);
  });

  it('onlyLocationIds restricts candidates; explain says "not allowed"; infeasible plans stay partial', () => {
    const index = buildIndex([loc('a', { rank: 1 }), loc('b', { rank: 2 }), loc('c', { rank: 3 })], [pos('X', 'a', 5), pos('X', 'b', 1), pos('X', 'c', 1)]);
    const r = planShip({ lines: [{ sku: 'X', quantity: 2 }] }, index, { onlyLocationIds: ['b', 'c'], explain: true });
    expect(sortedIds(r)).toEqual(['b', 'c']);
    expect(reasonOf(r, 'a')).toBe('not allowed');
    expect(r.explain!.candidates.every((c) => c.distanceKm === null)).toBe(true);
    const partial = planShip({ lines: [{ sku: 'X', quantity: 3 }] }, index, { onlyLocationIds: ['b', 'c'] });
    expect(partial.feasible).toBe(false);
    expect(partial.unassigned).toEqual([{ sku: 'X', quantity: 1 }]);
    expect(sortedIds(partial)).toEqual(['b', 'c']);
  });

  it('planReroute works without destination', () => {
    const index = buildIndex([loc('a', { rank: 1 }), loc('b', { rank: 2 })], [pos('X', 'a', 5), pos('X', 'b', 5)]);
    const r = planReroute({ rejectedLines: [{ sku: 'X', quantity: 1 }], rejectedBy: 'a' }, index);
    expect(r.shipments).toEqual([{ locationId: 'b', distanceKm: null, lines: [{ sku: 'X', quantity: 1 }] }]);
  });
});
