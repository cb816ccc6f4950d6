// A ledger entry plus the descriptive fields kept for history (source, reason, reservation).
import type { LedgerEntry } from '../core/ledger-entry.js';
import { entryFromEvent } from '../core/ledger-entry.js';
import type { StockEvent } from '../core/stock-event.js';

export interface LedgerRow extends LedgerEntry {
  source: string | null;
  reason: string | null;
  reservationId: string | null;
}

export function rowFromEvent(e: StockEvent): LedgerRow {
  const reason = e.type === 'stock.adjusted' || e.type === 'stock.unavailable' ? e.reason : null;
  const x = entryFromEvent(e);
  return {
    entryId: x.entryId, kind: x.kind, sku: x.sku, locationId: x.locationId, occurredAt: x.occurredAt,
    countQuantity: x.countQuantity, onHandDelta: x.onHandDelta, unavailableDelta: x.unavailableDelta,
    missingDelta: 0, reservedDelta: 0, source: e.source, reason, reservationId: null,
  };
}

export interface PositionKey {
  sku: string;
  locationId: string;
}

export function comparePositionKeys(a: PositionKey, b: PositionKey): number {
  if (a.sku !== b.sku) return a.sku < b.sku ? -1 : 1;
  if (a.locationId !== b.locationId) return a.locationId < b.locationId ? -1 : 1;
  return 0;
}
