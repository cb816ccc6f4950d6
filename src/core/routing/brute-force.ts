// Brute-force reference for ship routing (contract §7). Tests and the benchmark only.
//
// API
//   bruteForcePlanShip(order: ShipOrder, net: BruteForceNetwork, opts?): BruteForceResult
//     Enumerates every subset of the eligible locations in increasing size and returns the
//     first size that covers the order, with the optimum by (distance sum, rank sum, sorted
//     ids). Without destination every distance counts as 0, so step (2) drops out. opts:
//     excludeLocationIds, onlyLocationIds (as planShip). Exponential: keep networks small (≤ ~16 locations).
//
// Written independently of plan-ship.ts (no shared search code): eligibility, ATP and
// coverage are recomputed here from the raw network description. Sums are taken over the
// values sorted ascending (the same canonical order planShip documents).

import { atp as coreAtp } from '../atp.js';
import { haversineKm } from './geo.js';
import type { OrderLine, RoutingLocation, ShipOrder } from './types.js';

export interface BruteForceNetwork {
  locations: readonly RoutingLocation[];
  /** Raw positions; missing (sku, location) pairs are zero. */
  positions: readonly { sku: string; locationId: string; onHand: number; reserved: number; unavailable: number }[];
  /** Shipments already assigned today, by location id (missing = 0). */
  capacityUsed?: Readonly<Record<string, number>>;
}

export interface BruteForceResult {
  feasible: boolean;
  /** Sorted ids of the optimal plan ([] when infeasible). */
  locationIds: string[];
  shipments: number;
  distanceSum: number;
  rankSum: number;
}

const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function canonicalSum(values: number[]): number {
  let s = 0;
  for (const v of [...values].sort((a, b) => a - b)) s += v;
  return s;
}

export function bruteForcePlanShip(
  order: ShipOrder,
  net: BruteForceNetwork,
  opts: { excludeLocationIds?: readonly string[]; onlyLocationIds?: readonly string[] } = {},
): BruteForceResult {
  // merge lines
  const need = new Map<string, number>();
  for (const l of order.lines as OrderLine[]) need.set(l.sku, (need.get(l.sku) ?? 0) + l.quantity);
  const skus = [...need.keys()];
  const exclude = new Set(opts.excludeLocationIds ?? []);
  const only = opts.onlyLocationIds === undefined ? null : new Set(opts.onlyLocationIds);
  if (skus.length === 0) return { feasible: true, locationIds: [], shipments: 0, distanceSum: 0, rankSum: 0 };

  const eligible = net.locations.filter((loc) => {
    if (exclude.has(loc.id) || !loc.active || (only !== null && !only.has(loc.id))) return false;
    if (loc.type === 'store' && !loc.shipFromStore) return false;
    const used = net.capacityUsed?.[loc.id] ?? 0;
    return loc.dailyCapacity === null || used < loc.dailyCapacity;
  });
  const atpOf = (loc: RoutingLocation, sku: string): number => {
    let a = 0;
    for (const p of net.positions) {
      if (p.sku === sku && p.locationId === loc.id) {
        a = coreAtp({ ...p, safetyStock: loc.safetyStock, active: loc.active });
      }
    }
    return a;
  };
  const atps = eligible.map((loc) => skus.map((sku) => atpOf(loc, sku)));
  const dest = order.destination;
  const dists = eligible.map((loc) => (dest === undefined ? 0 : haversineKm(loc, dest)));

  const n = eligible.length;
  for (let size = 1; size <= n; size++) {
    let best: { ids: string[]; d: number; r: number } | null = null;
    const pick: number[] = [];
    const rec = (start: number): void => {
      if (pick.length === size) {
        const covers = skus.every((sku, j) => pick.reduce((s, i) => s + atps[i]![j]!, 0) >= need.get(sku)!);
        if (!covers) return;
        const cand = {
          ids: pick.map((i) => eligible[i]!.id).sort(cmpStr),
          d: canonicalSum(pick.map((i) => dists[i]!)),
          r: canonicalSum(pick.map((i) => eligible[i]!.rank)),
        };
        if (best === null || better(cand, best)) best = cand;
        return;
      }
      for (let i = start; i < n; i++) {
        pick.push(i);
        rec(i + 1);
        pick.pop();
      }
    };
    rec(0);
    if (best !== null) {
      const b: { ids: string[]; d: number; r: number } = best;
      return { feasible: true, locationIds: b.ids, shipments: size, distanceSum: b.d, rankSum: b.r };
    }
  }
  return { feasible: false, locationIds: [], shipments: 0, distanceSum: 0, rankSum: 0 };
}

function better(a: { ids: string[]; d: number; r: number }, b: { ids: string[]; d: number; r: number }): boolean {
  if (a.d !== b.d) return a.d < b.d;
  if (a.r !== b.r) return a.r < b.r;
  for (let i = 0; i < a.ids.length; i++) {
    const c = cmpStr(a.ids[i]!, b.ids[i]!);
    if (c !== 0) return c < 0;
  }
  return false;
}
