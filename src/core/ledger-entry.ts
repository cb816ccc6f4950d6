// A ledger entry is what one event (or one reservation step) does to one (sku, location)
// position. Entries are append-only; positions are their fold (contract §6).
import type { StockEvent } from './stock-event.js';

export type EntryKind =
  | StockEvent['type']
  | 'reservation.held'
  | 'reservation.released'
  | 'reservation.fulfilled'
  | 'store.not_found';

export interface LedgerEntry {
  /** Idempotency key: the stock event id, or a reservation step id. */
  entryId: string;
  kind: EntryKind;
  sku: string;
  locationId: string;
  /** Epoch milliseconds at the source. */
  occurredAt: number;
  /** For counts: the counted on-hand. Null for every other kind. */
  countQuantity: number | null;
  /** Movement of on hand; absorbed by a count taken at or after `occurredAt`. */
  onHandDelta: number;
  /** Units flagged unavailable (damage, quality hold); counts do not reset these. */
  unavailableDelta: number;
  /** Units a store could not find: unavailable until a count taken after them says otherwise. */
  missingDelta: number;
  reservedDelta: number;
}

/** Translates a validated stock event into its ledger entry (the §3 effect table). */
export function entryFromEvent(e: StockEvent): LedgerEntry {
  // One literal with every field: the reconciler builds hundreds of thousands of these a second,
  // and objects of one shape stay fast.
  let countQuantity: number | null = null;
  let onHandDelta = 0;
  let unavailableDelta = 0;
  switch (e.type) {
    case 'stock.counted': countQuantity = e.quantity; break;
    case 'stock.received': onHandDelta = e.quantity; break;
    case 'stock.sold': onHandDelta = -e.quantity; break;
    case 'stock.returned':
      onHandDelta = e.quantity;
      unavailableDelta = e.sellable === false ? e.quantity : 0;
      break;
    case 'stock.adjusted': onHandDelta = e.delta; break;
    case 'stock.unavailable': unavailableDelta = e.quantity; break;
  }
  return {
    entryId: e.eventId, kind: e.type, sku: e.sku, locationId: e.locationId, occurredAt: Date.parse(e.occurredAt),
    countQuantity, onHandDelta, unavailableDelta, missingDelta: 0, reservedDelta: 0,
  };
}

export function isCount(e: Pick<LedgerEntry, 'countQuantity'>): boolean {
  return e.countQuantity !== null;
}
