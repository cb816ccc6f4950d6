// Rebuilds positions from the ledger (contract §6: positions are the fold of their entries).
// Every position either table knows is checked: one with ledger entries but no row is a
// difference too. Verify mode changes nothing and reports every difference, reading each page
// from one snapshot (positions and the ledger are written in one transaction, so a snapshot
// sees them agree) without blocking the reconciler; repair mode rewrites positions page by
// page, each page under the same row locks the reconciler takes.
import type { Database, Sql } from '../db/database.js';
import { EMPTY_POSITION, foldEntries, type PositionState } from '../core/fold.js';
import type { LedgerEntry } from '../core/ledger-entry.js';
import { positionKey } from '../core/ids.js';
import type { PositionKey } from './ledger-row.js';
import { lockPositions, readPositions, writePositions } from './position-rows.js';

export interface PositionDifference extends PositionKey {
  /** `row`: the ledger has entries for a position that has no row (stored null, folded 'present'). */
  field: 'row' | 'onHand' | 'unavailable' | 'missing' | 'reserved' | 'countAt' | 'countEntryId' | 'countQuantity';
  stored: number | string | null;
  folded: number | string | null;
}

export interface RebuildReport {
  positions: number;
  differences: PositionDifference[];
  repaired: number;
}

const PAGE = 2_000;
/** The figures, and the count in force, which decides how later arrivals fold (§6). */
const FIELDS = ['onHand', 'unavailable', 'missing', 'reserved', 'countAt', 'countEntryId', 'countQuantity'] as const;

async function ledgerFor(tx: Sql, keys: readonly PositionKey[]): Promise<Map<string, LedgerEntry[]>> {
  const rows = await tx.query<Record<string, unknown>>(
    `SELECT event_id, kind, sku, location_id, (extract(epoch from occurred_at) * 1000)::float8 AS at, count_quantity,
            on_hand_delta, unavailable_delta, missing_delta, reserved_delta
       FROM ledger_entries WHERE (sku, location_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [keys.map((k) => k.sku), keys.map((k) => k.locationId)],
  );
  const out = new Map<string, LedgerEntry[]>();
  for (const r of rows) {
    const k = positionKey(r.sku as string, r.location_id as string);
    const list = out.get(k) ?? [];
    list.push({
      entryId: r.event_id as string, kind: r.kind as LedgerEntry['kind'], sku: r.sku as string, locationId: r.location_id as string,
      occurredAt: Math.round(r.at as number), countQuantity: r.count_quantity as number | null, onHandDelta: r.on_hand_delta as number,
      unavailableDelta: r.unavailable_delta as number, missingDelta: r.missing_delta as number, reservedDelta: r.reserved_delta as number,
    });
    out.set(k, list);
  }
  return out;
}

function differences(key: PositionKey, stored: PositionState | undefined, folded: PositionState, locationExists: boolean): PositionDifference[] {
  if (stored === undefined) {
    // No row, and nothing in the ledger would put anything in one: nothing to report.
    const empty = FIELDS.every((f) => folded[f] === EMPTY_POSITION[f]);
    return empty ? [] : [{ ...key, field: 'row', stored: null, folded: locationExists ? 'present' : 'present, at a location that no longer exists' }];
  }
  return FIELDS.filter((f) => stored[f] !== folded[f]).map((f) => ({ ...key, field: f, stored: stored[f], folded: folded[f] }));
}

/**
 * The next page of position keys after `after`, in byte order, from positions and the ledger
 * both: a position with entries but no row is rebuilt (or reported) too. Each side is read in
 * key order from its index and capped at a page, so no page reads the whole ledger.
 */
async function nextKeys(db: Sql, after: PositionKey): Promise<PositionKey[]> {
  const rows = await db.query<{ sku: string; location_id: string }>(
    `SELECT sku, location_id FROM (
       (SELECT sku, location_id FROM positions WHERE (sku, location_id) > ($1, $2) ORDER BY sku, location_id LIMIT ${PAGE})
       UNION
       (SELECT DISTINCT sku, location_id FROM ledger_entries WHERE (sku, location_id) > ($1, $2) ORDER BY sku, location_id LIMIT ${PAGE})
     ) k ORDER BY sku, location_id LIMIT ${PAGE}`,
    [after.sku, after.locationId],
  );
  return rows.map((r) => ({ sku: r.sku, locationId: r.location_id }));
}

export async function rebuildPositions(
  db: Database,
  opts: { verify: boolean; onProgress?: (done: number, total: number) => void },
): Promise<RebuildReport> {
  // For the progress bar only: positions with a row (ledger-only ones are rare).
  const total = (await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM positions'))[0]?.n ?? 0;
  const report: RebuildReport = { positions: 0, differences: [], repaired: 0 };
  // Every sku and location id has at least one character: ('', '') sorts before them all.
  let after: PositionKey = { sku: '', locationId: '' };
  for (;;) {
    const keys = await nextKeys(db, after);
    if (keys.length === 0) break;
    await db.transaction(async (tx) => {
      if (opts.verify) await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      // A row can only be (re)created at a location that exists (the positions' location check);
      // ledger entries may outlive a location whose row was lost. Those are reported, not created.
      const locationIds = [...new Set(keys.map((k) => k.locationId))];
      const known = new Set((await tx.query<{ id: string }>('SELECT id FROM locations WHERE id = ANY($1::text[])', [locationIds])).map((r) => r.id));
      // Repair locks the rows (creating missing ones) as a writer would; verify only reads.
      const created = new Set<string>();
      const stored = opts.verify
        ? await readPositions(tx, keys)
        : await lockPositions(tx, keys.filter((k) => known.has(k.locationId)), created);
      const ledger = await ledgerFor(tx, keys);
      const repairs = [];
      for (const key of keys) {
        const k = positionKey(key.sku, key.locationId);
        const folded = foldEntries(ledger.get(k) ?? []);
        const diff = differences(key, created.has(k) ? undefined : stored.get(k), folded, known.has(key.locationId));
        report.differences.push(...diff);
        if (diff.length > 0 && !opts.verify && known.has(key.locationId)) repairs.push({ ...key, state: folded });
      }
      await writePositions(tx, repairs);
      report.repaired += repairs.length;
    });
    report.positions += keys.length;
    after = keys[keys.length - 1]!;
    // Ledger-only positions can take the count past `total`.
    opts.onProgress?.(report.positions, Math.max(total, report.positions));
  }
  return report;
}
