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

const zero = { countQuantity: null, onHandDelta: 0, unavailableDelta: 0, missingDelta: 0, reservedDelta: 0 };

/** Translates a validated stock event into its ledger entry (the §3 effect table). */
export function entryFromEvent(e: StockEvent): LedgerEntry {
  const base = { ...zero, entryId: e.eventId, kind: e.type, sku: e.sku, locationId: e.locationId, occurredAt: Date.parse(e.occurredAt) };
  switch (e.type) {
    case 'stock.counted':
      return { ...base, countQuantity: e.quantity };
    case 'stock.received':
      return { ...base, onHandDelta: e.quantity };
    case 'stock.sold':
      return { ...base, onHandDelta: -e.quantity };
    case 'stock.returned':
      return { ...base, onHandDelta: e.quantity, unavailableDelta: e.sellable === false ? e.quantity : 0 };
    case 'stock.adjusted':
      return { ...base, onHandDelta: e.delta };
    case 'stock.unavailable':
      return { ...base, unavailableDelta: e.quantity };
  }
}

export function isCount(e: Pick<LedgerEntry, 'countQuantity'>): boolean {
  return e.countQuantity !== null;
}
