// Rebuilds positions from the ledger (contract §6: positions are the fold of their entries).
// Verify mode changes nothing and reports every difference; repair mode rewrites positions
// page by page, each page under the same row locks the reconciler takes.
import type { Database, Sql } from '../db/database.js';
import { foldEntries, type PositionState } from '../core/fold.js';
import type { LedgerEntry } from '../core/ledger-entry.js';
import { positionKey } from '../core/ids.js';
import type { PositionKey } from './ledger-row.js';
import { lockPositions, writePositions } from './position-rows.js';

export interface PositionDifference extends PositionKey {
  field: 'onHand' | 'unavailable' | 'missing' | 'reserved';
  stored: number;
  folded: number;
}

export interface RebuildReport {
  positions: number;
  differences: PositionDifference[];
  repaired: number;
}

const PAGE = 2_000;
const FIELDS = ['onHand', 'unavailable', 'missing', 'reserved'] as const;

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

function differences(key: PositionKey, stored: PositionState, folded: PositionState): PositionDifference[] {
  return FIELDS.filter((f) => stored[f] !== folded[f]).map((f) => ({ ...key, field: f, stored: stored[f], folded: folded[f] }));
}

export async function rebuildPositions(
  db: Database,
  opts: { verify: boolean; onProgress?: (done: number, total: number) => void },
): Promise<RebuildReport> {
  const total = (await db.query<{ n: number }>('SELECT count(*)::int8 AS n FROM positions'))[0]?.n ?? 0;
  const report: RebuildReport = { positions: 0, differences: [], repaired: 0 };
  let after: PositionKey | null = null;
  for (;;) {
    const keys: PositionKey[] = (
      await db.query<{ sku: string; location_id: string }>(
        `SELECT sku, location_id FROM positions WHERE ($1::text IS NULL OR (sku, location_id) > ($1, $2))
          ORDER BY sku, location_id LIMIT ${PAGE}`,
        [after?.sku ?? null, after?.locationId ?? null],
      )
    ).map((r) => ({ sku: r.sku, locationId: r.location_id }));
    if (keys.length === 0) break;
    await db.transaction(async (tx) => {
      const stored = await lockPositions(tx, keys);
      const ledger = await ledgerFor(tx, keys);
      const repairs = [];
      for (const key of keys) {
        const k = positionKey(key.sku, key.locationId);
        const s = stored.get(k);
        if (!s) continue;
        const folded = foldEntries(ledger.get(k) ?? []);
        const diff = differences(key, s, folded);
        report.differences.push(...diff);
        if (diff.length > 0 && !opts.verify) repairs.push({ ...key, state: folded });
      }
      await writePositions(tx, repairs);
      report.repaired += repairs.length;
    });
    report.positions += keys.length;
    after = keys[keys.length - 1]!;
    opts.onProgress?.(report.positions, total);
  }
  return report;
}
