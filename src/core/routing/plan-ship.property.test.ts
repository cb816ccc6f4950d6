// planShip against the brute-force reference on random small networks, with and without a
// destination (§7: no coordinates → step (2) skipped), optionally restricted to locationIds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { atp as coreAtp } from '../atp.js';
import { AtpIndex } from './atp-index.js';
import { bruteForcePlanShip, type BruteForceNetwork } from './brute-force.js';
import { planShip } from './plan-ship.js';
import type { OrderLine, PositionUpdate, RoutingLocation } from './types.js';

const SKUS = ['A', 'B', 'C', 'D'];
// A small grid so that equal distances (and so rank / id tie-breaks) happen often.
const GRID = [
  { lat: 52.0, lon: 5.0 },
  { lat: 52.3, lon: 4.9 },
  { lat: 51.9, lon: 4.5 },
  { lat: 50.8, lon: 4.4 },
];
const point = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...GRID) },
  { weight: 1, arbitrary: fc.record({ lat: fc.double({ min: 35, max: 70, noNaN: true }), lon: fc.double({ min: -10, max: 30, noNaN: true }) }) },
);

const locationArb = (id: string, easy: boolean, at: fc.Arbitrary<{ lat: number; lon: number }>) =>
  fc
    .record({
      type: fc.constantFrom<'store' | 'warehouse'>('store', 'warehouse'),
      at,
      shipFromStore: fc.integer({ min: 0, max: 3 }).map((x) => x > 0),
      pickup: fc.boolean(),
      rank: fc.constantFrom(1, 2, 3, 100),
      dailyCapacity: fc.constantFrom<number | null>(null, null, null, 0, 1, 2, 3),
      used: fc.constantFrom(0, 0, 0, 0, 1, 3),
      safetyStock: fc.constantFrom(0, 0, 1),
      active: fc.integer({ min: 0, max: 5 }).map((x) => x > 0), // mostly active
    })
    .map(({ at, used, ...rest }) => {
      const loc: RoutingLocation = { id, ...rest, lat: at.lat, lon: at.lon };
      // easy: every location can ship (scarce-stock runs need many candidates)
      return easy ? { loc: { ...loc, active: true, shipFromStore: true, dailyCapacity: null }, used } : { loc, used };
    });

// ids whose string order differs from their (random) insertion order
const ID_POOL = ['a', 'b', 'c', 'd', 'e', 'a1', 'b2', 'c.3', 'W-1', 'W-10', 'W-2', 'Z', 'z_9', '0x'];

type Stock = { onHand: number; reserved: number; unavailable: number };

const richStock: fc.Arbitrary<Stock> = fc.record({
  onHand: fc.constantFrom(-1, 0, 1, 2, 3, 4, 5, 8),
  reserved: fc.constantFrom(0, 0, 0, 0, 1),
  unavailable: fc.constantFrom(0, 0, 0, 0, 1, 2),
});
// one unit here and there: orders often need 4+ shipments (heuristic path)
const scarceStock: fc.Arbitrary<Stock> = fc.record({
  onHand: fc.constantFrom(0, 1, 1, 1, 2),
  reserved: fc.constant(0),
  unavailable: fc.constant(0),
});

const networkArb = (stock: fc.Arbitrary<Stock>, easy: boolean, at: fc.Arbitrary<{ lat: number; lon: number }> = point) =>
  fc
    .integer({ min: easy ? 6 : 1, max: 12 })
    .chain((n) => fc.shuffledSubarray(ID_POOL, { minLength: n, maxLength: n }))
    .chain((ids) =>
      fc.record({
        locations: fc.tuple(...ids.map((id) => locationArb(id, easy, at))),
        // each (location, sku) pair: absent about half the time
        positions: fc
          .tuple(
            ...ids.flatMap((id) =>
              SKUS.map((sku) => fc.option(stock.map((st) => ({ sku, locationId: id, ...st })), { freq: 2 })),
            ),
          )
          .map((ps) => ps.filter((p): p is NonNullable<typeof p> => p !== null)),
      }),
    );

type Network = { locations: { loc: RoutingLocation; used: number }[]; positions: PositionUpdate[] };
type Order = { lines: OrderLine[]; destination?: { lat: number; lon: number } };

const orderArb = (maxQty: number): fc.Arbitrary<Order> =>
  fc.record({
    lines: fc.array(
      fc.record({ sku: fc.constantFrom(...SKUS), quantity: fc.integer({ min: 1, max: maxQty }) }),
      { minLength: 1, maxLength: 4 },
    ),
    destination: point,
  });
/** A marketplace order: no coordinates. */
const noDestOrderArb = (maxQty: number): fc.Arbitrary<Order> => orderArb(maxQty).map(({ lines }) => ({ lines }));

function canonicalSum(xs: number[]): number {
  return [...xs].sort((a, b) => a - b).reduce((s, x) => s + x, 0);
}

type Outcome = 'exact' | 'heuristic' | 'infeasible';

/** Runs planShip and the reference on one case; asserts; says which path it exercised. */
function checkCase({ locations, positions }: Network, order: Order, withExclusion: boolean, restrict: boolean): Outcome {
  const index = new AtpIndex();
  const capacityUsed: Record<string, number> = {};
  for (const { loc, used } of locations) {
    index.upsertLocation(loc);
    index.setCapacityUsed(loc.id, used);
    capacityUsed[loc.id] = used;
  }
  for (const p of positions as PositionUpdate[]) index.upsertPosition(p);
  const exclude = withExclusion ? [locations[0]!.loc.id] : [];
  // restricted (a channel's pool): every other location, plus an id the index does not know
  const only = restrict ? [...locations.filter((_, i) => i % 2 === 1).map((l) => l.loc.id), 'not-a-location'] : undefined;
  const opts = { excludeLocationIds: exclude, ...(only ? { onlyLocationIds: only } : {}) };
  const net: BruteForceNetwork = { locations: locations.map((l) => l.loc), positions, capacityUsed };

  const ref = bruteForcePlanShip(order, net, opts);
  const plan = planShip(order, index, opts);

  // merged order
  const need = new Map<string, number>();
  for (const l of order.lines as OrderLine[]) need.set(l.sku, (need.get(l.sku) ?? 0) + l.quantity);

  // validity: eligible locations, each used once, never above ATP
  const byId = new Map(locations.map((l) => [l.loc.id, l]));
  const lastPos = new Map<string, (typeof positions)[number]>();
  for (const p of positions) lastPos.set(`${p.sku}|${p.locationId}`, p);
  const atpOf = (sku: string, id: string): number => {
    const p = lastPos.get(`${sku}|${id}`);
    const l = byId.get(id)!.loc;
    return p === undefined ? 0 : coreAtp({ ...p, safetyStock: l.safetyStock, active: l.active });
  };
  const seen = new Set<string>();
  const shipped = new Map<string, number>();
  for (const s of plan.shipments) {
    expect(seen.has(s.locationId)).toBe(false);
    seen.add(s.locationId);
    const { loc, used } = byId.get(s.locationId)!;
    expect(exclude).not.toContain(loc.id);
    if (only) expect(only).toContain(loc.id);
    // no destination: distances are not used and are null
    if (order.destination === undefined) expect(s.distanceKm).toBeNull();
    else expect(typeof s.distanceKm).toBe('number');
    expect(loc.active).toBe(true);
    expect(loc.type === 'warehouse' || loc.shipFromStore).toBe(true);
    expect(loc.dailyCapacity === null || used < loc.dailyCapacity).toBe(true);
    expect(s.lines.length).toBeGreaterThan(0);
    const skusHere = new Set<string>();
    for (const l of s.lines) {
      expect(skusHere.has(l.sku)).toBe(false);
      skusHere.add(l.sku);
      expect(l.quantity).toBeGreaterThan(0);
      expect(Number.isInteger(l.quantity)).toBe(true);
      expect(l.quantity).toBeLessThanOrEqual(atpOf(l.sku, s.locationId));
      shipped.set(l.sku, (shipped.get(l.sku) ?? 0) + l.quantity);
    }
  }
  // shipped + unassigned = ordered, per SKU
  for (const u of plan.unassigned) shipped.set(u.sku, (shipped.get(u.sku) ?? 0) + u.quantity);
  expect(Object.fromEntries(shipped)).toEqual(Object.fromEntries([...need].filter(([, q]) => q > 0)));

  expect(plan.feasible).toBe(ref.feasible);
  if (!ref.feasible) {
    expect(plan.unassigned.length).toBeGreaterThan(0);
    // the partial plan covers everything the network can: unassigned = shortfall
    for (const u of plan.unassigned) {
      let networkAtp = 0;
      for (const { loc, used } of locations) {
        const eligible =
          loc.active &&
          !exclude.includes(loc.id) &&
          (only === undefined || only.includes(loc.id)) &&
          (loc.type === 'warehouse' || loc.shipFromStore) &&
          (loc.dailyCapacity === null || used < loc.dailyCapacity);
        if (eligible) networkAtp += atpOf(u.sku, loc.id);
      }
      expect(u.quantity).toBe(need.get(u.sku)! - networkAtp);
    }
    return 'infeasible';
  }
  expect(plan.unassigned).toEqual([]);
  if (ref.shipments <= 3) {
    expect(plan.shipments.length).toBe(ref.shipments);
    const d = canonicalSum(plan.shipments.map((s) => s.distanceKm ?? 0));
    expect(Math.abs(d - ref.distanceSum)).toBeLessThanOrEqual(1e-9);
    const rankOf = (id: string): number => byId.get(id)!.loc.rank;
    expect(canonicalSum(plan.shipments.map((s) => rankOf(s.locationId)))).toBe(ref.rankSum);
    // tie-breaks (rank, ids) agree too
    expect(plan.shipments.map((s) => s.locationId).sort()).toEqual(ref.locationIds);
    // the unpruned baseline agrees
    const base = planShip(order, index, { ...opts, pruning: false });
    expect(base).toEqual(plan);
  } else {
    expect(plan.shipments.length).toBeGreaterThanOrEqual(ref.shipments);
  }
  // explain lists every location once, chosen = shipments
  if (order.lines.length % 2 === 0) {
    const ex = planShip(order, index, { ...opts, explain: true });
    expect(ex.shipments).toEqual(plan.shipments);
    const cands = ex.explain!.candidates;
    expect(cands.map((c) => c.locationId).sort()).toEqual(locations.map((l) => l.loc.id).sort());
    expect(
      cands
        .filter((c) => c.decision === 'chosen')
        .map((c) => c.locationId)
        .sort(),
    ).toEqual(plan.shipments.map((s) => s.locationId).sort());
    if (order.destination === undefined) expect(cands.every((c) => c.distanceKm === null)).toBe(true);
    if (only) expect(cands.filter((c) => !only.includes(c.locationId)).every((c) => c.reason === 'not allowed' || c.reason === 'excluded')).toBe(true);
  }
  return ref.shipments <= 3 ? 'exact' : 'heuristic';
}

function run(
  name: string,
  network: fc.Arbitrary<Network>,
  order: fc.Arbitrary<Order>,
  numRuns: number,
  min: Partial<Record<Outcome, number>>,
  restrict: fc.Arbitrary<boolean> = fc.constant(false),
) {
  it(name, () => {
    const seen: Record<Outcome, number> = { exact: 0, heuristic: 0, infeasible: 0 };
    fc.assert(
      fc.property(network, order, fc.boolean(), restrict, (n, o, ex, r) => {
        seen[checkCase(n, o, ex, r)]++;
      }),
      { numRuns },
    );
    console.info(`${name}: ${JSON.stringify(seen)}`);
    // the generators must exercise every path
    for (const [k, v] of Object.entries(min)) expect(seen[k as Outcome]).toBeGreaterThanOrEqual(v);
  });
}

describe('planShip vs brute force (≤ 12 locations, ≤ 4 lines)', () => {
  run('rich stock', networkArb(richStock, false), orderArb(4), 600, { exact: 100, infeasible: 100 });
  // two points only: many plans share a distance sum, so rank and id decide
  run('ties', networkArb(scarceStock, true, fc.constantFrom(GRID[1]!, GRID[2]!)), orderArb(3), 300, { exact: 80, heuristic: 5 });
  run('scarce stock', networkArb(scarceStock, true), orderArb(5), 500, { exact: 50, heuristic: 8 });
  run('restricted to locationIds', networkArb(richStock, true), orderArb(4), 300, { exact: 50, infeasible: 20 }, fc.constant(true));
});

// Orders with more than 12 distinct SKUs take the other dominance path (mask list).
const MANY_SKUS = Array.from({ length: 16 }, (_, i) => `S${i}`);
const manyNetworkArb: fc.Arbitrary<Network> = fc
  .integer({ min: 3, max: 9 })
  .chain((n) => fc.shuffledSubarray(ID_POOL, { minLength: n, maxLength: n }))
  .chain((ids) =>
    fc.record({
      locations: fc.tuple(...ids.map((id) => locationArb(id, true, point))),
      positions: fc
        .tuple(
          ...ids.flatMap((id) =>
            MANY_SKUS.map((sku) =>
              fc.option(
                fc.integer({ min: 1, max: 3 }).map((onHand) => ({ sku, locationId: id, onHand, reserved: 0, unavailable: 0 })),
                { freq: 3 },
              ),
            ),
          ),
        )
        .map((ps) => ps.filter((p): p is NonNullable<typeof p> => p !== null)),
    }),
  );
const manyOrderArb: fc.Arbitrary<Order> = fc.record({
  lines: fc
    .shuffledSubarray(MANY_SKUS, { minLength: 13, maxLength: 16 })
    .chain((skus) => fc.tuple(...skus.map((sku) => fc.integer({ min: 1, max: 2 }).map((quantity) => ({ sku, quantity }))))),
  destination: point,
});

describe('planShip vs brute force (13–16 distinct SKUs)', () => {
  run('many lines', manyNetworkArb, manyOrderArb, 200, { exact: 20 });
});

// §7: no destination → (1) fewest shipments, (3) rank sum, (4) ids; exact up to 3 shipments.
describe('planShip without destination vs brute force', () => {
  run('rich stock', networkArb(richStock, false), noDestOrderArb(4), 500, { exact: 50, infeasible: 80 }, fc.boolean());
  // ranks from {1, 2, 3, 100}: equal rank sums are frequent, so ids decide
  run('scarce stock', networkArb(scarceStock, true), noDestOrderArb(5), 500, { exact: 40, heuristic: 4 }, fc.boolean());
  run('many lines', manyNetworkArb, manyOrderArb.map(({ lines }) => ({ lines })), 150, { exact: 15 });
});
