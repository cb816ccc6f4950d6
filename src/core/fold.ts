// The ledger fold (contract §6), pure. Two forms that must always agree:
//  - foldEntries: the whole history of one position at once (rebuild, verify, tests);
//  - applyBatch: what the reconciler does per batch, touching the stored position only,
//    and asking for a ledger sum only when a newer count lands behind later movements.
import type { LedgerEntry } from './ledger-entry.js';

/** The stored state of one (sku, location) position. */
export interface PositionState {
  onHand: number;
  unavailable: number;
  /** Not-found units still open (a subset of the unavailable figure shown to users). */
  missing: number;
  reserved: number;
  /** The count that defines on hand: the newest by (occurredAt, entryId). */
  countAt: number | null;
  countEntryId: string | null;
  countQuantity: number | null;
}

export const EMPTY_POSITION: PositionState = {
  onHand: 0, unavailable: 0, missing: 0, reserved: 0, countAt: null, countEntryId: null, countQuantity: null,
};

export interface CountRef {
  at: number;
  entryId: string;
  quantity: number;
}

/** Counts are ordered by time, then by id, so two counts at the same instant pick one winner in any order. */
export function countIsNewer(candidate: CountRef, current: { at: number | null; entryId: string | null }): boolean {
  if (current.at === null || current.entryId === null) return true;
  if (candidate.at !== current.at) return candidate.at > current.at;
  return candidate.entryId > current.entryId;
}

/** Whether a movement at `occurredAt` still changes on hand given the count in force. */
export function afterCount(occurredAt: number, countAt: number | null): boolean {
  return countAt === null || occurredAt > countAt;
}

function countOf(e: LedgerEntry): CountRef | null {
  return e.countQuantity === null ? null : { at: e.occurredAt, entryId: e.entryId, quantity: e.countQuantity };
}

/** Fold of a position's complete, deduplicated history. Order of `entries` does not matter. */
export function foldEntries(entries: readonly LedgerEntry[]): PositionState {
  let count: CountRef | null = null;
  for (const e of entries) {
    const c = countOf(e);
    if (c && countIsNewer(c, { at: count?.at ?? null, entryId: count?.entryId ?? null })) count = c;
  }
  const countAt = count?.at ?? null;
  const s: PositionState = {
    ...EMPTY_POSITION,
    onHand: count?.quantity ?? 0,
    countAt,
    countEntryId: count?.entryId ?? null,
    countQuantity: count?.quantity ?? null,
  };
  for (const e of entries) {
    if (afterCount(e.occurredAt, countAt)) {
      s.onHand += e.onHandDelta;
      s.missing += e.missingDelta;
    }
    s.unavailable += e.unavailableDelta;
    s.reserved += e.reservedDelta;
  }
  return s;
}

/** Sums of count-sensitive deltas in the stored ledger strictly after a time. */
export interface SumsAfter {
  onHandDelta: number;
  missingDelta: number;
}

export type BatchOutcome =
  | { kind: 'incremental'; next: PositionState }
  /** A newer count arrived: on hand must be re-derived from the ledger after `count.at`. */
  | { kind: 'recount'; count: CountRef; next: (sumsAfterCount: SumsAfter) => PositionState };

/**
 * Applies fresh (never-seen) entries of one position. When the count in force changes the
 * caller must first store the batch's entries, then sum the ledger after the new count time
 * (which includes those entries) and pass the sums to `next`.
 */
export function applyBatch(state: PositionState, fresh: readonly LedgerEntry[]): BatchOutcome {
  let newest: CountRef | null = null;
  const inForce = { at: state.countAt, entryId: state.countEntryId };
  for (const e of fresh) {
    const c = countOf(e);
    if (c && countIsNewer(c, newest ? { at: newest.at, entryId: newest.entryId } : inForce)) newest = c;
  }
  let unavailable = state.unavailable;
  let reserved = state.reserved;
  for (const e of fresh) {
    unavailable += e.unavailableDelta;
    reserved += e.reservedDelta;
  }
  if (newest) {
    const count = newest;
    return {
      kind: 'recount',
      count,
      next: (sums) => ({
        onHand: count.quantity + sums.onHandDelta,
        missing: sums.missingDelta,
        unavailable,
        reserved,
        countAt: count.at,
        countEntryId: count.entryId,
        countQuantity: count.quantity,
      }),
    };
  }
  let onHand = state.onHand;
  let missing = state.missing;
  for (const e of fresh) {
    if (afterCount(e.occurredAt, state.countAt)) {
      onHand += e.onHandDelta;
      missing += e.missingDelta;
    }
  }
  return { kind: 'incremental', next: { ...state, onHand, unavailable, missing, reserved } };
}

/** Sums a ledger after a time, in memory: what the SQL recount query computes. */
export function sumsAfter(entries: readonly LedgerEntry[], at: number): SumsAfter {
  let onHandDelta = 0;
  let missingDelta = 0;
  for (const e of entries) {
    if (e.occurredAt > at) {
      onHandDelta += e.onHandDelta;
      missingDelta += e.missingDelta;
    }
  }
  return { onHandDelta, missingDelta };
}
