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
  return { ...entryFromEvent(e), source: e.source, reason, reservationId: null };
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
