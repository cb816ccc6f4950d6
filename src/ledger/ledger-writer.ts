// Applies ledger rows to positions inside the caller's transaction: the one place where the
// pure fold meets the database. The reconciler calls it per batch; reservations call it for
// fulfilment. Steps: dedupe → lock positions in key order → append ledger rows → recount where
// a newer count landed → write positions.
import { isUniqueViolation, type Sql } from '../db/database.js';
import { CopyText, copyField, copyTimestamp } from '../db/copy-text.js';
import { numberArrayLiteral, textArrayLiteral } from '../db/array-literal.js';
import { applyBatch, type PositionState, type SumsAfter } from '../core/fold.js';
import { positionKey } from '../core/ids.js';
import type { LedgerRow, PositionKey } from './ledger-row.js';
import { lockPositions, writePositions, type PositionWrite } from './position-rows.js';

export interface WriteResult {
  /** Rows applied now (after dedupe). */
  applied: readonly LedgerRow[];
  /** Rows whose id was applied before (or repeated within the batch). */
  duplicates: number;
  /** Positions whose figures changed, those of one SKU next to each other. */
  changed: PositionKey[];
}

/**
 * Claims the rows' ids in processed_events and returns the rows to apply: the first occurrence
 * of each id in the batch, unless applied before. Ids are inserted in byte order so concurrent
 * writers take the unique-index locks in the same order.
 *
 * Usually no id repeats, so a plain INSERT of every id goes first, inside a savepoint: one index
 * descent per id, where INSERT … ON CONFLICT makes a speculative insertion (a check, the insert,
 * a confirmation record), about twice the server's CPU (BENCHMARKS.md, spine). It also finds
 * repeats within the batch (the second insert of an id conflicts with the first), so when it
 * succeeds every row is fresh and none of them needs looking up here. Only when it meets an id
 * already there (committed, or committed meanwhile by a concurrent writer it waited for, or
 * earlier in the batch) is it rolled back and the ids claimed with ON CONFLICT. While duplicates
 * keep coming (a channel re-sending, a replay), that first attempt would only waste work, so it
 * is skipped until a claim finds none again.
 */
async function claimFresh(tx: Sql, rows: readonly LedgerRow[]): Promise<readonly LedgerRow[]> {
  if (!lastClaimFoundDuplicates) {
    await tx.query('SAVEPOINT claim_event_ids');
    try {
      await tx.query('INSERT INTO processed_events (event_id) SELECT id FROM unnest($1::text[]) AS t(id) ORDER BY id COLLATE "C"', [textArrayLiteral(rows.map((r) => r.entryId))]);
      await tx.query('RELEASE SAVEPOINT claim_event_ids');
      return rows;
    } catch (err) {
      // Anything but a duplicate leaves the transaction failed, for the caller to retry whole.
      if (!isUniqueViolation(err)) throw err;
      await tx.query('ROLLBACK TO SAVEPOINT claim_event_ids');
    }
  }
  const first = firstOccurrences(rows);
  const found = await tx.query<{ seen: string[] }>(
    `WITH claimed AS (
       INSERT INTO processed_events (event_id) SELECT id FROM unnest($1::text[]) AS t(id) ORDER BY id COLLATE "C"
       ON CONFLICT DO NOTHING RETURNING event_id)
     SELECT coalesce(array_agg(t.id), '{}') AS seen FROM unnest($1::text[]) AS t(id)
      WHERE NOT EXISTS (SELECT 1 FROM claimed c WHERE c.event_id = t.id)`,
    [textArrayLiteral(first.map((r) => r.entryId))],
  );
  const seen = new Set(found[0]?.seen ?? []);
  lastClaimFoundDuplicates = seen.size > 0 || first.length < rows.length;
  return seen.size > 0 ? first.filter((r) => !seen.has(r.entryId)) : first;
}

/** Only chooses which claim goes first; either one returns the same rows. */
let lastClaimFoundDuplicates = false;

/** Within a batch the first occurrence of an id wins (log order). */
function firstOccurrences(rows: readonly LedgerRow[]): LedgerRow[] {
  const ids = new Set<string>();
  return rows.filter((r) => !ids.has(r.entryId) && ids.add(r.entryId) !== undefined);
}

const LEDGER_COLUMNS = [
  'event_id', 'kind', 'sku', 'location_id', 'occurred_at', 'count_quantity', 'on_hand_delta',
  'unavailable_delta', 'missing_delta', 'reserved_delta', 'source', 'reason', 'reservation_id',
] as const;

/**
 * Ledger rows are append-only and already deduplicated, so they go in with COPY: PostgreSQL
 * spends about half the CPU per row of an INSERT from a JSON parameter (BENCHMARKS.md, spine).
 */
async function appendLedgerRows(tx: Sql, rows: readonly LedgerRow[]): Promise<void> {
  const text = new CopyText();
  // One template per row rather than copyLine's array: no garbage per row. Kinds are fixed
  // words and numbers need no escaping; every other text goes through copyField.
  for (const r of rows) {
    text.add(`${copyField(r.entryId)}\t${r.kind}\t${copyField(r.sku)}\t${copyField(r.locationId)}\t${copyTimestamp(r.occurredAt)}\t${
      r.countQuantity === null ? '\\N' : r.countQuantity}\t${r.onHandDelta}\t${r.unavailableDelta}\t${r.missingDelta}\t${r.reservedDelta}\t${
      copyField(r.source)}\t${copyField(r.reason)}\t${copyField(r.reservationId)}\n`);
  }
  await tx.copyIn('ledger_entries', LEDGER_COLUMNS, text.done());
}

/** Sums of count-sensitive deltas strictly after each position's new count time. */
async function sumsAfterCounts(tx: Sql, recounts: ReadonlyArray<PositionKey & { at: number }>): Promise<Map<string, SumsAfter>> {
  const rows = await tx.query<{ sku: string; location_id: string; on_hand: number; missing: number }>(
    `SELECT k.sku, k.location_id, coalesce(sum(l.on_hand_delta), 0)::int8 AS on_hand, coalesce(sum(l.missing_delta), 0)::int8 AS missing
       FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS k(sku, location_id, at)
       LEFT JOIN ledger_entries l ON l.sku = k.sku AND l.location_id = k.location_id AND l.occurred_at > k.at
      GROUP BY k.sku, k.location_id`,
    [textArrayLiteral(recounts.map((r) => r.sku)), textArrayLiteral(recounts.map((r) => r.locationId)), textArrayLiteral(recounts.map((r) => new Date(r.at).toISOString()))],
  );
  return new Map(rows.map((r) => [positionKey(r.sku, r.location_id), { onHandDelta: r.on_hand, missingDelta: r.missing }]));
}

interface Group {
  key: PositionKey;
  rows: LedgerRow[];
}

/**
 * The rows per position, each position's rows in log order, the positions of one SKU next to
 * each other. Grouped by SKU first (a map keyed by the row's own sku string: no key built per
 * row), then by location among that SKU's few rows. Sorting the rows by position instead cost
 * about twice as much per row at thousands of rows a batch (BENCHMARKS.md, spine). No order is
 * needed here: every statement that locks rows orders them itself.
 */
function groupByPosition(rows: readonly LedgerRow[]): Group[] {
  const bySku = new Map<string, Group[]>();
  for (const r of rows) {
    const list = bySku.get(r.sku);
    if (list === undefined) {
      bySku.set(r.sku, [{ key: { sku: r.sku, locationId: r.locationId }, rows: [r] }]);
      continue;
    }
    let g: Group | undefined;
    for (const x of list) if (x.key.locationId === r.locationId) g = x;
    if (g) g.rows.push(r);
    else list.push({ key: { sku: r.sku, locationId: r.locationId }, rows: [r] });
  }
  const groups: Group[] = [];
  for (const list of bySku.values()) for (const g of list) groups.push(g);
  return groups;
}

/** Returns the groups the exact path must fold (by index into `groups`): those the upsert did not apply. */
async function upsertIncremental(tx: Sql, groups: readonly Group[]): Promise<Set<number>> {
  const exactOnes: number[] = [];
  const n = groups.length;
  const skus: string[] = new Array(n), locs: string[] = new Array(n);
  const onHand: number[] = new Array(n), unavailable: number[] = new Array(n), missing: number[] = new Array(n), from: number[] = new Array(n);
  groups.forEach((g, i) => {
    let o = 0, u = 0, m = 0, r = 0, min = Infinity, hasCount = false;
    for (const e of g.rows) {
      o += e.onHandDelta; u += e.unavailableDelta; m += e.missingDelta; r += e.reservedDelta;
      if (e.occurredAt < min) min = e.occurredAt;
      if (e.countQuantity !== null) hasCount = true;
    }
    // A batch with a count never qualifies, nor one moving reservations (fulfilment): the
    // proposed row must pass the CHECKs before the conflict is even seen. Such a row is inserted
    // as zeros (when new) or only locked, and takes the exact path.
    const exact = hasCount || r !== 0;
    if (exact) exactOnes.push(i);
    skus[i] = g.key.sku;
    locs[i] = g.key.locationId;
    onHand[i] = exact ? 0 : o;
    unavailable[i] = exact ? 0 : u;
    missing[i] = exact ? 0 : m;
    from[i] = exact ? -1 : min;
  });
  // Columns as array literals (array-literal.ts): cheaper to build than JSON here, and to parse
  // there. WITH ORDINALITY numbers the rows 1…n in input order: the group's index + 1.
  const rows = await tx.query<{ skipped: number[] }>(
    `WITH v AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::float8[])
         WITH ORDINALITY AS v(s, l, o, u, m, f, i)),
     up AS (
       INSERT INTO positions AS p (sku, location_id, on_hand, unavailable, missing, reserved, batch_from, oversold)
       SELECT s, l, o, u, m, 0, CASE WHEN f < 0 THEN '-infinity'::timestamptz ELSE to_timestamp(f / 1000.0) END, false
         FROM v ORDER BY s COLLATE "C", l COLLATE "C"
       ON CONFLICT (sku, location_id) DO UPDATE SET
          on_hand = p.on_hand + EXCLUDED.on_hand,
          unavailable = p.unavailable + EXCLUDED.unavailable,
          missing = p.missing + EXCLUDED.missing,
          batch_from = EXCLUDED.batch_from,
          oversold = p.reserved > 0
                     AND p.reserved > p.on_hand + EXCLUDED.on_hand - p.unavailable - EXCLUDED.unavailable - p.missing - EXCLUDED.missing,
          version = p.version + 1, updated_at = now()
        WHERE EXCLUDED.batch_from > coalesce(p.count_at, '-infinity'::timestamptz)
       RETURNING sku, location_id)
     SELECT coalesce(array_agg((v.i - 1)::int4), '{}') AS skipped FROM v
      WHERE NOT EXISTS (SELECT 1 FROM up WHERE up.sku = v.s AND up.location_id = v.l)`,
    [textArrayLiteral(skus), textArrayLiteral(locs), numberArrayLiteral(onHand), numberArrayLiteral(unavailable), numberArrayLiteral(missing), numberArrayLiteral(from)],
  );
  return new Set([...exactOnes, ...(rows[0]?.skipped ?? [])]);
}

/** The exact fold for positions the upsert left alone (already locked by it). */
async function applyExactly(tx: Sql, groups: readonly Group[]): Promise<void> {
  const states = await lockPositions(tx, groups.map((g) => g.key));
  const writes: PositionWrite[] = [];
  const recounts: Array<PositionKey & { at: number; finish: (s: SumsAfter) => PositionState }> = [];
  for (const { key, rows } of groups) {
    const state = states.get(positionKey(key.sku, key.locationId));
    if (!state) throw new Error(`position ${key.sku}@${key.locationId} was not locked`);
    const outcome = applyBatch(state, rows);
    if (outcome.kind === 'incremental') writes.push({ ...key, state: outcome.next });
    else recounts.push({ ...key, at: outcome.count.at, finish: outcome.next });
  }
  if (recounts.length > 0) {
    const sums = await sumsAfterCounts(tx, recounts);
    for (const r of recounts) {
      const s = sums.get(positionKey(r.sku, r.locationId)) ?? { onHandDelta: 0, missingDelta: 0 };
      writes.push({ sku: r.sku, locationId: r.locationId, state: r.finish(s) });
    }
  }
  await writePositions(tx, writes);
}

export interface WriteOptions {
  /** Claim ids in processed_events and skip those seen before (stock events). */
  dedupe: boolean;
}

export async function writeLedger(tx: Sql, rows: readonly LedgerRow[], opts: WriteOptions): Promise<WriteResult> {
  const fresh = rows.length === 0 ? [] : opts.dedupe ? await claimFresh(tx, rows) : firstOccurrences(rows);
  const duplicates = rows.length - fresh.length;
  if (fresh.length === 0) return { applied: [], duplicates, changed: [] };

  const groups = groupByPosition(fresh);
  // One sorted upsert locks every touched position (creating new ones) and applies the batches
  // that lie wholly after the count in force. The rest (a count in the batch, or a movement at
  // or before the count) take the exact path below, on rows this statement already locked.
  const exact = await upsertIncremental(tx, groups);
  // Ledger rows only once their positions are locked: per position, ledger id order is then
  // the order in which writers changed it (holds write theirs under the same lock), so a replay
  // in id order sees what each writer saw. The exact path below reads these rows back.
  await appendLedgerRows(tx, fresh);
  const slow = groups.filter((_, i) => exact.has(i));
  if (slow.length > 0) await applyExactly(tx, slow);
  return { applied: fresh, duplicates, changed: groups.map((g) => g.key) };
}
