// POST /v1/reservations/{id}/reject: a store gives back units of a held or committed
// reservation it cannot ship, and the order is re-routed elsewhere, all in one transaction.
//
// Reasons and their effect on the store's position (besides releasing the reserved units):
//   not_found  a `store.not_found` ledger entry: the units become unavailable (missing) and the
//              position is flagged for a count (count_requested_at) until a stock.counted taken
//              at or after it (the fold then absorbs the missing units; writePositions clears the flag)
//   damaged    a `stock.unavailable` ledger entry (reason damaged): unavailable until a negative
//              stock.unavailable event releases them; no count needed
//   other      nothing beyond the release (the store simply will not ship them)
// Lines: a rejected quantity is taken from the reservation's active lines of that (sku,
// location); a whole line becomes `rejected`, a part is split off as a new `rejected` line
// (so every line keeps one ledger release id). A shipment left with no active line gives its
// daily capacity back.
// Re-routing (ship reservations — with or without destination, §7 — or any reservation when
// the body gives a destination; the request's locationIds are not stored, so a re-route may
// use any location): the
// rejected quantities are planned with planReroute, excluding the rejecting store and every
// store that rejected lines of this reservation before; new shipments become new lines of the
// same reservation (next line and shipment numbers, capacity of today UTC taken), in the
// reservation's own state. What cannot be covered is returned as `unassigned` and stays
// unheld. If the hold misses (index behind), the index is refreshed and the reroute re-planned
// once; a second miss rejects without re-routing rather than failing the store's report.
// A reservation with no active line left is released with reason `rejected`.
import type { Database, Sql } from '../db/database.js';
import type { ReservationView } from '../core/reservation.js';
import { planReroute } from '../core/routing/plan-ship.js';
import type { GeoPoint, OrderLine, PlanResult, Shipment } from '../core/routing/types.js';
import type { LedgerRow, PositionKey } from '../ledger/ledger-row.js';
import { writeLedger } from '../ledger/ledger-writer.js';
import { ReservationConflict, ReservationNotFound } from '../reservations/errors.js';
import { readReservation } from '../reservations/reservation-service.js';
import { distinctKeys, holdPositions, lockPositionsInOrder, releasePositions, type ReservedLine } from '../reservations/reserved-positions.js';
import { HoldMiss } from './errors.js';
import { adjustCapacity, insertLines, linesOfShipments, readRouting, type CapacityReturn, type RoutedLine, type StoredLine, type StoredRouting } from './routed-lines.js';
import type { RoutingService } from './routing-service.js';
import { presentShipments, retryingDb } from './routing-service.js';

export const REJECT_REASONS = ['not_found', 'damaged', 'other'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface RejectLine {
  sku: string;
  locationId: string;
  quantity: number;
  reason: RejectReason;
}

export interface RejectRequest {
  lines: readonly RejectLine[];
  /** Where re-routed shipments go; defaults to the destination the plan was made for. */
  destination?: GeoPoint | undefined;
}

export interface RejectResponse {
  reservation: ReservationView;
  plan: { shipments: Shipment[]; unassigned: OrderLine[] };
}

const ACTIVE = new Set(['held', 'committed']);

export class RejectService {
  constructor(private readonly o: { db: Database; routing: RoutingService }) {}

  async reject(id: string, req: RejectRequest): Promise<RejectResponse> {
    const index = this.o.routing.routingIndex;
    let plan: PlanResult | null = null;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const stored = await readRouting(this.o.db, id, false);
      if (!stored) throw new ReservationNotFound(id);
      checkRejectable(id, stored, req.lines);
      // Attempts 1 and 2 re-route; a third (after two misses) only rejects.
      plan = attempt <= 2 ? this.reroutePlan(stored, req) : null;
      try {
        const done = await retryingDb(() => this.o.db.transaction((tx) => this.apply(tx, id, req, plan)));
        await this.o.routing.afterCommit(done.changed, done.capacityLocations);
        const view = (await readReservation(this.o.db, id))?.view;
        if (!view) throw new ReservationNotFound(id);
        const unassigned = plan ? plan.unassigned : mergeBySku(req.lines);
        return { reservation: view, plan: { shipments: plan ? presentShipments(plan.shipments) : [], unassigned } };
      } catch (err) {
        if (!(err instanceof HoldMiss) || plan === null) throw err;
        await index.refreshSkus([...new Set(req.lines.map((l) => l.sku))], [...new Set([...plan.shipments.map((s) => s.locationId), ...err.capacity])]);
      }
    }
    throw new Error('unreachable');
  }

  private reroutePlan(stored: StoredRouting, req: RejectRequest): PlanResult | null {
    const destination = req.destination ?? (stored.method === 'pickup' ? null : stored.destination);
    // a ship plan made without destination is re-routed without one
    if (!destination && stored.method !== 'ship') return null;
    const before = stored.lines.filter((l) => l.state === 'rejected').map((l) => l.locationId);
    return planReroute(
      { destination: destination ?? undefined, rejectedLines: mergeBySku(req.lines), rejectedBy: [...new Set(req.lines.map((l) => l.locationId))], excludeLocationIds: before },
      this.o.routing.routingIndex.index,
    );
  }

  private async apply(tx: Sql, id: string, req: RejectRequest, plan: PlanResult | null): Promise<{ changed: PositionKey[]; capacityLocations: string[] }> {
    const nowIso = this.o.routing.now().toISOString();
    const stored = await readRouting(tx, id, true); // locks the reservation row first
    if (!stored) throw new ReservationNotFound(id);
    checkRejectable(id, stored, req.lines);
    let nextLineNo = Math.max(0, ...stored.lines.map((l) => l.lineNo)) + 1;
    const lines = stored.lines.map((l) => ({ ...l }));

    // Take each rejected quantity from the active lines of that (sku, location).
    const releases: ReservedLine[] = [];
    const rejectedRows: RoutedLine[] = [];
    const shrunk: Array<{ lineNo: number; quantity: number }> = [];
    const wholly: Array<{ lineNo: number; reason: string }> = [];
    const ledger: LedgerRow[] = [];
    const notFound: PositionKey[] = [];
    const firstRejectedLineOfSku = new Map<string, number>();
    for (const r of req.lines) {
      let left = r.quantity;
      for (const l of lines) {
        if (left === 0) break;
        if (!ACTIVE.has(l.state) || l.sku !== r.sku || l.locationId !== r.locationId) continue;
        const k = Math.min(left, l.quantity);
        left -= k;
        let releaseLineNo = l.lineNo;
        if (k === l.quantity) {
          l.state = 'rejected';
          wholly.push({ lineNo: l.lineNo, reason: r.reason });
        } else {
          l.quantity -= k;
          shrunk.push({ lineNo: l.lineNo, quantity: l.quantity });
          releaseLineNo = nextLineNo++;
          rejectedRows.push({ ...l, lineNo: releaseLineNo, quantity: k, state: 'rejected', replacesLineNo: null, reason: r.reason });
        }
        if (!firstRejectedLineOfSku.has(r.sku)) firstRejectedLineOfSku.set(r.sku, releaseLineNo);
        releases.push({ reservationId: id, lineNo: releaseLineNo, sku: r.sku, locationId: r.locationId, quantity: k });
        const base = { sku: r.sku, locationId: r.locationId, occurredAt: Date.parse(nowIso), countQuantity: null, onHandDelta: 0, reservedDelta: 0, source: stored.channel, reservationId: id };
        if (r.reason === 'not_found') {
          ledger.push({ ...base, entryId: `res:${id}:not_found:${releaseLineNo}`, kind: 'store.not_found', unavailableDelta: 0, missingDelta: k, reason: 'not_found' });
          notFound.push({ sku: r.sku, locationId: r.locationId });
        } else if (r.reason === 'damaged') {
          ledger.push({ ...base, entryId: `res:${id}:damaged:${releaseLineNo}`, kind: 'stock.unavailable', unavailableDelta: k, missingDelta: 0, reason: 'damaged' });
        }
      }
      if (left > 0) throw new ReservationConflict(`reservation "${id}" does not hold ${r.quantity} of ${r.sku} at ${r.locationId}`);
    }

    const day = this.o.routing.routingIndex.today();
    const newLines = plan
      ? linesOfShipments(plan.shipments, {
          firstLineNo: nextLineNo, firstShipmentNo: Math.max(0, ...lines.map((l) => l.shipmentNo ?? 0)) + 1, capacityDay: day,
          state: stored.status === 'committed' ? 'committed' : 'held', replaces: (sku) => firstRejectedLineOfSku.get(sku) ?? null,
        })
      : [];

    // Positions: every one this transaction touches, locked together in (sku, location_id) order.
    await lockPositionsInOrder(tx, distinctKeys([...releases, ...newLines]));
    for (const w of wholly) {
      await tx.query(`UPDATE reservation_lines SET state = 'rejected', reason = $3, updated_at = $4 WHERE reservation_id = $1 AND line_no = $2`, [id, w.lineNo, w.reason, nowIso]);
    }
    for (const s of shrunk) {
      await tx.query('UPDATE reservation_lines SET quantity = $3, updated_at = $4 WHERE reservation_id = $1 AND line_no = $2', [id, s.lineNo, s.quantity, nowIso]);
    }
    await insertLines(tx, id, [...rejectedRows, ...newLines], nowIso);
    const released = await releasePositions(tx, releases, nowIso, stored.channel);
    if (ledger.length > 0) await writeLedger(tx, ledger, { dedupe: false });
    if (notFound.length > 0) await flagForCount(tx, notFound, nowIso);
    if (newLines.length > 0) {
      const missed = await holdPositions(tx, newLines.map((l) => ({ reservationId: id, lineNo: l.lineNo, sku: l.sku, locationId: l.locationId, quantity: l.quantity })), nowIso, stored.channel);
      if (missed) throw new HoldMiss([missed], []);
    }

    // Capacity: shipments left without an active line give theirs back; new ones take one each.
    const full = await adjustCapacity(tx, day, (plan?.shipments ?? []).map((s) => s.locationId), emptiedShipments(stored.lines, lines));
    if (full.length > 0) throw new HoldMiss([], full);

    const anyActive = lines.some((l) => ACTIVE.has(l.state)) || newLines.length > 0;
    await tx.query(
      `UPDATE reservations SET updated_at = $2,
              status = CASE WHEN $3::boolean THEN status ELSE 'released' END,
              released_reason = CASE WHEN $3::boolean THEN released_reason ELSE 'rejected' END
        WHERE id = $1`,
      [id, nowIso, anyActive],
    );
    const changed = distinctKeys([...released, ...newLines]);
    return { changed, capacityLocations: [...new Set([...lines.map((l) => l.locationId), ...newLines.map((l) => l.locationId)])] };
  }
}

function checkRejectable(id: string, stored: StoredRouting, reject: readonly RejectLine[]): void {
  if (!ACTIVE.has(stored.status)) throw new ReservationConflict(`cannot reject lines of reservation "${id}": it is ${stored.status}`);
  const held = new Map<string, number>();
  for (const l of stored.lines) if (ACTIVE.has(l.state)) held.set(`${l.sku}\u0000${l.locationId}`, (held.get(`${l.sku}\u0000${l.locationId}`) ?? 0) + l.quantity);
  const asked = new Map<string, number>();
  for (const r of reject) {
    const k = `${r.sku}\u0000${r.locationId}`;
    asked.set(k, (asked.get(k) ?? 0) + r.quantity);
    if ((asked.get(k) ?? 0) > (held.get(k) ?? 0)) {
      throw new ReservationConflict(`reservation "${id}" holds ${held.get(k) ?? 0} of ${r.sku} at ${r.locationId}, fewer than rejected`);
    }
  }
}

/** Shipments (with a capacity day) that had an active line before and have none now. */
function emptiedShipments(before: readonly StoredLine[], after: readonly StoredLine[]): CapacityReturn[] {
  const key = (l: StoredLine) => `${l.shipmentNo ?? `line-${l.lineNo}`}\u0000${l.locationId}\u0000${l.capacityDay ?? ''}`;
  const activeAfter = new Set(after.filter((l) => ACTIVE.has(l.state)).map(key));
  const out = new Map<string, CapacityReturn>();
  for (const l of before) {
    if (!ACTIVE.has(l.state) || l.capacityDay === null || activeAfter.has(key(l))) continue;
    out.set(key(l), { locationId: l.locationId, day: l.capacityDay, shipments: 1 });
  }
  // one unit per shipment; several emptied shipments at one (location, day) add up
  const merged = new Map<string, CapacityReturn>();
  for (const r of out.values()) {
    const k = `${r.locationId}\u0000${r.day}`;
    const m = merged.get(k);
    if (m) m.shipments += 1;
    else merged.set(k, { ...r });
  }
  return [...merged.values()];
}

/** Flags positions for a count: ATP keeps the missing units out until a count at or after now. */
async function flagForCount(tx: Sql, keys: readonly PositionKey[], nowIso: string): Promise<void> {
  const d = distinctKeys(keys);
  await tx.query(
    `UPDATE positions p SET count_requested_at = greatest(coalesce(p.count_requested_at, $3::timestamptz), $3::timestamptz)
       FROM unnest($1::text[], $2::text[]) AS k(sku, location_id)
      WHERE p.sku = k.sku AND p.location_id = k.location_id`,
    [d.map((k) => k.sku), d.map((k) => k.locationId), nowIso],
  );
}

function mergeBySku(lines: readonly { sku: string; quantity: number }[]): OrderLine[] {
  const m = new Map<string, number>();
  for (const l of lines) m.set(l.sku, (m.get(l.sku) ?? 0) + l.quantity);
  return [...m].map(([sku, quantity]) => ({ sku, quantity }));
}
