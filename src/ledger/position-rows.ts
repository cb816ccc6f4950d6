// Reading and writing `positions` rows in bulk, always in (sku, location) order so that any
// two writers lock shared rows in the same order and can never deadlock.
import type { Sql } from '../db/database.js';
import type { PositionState } from '../core/fold.js';
import { positionKey } from '../core/ids.js';
import type { PositionKey } from './ledger-row.js';
import { numberArrayLiteral, textArrayLiteral } from '../db/array-literal.js';

interface PositionDbRow {
  sku: string;
  location_id: string;
  on_hand: number;
  unavailable: number;
  missing: number;
  reserved: number;
  count_at_ms: number | null;
  count_event_id: string | null;
  count_quantity: number | null;
}

const SELECT_COLUMNS = `sku, location_id, on_hand, unavailable, missing, reserved,
  (extract(epoch from count_at) * 1000)::float8 AS count_at_ms, count_event_id, count_quantity`;

function toState(r: PositionDbRow): PositionState {
  return {
    onHand: r.on_hand,
    unavailable: r.unavailable,
    missing: r.missing,
    reserved: r.reserved,
    countAt: r.count_at_ms === null ? null : Math.round(r.count_at_ms),
    countEntryId: r.count_event_id,
    countQuantity: r.count_quantity,
  };
}

/** The rows of the positions whose columns (array literals) are given; locked in key order with `lock`. */
function selectPositions(tx: Sql, columns: readonly [string, string], lock: boolean): Promise<PositionDbRow[]> {
  return tx.query<PositionDbRow>(
    `SELECT ${SELECT_COLUMNS} FROM positions
      WHERE (sku, location_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))${lock ? '\n      ORDER BY sku, location_id FOR UPDATE' : ''}`,
    columns,
  );
}

const keyColumns = (keys: readonly PositionKey[]): [string, string] => [textArrayLiteral(keys.map((k) => k.sku)), textArrayLiteral(keys.map((k) => k.locationId))];

/** The stored state of those of `keys` that have a row, without locking them. */
export async function readPositions(tx: Sql, keys: readonly PositionKey[]): Promise<Map<string, PositionState>> {
  const rows = await selectPositions(tx, keyColumns(keys), false);
  return new Map(rows.map((r) => [positionKey(r.sku, r.location_id), toState(r)]));
}

/**
 * Locks the positions of `keys` (distinct, in any order) and returns their state, creating missing
 * rows (their keys are added to `created`). Existing rows are locked first, in key order; new
 * rows are inserted after, in key order: a lock order every writer shares.
 */
export async function lockPositions(tx: Sql, keys: readonly PositionKey[], created?: Set<string>): Promise<Map<string, PositionState>> {
  const found = await selectPositions(tx, keyColumns(keys), true);
  const states = new Map<string, PositionState>();
  for (const r of found) states.set(positionKey(r.sku, r.location_id), toState(r));
  const missing = keys.filter((k) => !states.has(positionKey(k.sku, k.locationId)));
  if (missing.length > 0) {
    const missingColumns = keyColumns(missing);
    const inserted = await tx.query<{ sku: string; location_id: string }>(
      `INSERT INTO positions (sku, location_id)
       SELECT s, l FROM unnest($1::text[], $2::text[]) AS k(s, l) ORDER BY s, l
       ON CONFLICT DO NOTHING RETURNING sku, location_id`,
      missingColumns,
    );
    for (const r of inserted) created?.add(positionKey(r.sku, r.location_id));
    // Rows another writer created meanwhile were skipped above; lock and read them all now.
    const rest = await selectPositions(tx, missingColumns, true);
    for (const r of rest) states.set(positionKey(r.sku, r.location_id), toState(r));
  }
  return states;
}

export interface PositionWrite extends PositionKey {
  state: PositionState;
}

/**
 * Writes folded states back. `oversold` is recomputed from the new figures: only the ledger
 * folding in what already happened may record reservations beyond stock (see the CHECK).
 */
export async function writePositions(tx: Sql, writes: readonly PositionWrite[]): Promise<void> {
  if (writes.length === 0) return;
  // Array literals (array-literal.ts), not arrays for the driver to escape element by element.
  const text = (f: (w: PositionWrite) => string | null) => textArrayLiteral(writes.map(f));
  const num = (f: (w: PositionWrite) => number | null) => numberArrayLiteral(writes.map(f));
  await tx.query(
    `UPDATE positions p SET
        on_hand = v.on_hand, unavailable = v.unavailable, missing = v.missing, reserved = v.reserved,
        count_at = v.count_at, count_event_id = v.count_event_id, count_quantity = v.count_quantity,
        count_requested_at = CASE WHEN v.count_at IS NOT NULL AND p.count_requested_at IS NOT NULL
                                   AND v.count_at >= p.count_requested_at THEN NULL ELSE p.count_requested_at END,
        oversold = v.reserved > 0 AND v.reserved > v.on_hand - v.unavailable - v.missing,
        version = p.version + 1, updated_at = now()
       FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::timestamptz[], $8::text[], $9::int8[])
         AS v(sku, location_id, on_hand, unavailable, missing, reserved, count_at, count_event_id, count_quantity)
      WHERE p.sku = v.sku AND p.location_id = v.location_id`,
    [
      text((w) => w.sku),
      text((w) => w.locationId),
      num((w) => w.state.onHand),
      num((w) => w.state.unavailable),
      num((w) => w.state.missing),
      num((w) => w.state.reserved),
      text((w) => (w.state.countAt === null ? null : new Date(w.state.countAt).toISOString())),
      text((w) => w.state.countEntryId),
      num((w) => w.state.countQuantity),
    ],
  );
}
