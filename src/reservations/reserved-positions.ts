// The position side of reservations: taking and giving back `reserved` units, each step written
// to the ledger under the same row lock (so ledger id order per position = lock order).
//
// No oversell is enforced by PostgreSQL itself:
//  - a hold is one conditional UPDATE per position (`... WHERE atp >= q`, in the SQL functions
//    omnistock_hold / omnistock_hold_positions of migration 0001), re-evaluated by
//    PostgreSQL against the newest row version when it waited for a concurrent writer, so
//    "check availability" and "take the units" are one atomic step;
//  - the positions CHECK (`oversold OR reserved <= on_hand - unavailable - missing`) refuses any
//    write that would hold more than is there; a hold also sets `oversold = false`, so the
//    CHECK applies to it in full;
//  - several positions are locked in the database's (sku, location_id) order (ORDER BY in SQL,
//    never a JavaScript sort, so collations cannot disagree), the order every writer
//    (reconciler, rebuild, fulfilment) uses, so no deadlock is possible.
import type { Sql } from '../db/database.js';
import type { PositionKey } from '../ledger/ledger-row.js';

export interface ReservedLine extends PositionKey {
  reservationId: string;
  lineNo: number;
  quantity: number;
}

/** Locks the existing positions of `keys` in (sku, location_id) order; no-op for one key. */
export async function lockPositionsInOrder(tx: Sql, keys: readonly PositionKey[]): Promise<void> {
  if (keys.length < 2) return;
  await tx.query(
    `SELECT 1 FROM positions WHERE (sku, location_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
      ORDER BY sku, location_id FOR UPDATE`,
    [keys.map((k) => k.sku), keys.map((k) => k.locationId)],
  );
}

/**
 * Adds each line's quantity to `reserved` where ATP covers it (active location, safety stock
 * kept back), with a `reservation.held` ledger entry per line, inside the caller's transaction
 * (the SQL function `omnistock_hold_positions`, migration 0001: one conditional UPDATE per
 * position in the database's (sku, location_id) order). Returns the first position ATP did not
 * cover, or null when every line was taken; on a miss the caller must roll back.
 */
export async function holdPositions(tx: Sql, lines: readonly ReservedLine[], occurredAt: string, source: string): Promise<PositionKey | null> {
  const first = lines[0];
  if (!first) return null;
  const rows = await tx.query<{ missed: string[] | null }>(
    'SELECT omnistock_hold_positions($1, $2, $3, $4::int4[], $5::text[], $6::text[], $7::int8[]) AS missed',
    [first.reservationId, source, occurredAt, lines.map((l) => l.lineNo), lines.map((l) => l.sku), lines.map((l) => l.locationId), lines.map((l) => l.quantity)],
  );
  const missed = rows[0]?.missed;
  return missed ? { sku: missed[0] ?? '', locationId: missed[1] ?? '' } : null;
}

/**
 * The naive design, kept only so the benchmark can compare: lock each position with
 * SELECT … FOR UPDATE, check in JavaScript, then UPDATE. Correct (the lock is held across the
 * check) but the row stays locked for several round trips per line.
 */
export async function holdPositionsNaive(tx: Sql, lines: readonly ReservedLine[], occurredAt: string, source: string): Promise<PositionKey | null> {
  for (const l of lines) {
    const rows = await tx.query<{ atp: number }>(
      `SELECT CASE WHEN l.active THEN p.on_hand - p.reserved - p.unavailable - p.missing - l.safety_stock ELSE 0 END AS atp
         FROM positions p JOIN locations l ON l.id = p.location_id
        WHERE p.sku = $1 AND p.location_id = $2 FOR UPDATE OF p`,
      [l.sku, l.locationId],
    );
    const atp = rows[0]?.atp;
    if (atp === undefined || atp < l.quantity) return { sku: l.sku, locationId: l.locationId };
    await tx.query('UPDATE positions SET reserved = reserved + $3, oversold = false, version = version + 1, updated_at = now() WHERE sku = $1 AND location_id = $2', [
      l.sku, l.locationId, l.quantity,
    ]);
    await tx.query(
      `INSERT INTO ledger_entries (event_id, kind, sku, location_id, occurred_at, reserved_delta, source, reservation_id)
       VALUES ($1, 'reservation.held', $2, $3, $4, $5, $6, $7)`,
      [`res:${l.reservationId}:held:${l.lineNo}`, l.sku, l.locationId, occurredAt, l.quantity, source, l.reservationId],
    );
  }
  return null;
}

/**
 * Gives held units back: `reserved` − quantity per position (lines of several reservations may
 * share one), one `reservation.released` ledger entry per line. `oversold` is recomputed from
 * the new figures.
 */
export async function releasePositions(tx: Sql, lines: readonly ReservedLine[], occurredAt: string, source: string | null): Promise<PositionKey[]> {
  if (lines.length === 0) return [];
  const keys = distinctKeys(lines);
  await lockPositionsInOrder(tx, keys);
  await tx.query(
    `WITH v AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::int4[]) AS v(sku, location_id, qty, reservation_id, line_no)),
     a AS (SELECT sku, location_id, sum(qty)::int8 AS qty FROM v GROUP BY sku, location_id),
     u AS (
       UPDATE positions p
          SET reserved = p.reserved - a.qty,
              oversold = p.reserved - a.qty > 0 AND p.reserved - a.qty > p.on_hand - p.unavailable - p.missing,
              version = p.version + 1, updated_at = now()
         FROM a
        WHERE p.sku = a.sku AND p.location_id = a.location_id
       RETURNING p.sku, p.location_id)
     INSERT INTO ledger_entries (event_id, kind, sku, location_id, occurred_at, reserved_delta, source, reservation_id)
     SELECT 'res:' || v.reservation_id || ':released:' || v.line_no, 'reservation.released', v.sku, v.location_id,
            $6::timestamptz, -v.qty, $7::text, v.reservation_id
       FROM v JOIN u ON u.sku = v.sku AND u.location_id = v.location_id`,
    [
      lines.map((l) => l.sku), lines.map((l) => l.locationId), lines.map((l) => l.quantity),
      lines.map((l) => l.reservationId), lines.map((l) => l.lineNo), occurredAt, source,
    ],
  );
  return keys;
}

export function distinctKeys(keys: readonly PositionKey[]): PositionKey[] {
  const seen = new Map<string, PositionKey>();
  for (const k of keys) seen.set(`${k.sku}\u0000${k.locationId}`, { sku: k.sku, locationId: k.locationId });
  return [...seen.values()].sort((a, b) => (a.sku !== b.sku ? (a.sku < b.sku ? -1 : 1) : a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : 0));
}

/** Current ATP of positions (0 where never seen or the location is inactive); null for unknown locations. */
export async function currentAtp(db: Sql, keys: readonly PositionKey[]): Promise<Array<PositionKey & { available: number | null }>> {
  const rows = await db.query<{ sku: string; location_id: string; available: number | null }>(
    `SELECT v.sku, v.location_id,
            CASE WHEN l.id IS NULL THEN NULL
                 WHEN NOT l.active OR p.sku IS NULL THEN 0
                 ELSE greatest(0, p.on_hand - p.reserved - p.unavailable - p.missing - l.safety_stock) END::int8 AS available
       FROM unnest($1::text[], $2::text[]) AS v(sku, location_id)
       LEFT JOIN locations l ON l.id = v.location_id
       LEFT JOIN positions p ON p.sku = v.sku AND p.location_id = v.location_id`,
    [keys.map((k) => k.sku), keys.map((k) => k.locationId)],
  );
  return rows.map((r) => ({ sku: r.sku, locationId: r.location_id, available: r.available }));
}
