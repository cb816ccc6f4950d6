// The reference the ledger is checked against, written apart from src/core/fold.ts: the fold
// test and the database property tests both compare with it.
import type { PositionState } from '../../src/core/fold.js';
import type { LedgerEntry } from '../../src/core/ledger-entry.js';

export type Figures = Pick<PositionState, 'onHand' | 'unavailable' | 'missing' | 'reserved'>;

/**
 * Independent of src/core/fold.ts: replay in time order; at one instant movements first (a
 * movement at the count time is inside the count), then counts by id (the larger id wins).
 */
export function referenceInOrder(entries: readonly LedgerEntry[]): Figures {
  const sorted = [...entries].sort((a, b) => a.occurredAt - b.occurredAt
    || Number(a.countQuantity !== null) - Number(b.countQuantity !== null)
    || (a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0));
  let onHand = 0, unavailable = 0, missing = 0, reserved = 0;
  for (const e of sorted) {
    if (e.countQuantity !== null) { onHand = e.countQuantity; missing = 0; }
    onHand += e.onHandDelta;
    missing += e.missingDelta;
    unavailable += e.unavailableDelta;
    reserved += e.reservedDelta;
  }
  return { onHand, unavailable, missing, reserved };
}
