// POST /v1/routing/plan (contract §7): plan on the in-memory index, optionally hold the plan as
// one reservation in one transaction.
//
// Holding: reservation row + lines (shipment_no, capacity_day = today UTC) → positions
// (holdPositions, conditional per position) → one unit of daily capacity per ship shipment
// (conditional upsert). If a position or capacity misses, the index was behind: re-read the
// SKUs and locations involved and re-plan once. A second miss is a 409 (PlanConflict); a
// re-plan that is no longer feasible answers 200 feasible:false and holds nothing (an
// infeasible plan is never reserved, except with the in-process option holdPartial, used by
// the channel orders sink: it holds the best partial plan and reports the rest as unassigned).
// Pickup plans hold stock only: capacity counts shipments.
// Ship without destination (§7): distances are skipped and shown as null. locationIds (our
// extension) restricts the candidates; unknown ids are a 400 naming body.locationIds.
// Idempotency: with a reservationId, a retry of the same request answers the plan as held
// (shipments rebuilt from the reservation's lines, without `explain`); another request with
// the same id is a 409.
import { randomUUID } from 'node:crypto';
import type { Database } from '../db/database.js';
import { isRetriableDbError } from '../db/database.js';
import type { ReservationView, Shortage } from '../core/reservation.js';
import { haversineKm } from '../core/routing/geo.js';
import { planPickup } from '../core/routing/plan-pickup.js';
import { mergeLines, planShip } from '../core/routing/plan-ship.js';
import type { Alternative, OrderLine, PlanExplain, PlanResult, Shipment } from '../core/routing/types.js';
import type { PositionKey } from '../ledger/ledger-row.js';
import { ReservationConflict } from '../reservations/errors.js';
import { readReservation } from '../reservations/reservation-service.js';
import { currentAtp, holdPositions } from '../reservations/reserved-positions.js';
import { HoldMiss, PlanConflict, RoutingInvalid } from './errors.js';
import { planFingerprint, type PlanRequest } from './plan-request.js';
import { adjustCapacity, insertLines, insertReservation, linesOfShipments, readRouting, type StoredRouting } from './routed-lines.js';
import type { RoutingIndex } from './routing-index.js';

export interface RoutingServiceOptions {
  db: Database;
  index: RoutingIndex;
  now?: () => Date;
  /** Called after commit with the positions whose reserved figure changed. */
  onChanged?: (keys: PositionKey[]) => void;
  /** Test seam: runs before each hold attempt (1, 2), outside its transaction. */
  beforeHold?: (attempt: number, plan: PlanResult) => Promise<void>;
}

export interface PlanResponse {
  feasible: boolean;
  shipments: Shipment[];
  unassigned: OrderLine[];
  alternatives?: Alternative[];
  explain?: PlanExplain;
  reservationId: string | null;
  reservation?: ReservationView;
}

const MAX_DB_ATTEMPTS = 3;

/** Distances as shown: metres precision. */
export function roundKm(d: number): number;
export function roundKm(d: number | null): number | null;
export function roundKm(d: number | null): number | null {
  return d === null ? null : Math.round(d * 1000) / 1000;
}

export function presentShipments(shipments: readonly Shipment[]): Shipment[] {
  return shipments.map((s) => ({ locationId: s.locationId, distanceKm: roundKm(s.distanceKm), lines: s.lines.map((l) => ({ ...l })) }));
}

export async function retryingDb<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isRetriableDbError(err) || attempt >= MAX_DB_ATTEMPTS) throw err;
    }
  }
}

export class RoutingService {
  readonly now: () => Date;
  /** Counters for tests and diagnostics. */
  readonly stats = { plans: 0, held: 0, replans: 0, conflicts: 0 };

  constructor(private readonly o: RoutingServiceOptions) {
    this.now = o.now ?? (() => new Date());
  }

  get routingIndex(): RoutingIndex {
    return this.o.index;
  }

  /**
   * holdPartial (in-process callers only, not HTTP): with `reserve`, an infeasible plan's
   * shipments are held too (unassigned says what is missing); a replay then reports as
   * unassigned whatever the held lines do not cover.
   */
  async plan(req: PlanRequest, opts: { channel: string; explain?: boolean; holdPartial?: boolean }): Promise<PlanResponse> {
    this.stats.plans += 1;
    await this.checkPickupLocation(req);
    await this.checkLocationIds(req);
    const holdable = (r: PlanResult): boolean => r.feasible || (opts.holdPartial === true && r.shipments.length > 0);
    const explain = opts.explain === true;
    const channel = req.channel ?? opts.channel;
    const givenId = req.reserve?.reservationId ?? req.reservationId;
    const fingerprint = planFingerprint(req, channel);
    if (req.reserve && givenId !== undefined) {
      const replayed = await this.replay(givenId, fingerprint, req, opts.holdPartial === true);
      if (replayed) return replayed;
    }
    let result = this.compute(req, explain);
    if (!req.reserve || !holdable(result)) return present(result, null);
    const id = givenId ?? `res_${randomUUID()}`;
    for (let attempt = 1; ; attempt++) {
      await this.o.beforeHold?.(attempt, result);
      try {
        const outcome = await this.hold(id, req, channel, fingerprint, result);
        if (outcome === 'exists') {
          const replayed = await this.replay(id, fingerprint, req, opts.holdPartial === true);
          if (!replayed) throw new ReservationConflict(`reservation "${id}" is being changed concurrently; retry`);
          return replayed;
        }
        this.stats.held += 1;
        const keys = result.shipments.flatMap((s) => s.lines.map((l) => ({ sku: l.sku, locationId: s.locationId })));
        await this.afterCommit(keys, result.shipments.map((s) => s.locationId));
        const view = (await readReservation(this.o.db, id))?.view;
        return { ...present(result, id), ...(view ? { reservation: view } : {}) };
      } catch (err) {
        if (!(err instanceof HoldMiss)) throw err;
        const skus = mergeLines(req.lines).map((l) => l.sku);
        await this.o.index.refreshSkus(skus, [...new Set([...result.shipments.map((s) => s.locationId), ...err.capacity])]);
        if (attempt >= 2) {
          this.stats.conflicts += 1;
          throw new PlanConflict(await this.shortages(result, err), err.capacity.map((locationId) => ({ locationId, day: this.o.index.today() })));
        }
        this.stats.replans += 1;
        result = this.compute(req, explain);
        if (!holdable(result)) return present(result, null);
      }
    }
  }

  /** Re-reads what a commit changed so the next plan sees it, then tells the listeners. */
  async afterCommit(keys: PositionKey[], locationIds: string[]): Promise<void> {
    await this.o.index.refreshPositions(keys);
    await this.o.index.refreshCapacity([...new Set(locationIds)]);
    if (keys.length > 0) this.o.onChanged?.(keys);
  }

  private compute(req: PlanRequest, explain: boolean): PlanResult {
    const index = this.o.index.index;
    try {
      const only = req.locationIds !== undefined ? { onlyLocationIds: req.locationIds } : {};
      if (req.method === 'ship') {
        // no destination: §7 step (2) skipped, distanceKm null
        const order = req.destination !== undefined ? { lines: req.lines, destination: req.destination } : { lines: req.lines };
        return planShip(order, index, { explain, ...only });
      }
      return planPickup(
        {
          lines: req.lines,
          ...(req.pickupLocationId !== undefined ? { pickupLocationId: req.pickupLocationId } : {}),
          ...(req.destination !== undefined ? { destination: req.destination } : {}),
          ...(req.radiusKm !== undefined ? { radiusKm: req.radiusKm } : {}),
        },
        index,
        { explain, ...only },
      );
    } catch (err) {
      if (err instanceof RangeError) throw new RoutingInvalid([{ field: 'body', message: err.message }]);
      throw err;
    }
  }

  private async checkPickupLocation(req: PlanRequest): Promise<void> {
    const id = req.pickupLocationId;
    if (req.method !== 'pickup' || id === undefined || this.o.index.index.hasLocation(id)) return;
    await this.o.index.refreshLocations([id]); // created a moment ago by another process?
    if (!this.o.index.index.hasLocation(id)) throw new RoutingInvalid([{ field: 'body.pickupLocationId', message: `unknown location "${id}"` }]);
  }

  /** locationIds (our extension): every id must be a known location; a named pickup store must be among them. */
  private async checkLocationIds(req: PlanRequest): Promise<void> {
    const ids = req.locationIds;
    if (ids === undefined) return;
    const idx = this.o.index;
    let unknown = [...new Set(ids)].filter((id) => !idx.index.hasLocation(id));
    if (unknown.length > 0) {
      await idx.refreshLocations(unknown); // created a moment ago by another process?
      unknown = unknown.filter((id) => !idx.index.hasLocation(id));
    }
    if (unknown.length > 0) {
      const shown = unknown.slice(0, 10).map((id) => `"${id}"`).join(', ');
      throw new RoutingInvalid([{ field: 'body.locationIds', message: `unknown location(s) ${shown}${unknown.length > 10 ? ` and ${unknown.length - 10} more` : ''}` }]);
    }
    if (req.method === 'pickup' && req.pickupLocationId !== undefined && !ids.includes(req.pickupLocationId)) {
      throw new RoutingInvalid([{ field: 'body.pickupLocationId', message: `pickupLocationId "${req.pickupLocationId}" is not in locationIds` }]);
    }
  }

  private hold(id: string, req: PlanRequest, channel: string, fingerprint: string, plan: PlanResult): Promise<'held' | 'exists'> {
    const reserve = req.reserve!;
    const now = this.now();
    const nowIso = now.toISOString();
    const day = req.method === 'ship' ? this.o.index.today() : null;
    const lines = linesOfShipments(plan.shipments, { firstLineNo: 1, firstShipmentNo: 1, capacityDay: day, state: 'held' });
    return retryingDb(() =>
      this.o.db.transaction(async (tx) => {
        const inserted = await insertReservation(tx, {
          id, channel, orderRef: req.orderRef ?? null, fingerprint, ttlSeconds: reserve.ttlSeconds,
          expiresAt: new Date(now.getTime() + reserve.ttlSeconds * 1000).toISOString(), nowIso, method: req.method,
          destination: req.destination ?? null,
        });
        if (!inserted) return 'exists' as const;
        await insertLines(tx, id, lines, nowIso);
        const missed = await holdPositions(tx, lines.map((l) => ({ reservationId: id, lineNo: l.lineNo, sku: l.sku, locationId: l.locationId, quantity: l.quantity })), nowIso, channel);
        if (missed) throw new HoldMiss([missed], []);
        if (day !== null) {
          const full = await adjustCapacity(tx, day, plan.shipments.map((s) => s.locationId));
          if (full.length > 0) throw new HoldMiss([], full);
        }
        return 'held' as const;
      }),
    );
  }

  /** The 409 body: planned lines whose ATP is below their quantity now (the missed one at least). */
  private async shortages(plan: PlanResult, miss: HoldMiss): Promise<Shortage[]> {
    const planned = plan.shipments.flatMap((s) => s.lines.map((l) => ({ sku: l.sku, locationId: s.locationId, quantity: l.quantity })));
    const atp = await currentAtp(this.o.db, planned);
    const missed = new Set(miss.positions.map((p) => `${p.sku}\u0000${p.locationId}`));
    return planned
      .map((l, i) => ({ sku: l.sku, locationId: l.locationId, requested: l.quantity, available: atp[i]?.available ?? 0 }))
      .filter((s) => s.available < s.requested || missed.has(`${s.sku}\u0000${s.locationId}`));
  }

  private async replay(id: string, fingerprint: string, req: PlanRequest, partial: boolean): Promise<PlanResponse | null> {
    const stored = await readRouting(this.o.db, id, false);
    if (!stored) return null;
    if (stored.fingerprint !== fingerprint) throw new ReservationConflict(`reservationId "${id}" was already used with a different request`);
    const view = (await readReservation(this.o.db, id))?.view;
    const shipments = this.storedShipments(stored, req);
    const unassigned = partial ? missingLines(req.lines, shipments) : [];
    return {
      feasible: unassigned.length === 0, shipments, unassigned, reservationId: id, ...(view ? { reservation: view } : {}),
    };
  }

  /** The reservation's current shipments (rejected lines left out), in shipment order. */
  storedShipments(stored: StoredRouting, req: { method?: 'ship' | 'pickup'; destination?: { lat: number; lon: number } | undefined }): Shipment[] {
    const dest = req.destination ?? stored.destination ?? undefined;
    // ship without destination: no distance (§7); pickup without one: 0 as planPickup says
    const noDistance = dest === undefined && (req.method ?? stored.method) === 'ship';
    const byShipment = new Map<string, Shipment>();
    for (const l of stored.lines) {
      if (l.state === 'rejected') continue;
      const k = `${l.shipmentNo ?? `line-${l.lineNo}`}\u0000${l.locationId}`;
      let s = byShipment.get(k);
      if (!s) {
        const loc = this.o.index.index.getLocation(l.locationId);
        const distanceKm = noDistance ? null : loc && dest ? roundKm(haversineKm(loc, dest)) : 0;
        byShipment.set(k, (s = { locationId: l.locationId, distanceKm, lines: [] }));
      }
      s.lines.push({ sku: l.sku, quantity: l.quantity });
    }
    return [...byShipment.values()];
  }
}

/** Requested quantities (merged per SKU) that the held shipments do not cover. */
function missingLines(lines: readonly OrderLine[], shipments: readonly Shipment[]): OrderLine[] {
  const held = new Map<string, number>();
  for (const s of shipments) for (const l of s.lines) held.set(l.sku, (held.get(l.sku) ?? 0) + l.quantity);
  return mergeLines(lines)
    .map((l) => ({ sku: l.sku, quantity: l.quantity - (held.get(l.sku) ?? 0) }))
    .filter((l) => l.quantity > 0);
}

function present(r: PlanResult, reservationId: string | null): PlanResponse {
  const out: PlanResponse = {
    feasible: r.feasible, shipments: presentShipments(r.shipments), unassigned: r.unassigned.map((l) => ({ ...l })), reservationId,
  };
  if (r.alternatives) out.alternatives = r.alternatives.map((a) => ({ locationId: a.locationId, distanceKm: roundKm(a.distanceKm) }));
  if (r.explain) {
    out.explain = { ...r.explain, candidates: r.explain.candidates.map((c) => ({ ...c, distanceKm: roundKm(c.distanceKm) })) };
  }
  return out;
}
