// Database steps of holding routed shipments, each inside the caller's transaction. Lock order
// (shared with reservation-service.ts and the reconciler, so no deadlock is possible):
//   reservations row → positions in (sku, location_id) order → location_capacity_usage rows in
//   (location_id, day) order.
import type { Sql } from '../db/database.js';
import type { GeoPoint, Shipment } from '../core/routing/types.js';
import type { LineState } from '../core/reservation.js';

export interface RoutedLine {
  lineNo: number;
  sku: string;
  locationId: string;
  quantity: number;
  state: LineState;
  shipmentNo: number | null;
  capacityDay: string | null;
  replacesLineNo: number | null;
  reason: string | null;
}

export interface NewReservation {
  id: string;
  channel: string;
  orderRef: string | null;
  fingerprint: string;
  ttlSeconds: number;
  expiresAt: string;
  nowIso: string;
  method: 'ship' | 'pickup';
  destination: GeoPoint | null;
}

/** Inserts the reservation row; false when the id is taken (an idempotent retry, or a conflict). */
export async function insertReservation(tx: Sql, r: NewReservation): Promise<boolean> {
  const rows = await tx.query(
    `INSERT INTO reservations (id, channel, order_ref, status, request_fingerprint, ttl_seconds, expires_at, created_at, updated_at,
                               route_method, destination_lat, destination_lon)
     VALUES ($1, $2, $3, 'held', $4, $5, $6, $7, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING RETURNING id`,
    [r.id, r.channel, r.orderRef, r.fingerprint, r.ttlSeconds, r.expiresAt, r.nowIso, r.method, r.destination?.lat ?? null, r.destination?.lon ?? null],
  );
  return rows.length > 0;
}

export async function insertLines(tx: Sql, reservationId: string, lines: readonly RoutedLine[], nowIso: string): Promise<void> {
  if (lines.length === 0) return;
  const col = <T>(f: (l: RoutedLine) => T) => lines.map(f);
  await tx.query(
    `INSERT INTO reservation_lines (reservation_id, line_no, sku, location_id, quantity, state, shipment_no, capacity_day,
                                    replaces_line_no, reason, created_at, updated_at)
     SELECT $1, v.line_no, v.sku, v.location_id, v.quantity, v.state, v.shipment_no, v.capacity_day, v.replaces, v.reason, $2, $2
       FROM unnest($3::int4[], $4::text[], $5::text[], $6::int8[], $7::text[], $8::int4[], $9::date[], $10::int4[], $11::text[])
         AS v(line_no, sku, location_id, quantity, state, shipment_no, capacity_day, replaces, reason)`,
    [
      reservationId, nowIso, col((l) => l.lineNo), col((l) => l.sku), col((l) => l.locationId), col((l) => l.quantity), col((l) => l.state),
      col((l) => l.shipmentNo), col((l) => l.capacityDay), col((l) => l.replacesLineNo), col((l) => l.reason),
    ],
  );
}

/** Lines of shipments, numbered from `firstLineNo` / `firstShipmentNo`, in plan order. */
export function linesOfShipments(
  shipments: readonly Shipment[],
  o: { firstLineNo: number; firstShipmentNo: number; capacityDay: string | null; state: LineState; replaces?: (sku: string) => number | null },
): RoutedLine[] {
  const out: RoutedLine[] = [];
  let lineNo = o.firstLineNo;
  shipments.forEach((s, i) => {
    for (const l of s.lines) {
      out.push({
        lineNo: lineNo++, sku: l.sku, locationId: s.locationId, quantity: l.quantity, state: o.state, shipmentNo: o.firstShipmentNo + i,
        capacityDay: o.capacityDay, replacesLineNo: o.replaces?.(l.sku) ?? null, reason: null,
      });
    }
  });
  return out;
}

export interface CapacityReturn {
  locationId: string;
  day: string;
  shipments: number;
}

/**
 * Takes one unit of `day`'s capacity per location in `takes` (each a shipment) and gives back
 * `returns`. A take only succeeds while `used < daily_capacity` (null = unlimited), evaluated by
 * PostgreSQL against the newest row version, so two plans racing for the last unit get one
 * each at most. Returns the locations whose capacity was used up (the caller rolls back).
 */
export async function adjustCapacity(tx: Sql, day: string, takes: readonly string[], returns: readonly CapacityReturn[] = []): Promise<string[]> {
  if (returns.length > 0) {
    // Existing rows of both sets first, in (location_id, day) order, as reservation-service does.
    const keys = [...returns.map((r) => [r.locationId, r.day] as const), ...takes.map((t) => [t, day] as const)];
    await tx.query(
      `SELECT 1 FROM location_capacity_usage WHERE (location_id, day) IN (SELECT * FROM unnest($1::text[], $2::date[]))
        ORDER BY location_id, day FOR UPDATE`,
      [keys.map((k) => k[0]), keys.map((k) => k[1])],
    );
    await tx.query(
      `UPDATE location_capacity_usage c SET used = greatest(0, c.used - v.n), updated_at = now()
         FROM unnest($1::text[], $2::date[], $3::int4[]) AS v(location_id, day, n)
        WHERE c.location_id = v.location_id AND c.day = v.day`,
      [returns.map((r) => r.locationId), returns.map((r) => r.day), returns.map((r) => r.shipments)],
    );
  }
  if (takes.length === 0) return [];
  const taken = await tx.query<{ location_id: string }>(
    `INSERT INTO location_capacity_usage AS c (location_id, day, used)
     SELECT l.id, $2::date, 1 FROM locations l
      WHERE l.id = ANY($1::text[]) AND (l.daily_capacity IS NULL OR l.daily_capacity > 0)
      ORDER BY l.id
     ON CONFLICT (location_id, day) DO UPDATE SET used = c.used + 1, updated_at = now()
      WHERE c.used < coalesce((SELECT d.daily_capacity FROM locations d WHERE d.id = c.location_id), 2147483647)
     RETURNING c.location_id`,
    [takes, day],
  );
  const got = new Set(taken.map((r) => r.location_id));
  return takes.filter((t) => !got.has(t));
}

/** A line as read back (what it replaced and why are not needed there). */
export type StoredLine = Omit<RoutedLine, 'replacesLineNo' | 'reason'>;

export interface StoredRouting {
  status: string;
  channel: string;
  fingerprint: string;
  method: 'ship' | 'pickup' | null;
  destination: GeoPoint | null;
  lines: StoredLine[];
}

/** The routing side of a reservation (lock it first with `forUpdate` when changing it). */
export async function readRouting(tx: Sql, id: string, forUpdate: boolean): Promise<StoredRouting | null> {
  const head = await tx.query<{
    status: string; channel: string; request_fingerprint: string; route_method: 'ship' | 'pickup' | null;
    destination_lat: number | null; destination_lon: number | null;
  }>(
    `SELECT status, channel, request_fingerprint, route_method, destination_lat, destination_lon FROM reservations WHERE id = $1
     ${forUpdate ? 'FOR UPDATE' : ''}`,
    [id],
  );
  const h = head[0];
  if (!h) return null;
  const lines = await tx.query<{
    line_no: number; sku: string; location_id: string; quantity: number; state: LineState; shipment_no: number | null; capacity_day: string | null;
  }>(
    `SELECT line_no, sku, location_id, quantity, state, shipment_no, capacity_day::text AS capacity_day
       FROM reservation_lines WHERE reservation_id = $1 ORDER BY line_no`,
    [id],
  );
  return {
    status: h.status, channel: h.channel, fingerprint: h.request_fingerprint, method: h.route_method,
    destination: h.destination_lat === null || h.destination_lon === null ? null : { lat: h.destination_lat, lon: h.destination_lon },
    lines: lines.map((l) => ({
      lineNo: l.line_no, sku: l.sku, locationId: l.location_id, quantity: l.quantity, state: l.state, shipmentNo: l.shipment_no, capacityDay: l.capacity_day,
    })),
  };
}
