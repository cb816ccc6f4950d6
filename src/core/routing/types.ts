// Types shared by the routing core (contract §2 locations, §7 routing plans).
//
// API
//   RoutingLocation      a location as routing sees it (§2 fields minus `name`)
//   OrderLine            { sku, quantity }  quantity: positive integer
//   ShipOrder            { lines, destination? }          input of planShip (no destination:
//                        a marketplace order without coordinates, §7 step (2) skipped)
//   PickupOrder          { lines, pickupLocationId?, destination?, radiusKm? }  input of planPickup
//   Shipment             { locationId, distanceKm, lines }  distanceKm null: ship without destination
//   Alternative          { locationId, distanceKm }
//   PlanResult           { feasible, shipments, unassigned, alternatives?, explain? }   (§7 answer
//                        minus `reservationId`, which the HTTP layer adds after reserving)
//   ExplainCandidate / PlanExplain / ExplainReason        the `explain: true` diagnostics
//   PositionUpdate       { sku, locationId, onHand, reserved, unavailable }  feed of AtpIndex
//
// Distances are in km, unrounded (the HTTP layer may round for display).

import type { GeoPoint } from './geo.js';

export type { GeoPoint } from './geo.js';

export type LocationType = 'store' | 'warehouse';

export interface RoutingLocation {
  id: string;
  type: LocationType;
  lat: number;
  lon: number;
  /** Stores ship only with this flag; warehouses always ship (§2). */
  shipFromStore: boolean;
  /** Customers may collect orders here (§7 pickup). */
  pickup: boolean;
  /** Lower is preferred (§2, default 100). */
  rank: number;
  /** Shipments it may be assigned per day; null = unlimited. */
  dailyCapacity: number | null;
  /** Units per SKU held back from ATP. */
  safetyStock: number;
  active: boolean;
}

export interface OrderLine {
  sku: string;
  quantity: number;
}

export interface ShipOrder {
  lines: readonly OrderLine[];
  /** Absent: the order's address has no coordinates; distances are not used (and are null). */
  destination?: GeoPoint;
}

export interface PickupOrder {
  lines: readonly OrderLine[];
  /** The store the customer chose. */
  pickupLocationId?: string;
  /** Where the customer is; used when no store is named, and as a fallback reference point. */
  destination?: GeoPoint;
  /** Caps the search for alternatives (default 50 km). */
  radiusKm?: number;
}

export interface PositionUpdate {
  sku: string;
  locationId: string;
  onHand: number;
  reserved: number;
  /** Everything shown as unavailable, not-found units included. */
  unavailable: number;
}

export interface Shipment {
  locationId: string;
  /** Great-circle distance from the location to the destination (0 for pickup without
   *  destination; null for ship without destination). */
  distanceKm: number | null;
  lines: OrderLine[];
}

export interface Alternative {
  locationId: string;
  distanceKm: number;
}

export type ExplainReason =
  // chosen
  | 'best plan' //            in the exact optimum (≤ 3 shipments)
  | 'heuristic plan' //       picked by the greedy heuristic (best plan needs > 3 shipments)
  | 'partial plan' //         picked for the best partial plan (order cannot be covered)
  // dropped before the search
  | 'excluded' //             listed in excludeLocationIds (e.g. the store rejected the lines)
  | 'not allowed' //          outside the request's locationIds (a channel's pool)
  | 'inactive'
  | 'not a ship location' //  store without shipFromStore
  | 'not a pickup location' // pickup plans: location without pickup
  | 'capacity used up' //     daily capacity reached
  | 'no stock' //             no ATP for any line of the order
  // dropped by the choice rules of §7
  | 'more shipments' //       every plan using it needs more shipments than the chosen one
  | 'farther' //              best plan using it has a larger distance sum
  | 'higher rank' //          same distance sum, larger rank sum
  | 'location id' //          same distance and rank sums, lost on the id tie-break
  | 'not needed'; //          heuristic / partial plans: not picked

export interface ExplainCandidate {
  locationId: string;
  /** null: ship plan without destination. */
  distanceKm: number | null;
  decision: 'chosen' | 'dropped';
  reason: ExplainReason;
  /** Human-readable detail for support staff. */
  detail?: string;
}

export interface PlanExplain {
  /** 'exact' (optimum, ≤ 3 shipments), 'heuristic' (greedy, > 3) or 'partial' (infeasible). */
  method: 'exact' | 'heuristic' | 'partial' | 'pickup';
  /** Every location in the index, in order of distance to the destination (without one: rank, id). */
  candidates: ExplainCandidate[];
  /** Search nodes visited by the exact search (diagnostic). */
  searchNodes?: number;
}

export interface PlanResult {
  feasible: boolean;
  shipments: Shipment[];
  /** What is missing, per SKU (merged lines); empty when feasible. */
  unassigned: OrderLine[];
  /** Pickup only: other stores that could serve the whole order. */
  alternatives?: Alternative[];
  explain?: PlanExplain;
}
