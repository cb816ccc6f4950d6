// Pickup routing (contract §7, method "pickup"): one store hands over the whole order.
//
// API
//   planPickup(order: PickupOrder, index: AtpIndex, opts?: { explain?; onlyLocationIds? }): PlanResult
//   DEFAULT_PICKUP_RADIUS_KM = 50
//
// A pickup point is a known, active location with `pickup: true` (capacity is a shipping
// notion and does not apply). It "holds the order" when its ATP covers every (merged) line.
//   - pickupLocationId given: feasible iff that location is a pickup point holding the order.
//     distanceKm of the shipment is its distance to `destination` when given, else 0.
//   - otherwise `destination` is required: the nearest pickup point holding the order wins
//     (ties: lower rank, then id). radiusKm does not cap this choice — distanceKm tells the
//     caller how far it is; it caps the alternatives only.
// When not feasible: feasible = false, shipments = [], unassigned = every line, and
// alternatives = the other pickup points holding the order within radiusKm of the reference
// point (the named store when known, else the destination), nearest first, each
// { locationId, distanceKm } with distanceKm measured from that reference point. No reference
// point (unknown store and no destination) → no alternatives.
// onlyLocationIds (a channel's pool): only those may be chosen or offered as alternatives; a
// named store outside them is not chosen (the HTTP layer refuses that request before).
// explain: true lists every known location with the reason it was (not) used.
// Throws RangeError on invalid lines, destination or radiusKm.

import { F_PICKUP_OK, type AtpIndex } from './atp-index.js';
import { assertValidPoint, haversineKm, type GeoPoint } from './geo.js';
import { mergeLines } from './plan-ship.js';
import type { Alternative, ExplainCandidate, OrderLine, PickupOrder, PlanResult } from './types.js';

export const DEFAULT_PICKUP_RADIUS_KM = 50;

interface PickupOptions {
  explain?: boolean;
  onlyLocationIds?: Iterable<string>;
}

function idCmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function planPickup(order: PickupOrder, index: AtpIndex, opts: PickupOptions = {}): PlanResult {
  const lines = mergeLines(order.lines);
  const radiusKm = order.radiusKm ?? DEFAULT_PICKUP_RADIUS_KM;
  if (typeof radiusKm !== 'number' || !(radiusKm >= 0) || Number.isNaN(radiusKm)) {
    throw new RangeError('radiusKm must be a number ≥ 0');
  }
  const dest = order.destination;
  if (dest !== undefined) assertValidPoint(dest, 'destination');
  const named = order.pickupLocationId;
  if (named === undefined && dest === undefined) {
    throw new RangeError('pickupLocationId or destination is required');
  }

  const only = opts.onlyLocationIds === undefined ? null : new Set(opts.onlyLocationIds);
  const allowed = (id: string): boolean => only === null || only.has(id);
  const isPickupPoint = (s: number): boolean => (index.flags[s]! & F_PICKUP_OK) === F_PICKUP_OK;
  const holdsAll = (id: string): boolean => lines.every((l) => index.atp(l.sku, id) >= l.quantity);
  const fullShipment = (id: string, distanceKm: number): PlanResult => ({
    feasible: true,
    shipments: [{ locationId: id, distanceKm, lines: lines.map((l) => ({ ...l })) }],
    unassigned: [],
  });

  let chosen: string | null = null;
  let chosenDist = 0;
  let ref: GeoPoint | undefined;
  let namedSlot = -1;

  if (named !== undefined) {
    namedSlot = index.slotOf(named);
    const loc = index.getLocation(named);
    if (loc !== undefined) ref = { lat: loc.lat, lon: loc.lon };
    else ref = dest;
    if (loc !== undefined && allowed(named) && isPickupPoint(namedSlot) && holdsAll(named)) {
      chosen = named;
      chosenDist = dest !== undefined ? haversineKm(loc, dest) : 0;
    }
  } else if (dest !== undefined) {
    ref = dest;
    let best: { id: string; d: number; rank: number } | null = null;
    for (const loc of index.locations()) {
      const s = index.slotOf(loc.id);
      if (!allowed(loc.id) || !isPickupPoint(s) || !holdsAll(loc.id)) continue;
      const d = haversineKm(loc, dest);
      if (
        best === null ||
        d < best.d ||
        (d === best.d && (loc.rank < best.rank || (loc.rank === best.rank && idCmp(loc.id, best.id) < 0)))
      ) {
        best = { id: loc.id, d, rank: loc.rank };
      }
    }
    if (best !== null) {
      chosen = best.id;
      chosenDist = best.d;
    }
  }

  let result: PlanResult;
  if (chosen !== null) {
    result = fullShipment(chosen, chosenDist);
  } else {
    const alternatives: Alternative[] = [];
    if (ref !== undefined) {
      for (const loc of index.locations()) {
        if (loc.id === named || !allowed(loc.id)) continue;
        const s = index.slotOf(loc.id);
        if (!isPickupPoint(s)) continue;
        const d = haversineKm(loc, ref);
        if (d > radiusKm || !holdsAll(loc.id)) continue;
        alternatives.push({ locationId: loc.id, distanceKm: d });
      }
      alternatives.sort((a, b) => a.distanceKm - b.distanceKm || idCmp(a.locationId, b.locationId));
    }
    result = {
      feasible: false,
      shipments: [],
      unassigned: lines.map((l): OrderLine => ({ ...l })),
      alternatives,
    };
  }

  if (opts.explain === true) {
    const candidates: ExplainCandidate[] = [];
    for (const loc of index.locations()) {
      const s = index.slotOf(loc.id);
      const distanceKm = dest !== undefined ? haversineKm(loc, dest) : ref !== undefined ? haversineKm(loc, ref) : 0;
      const base = { locationId: loc.id, distanceKm };
      if (loc.id === chosen) candidates.push({ ...base, decision: 'chosen', reason: 'best plan' });
      else if (!allowed(loc.id)) candidates.push({ ...base, decision: 'dropped', reason: 'not allowed' });
      else if (!loc.active) candidates.push({ ...base, decision: 'dropped', reason: 'inactive' });
      else if (!isPickupPoint(s)) {
        candidates.push({ ...base, decision: 'dropped', reason: 'not a pickup location' });
      } else if (!holdsAll(loc.id)) {
        candidates.push({ ...base, decision: 'dropped', reason: 'no stock', detail: 'does not hold every line' });
      } else if (named !== undefined) {
        candidates.push({ ...base, decision: 'dropped', reason: 'not needed', detail: 'not the requested store' });
      } else candidates.push({ ...base, decision: 'dropped', reason: 'farther' });
    }
    candidates.sort((a, b) => (a.distanceKm ?? 0) - (b.distanceKm ?? 0) || idCmp(a.locationId, b.locationId));
    result.explain = { method: 'pickup', candidates };
  }
  return result;
}
