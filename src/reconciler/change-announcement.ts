// The message on `inventory.atp` after each batch: which positions of a SKU changed. Readers
// (channel publishers, the routing index) re-read those positions from the ledger.
import type { LogRecord } from '../eventlog/event-log.js';
import type { PositionKey } from '../ledger/ledger-row.js';

export interface AtpChange {
  sku: string;
  locationIds: string[];
}

export function changeRecords(keys: readonly PositionKey[]): LogRecord[] {
  const bySku = new Map<string, string[]>();
  for (const k of keys) {
    const list = bySku.get(k.sku);
    if (list) list.push(k.locationId);
    else bySku.set(k.sku, [k.locationId]);
  }
  return [...bySku].map(([sku, locationIds]) => ({ key: sku, value: JSON.stringify({ sku, locationIds } satisfies AtpChange) }));
}

export function parseChange(value: string): AtpChange | null {
  try {
    const v = JSON.parse(value) as Partial<AtpChange>;
    if (typeof v.sku === 'string' && Array.isArray(v.locationIds)) return { sku: v.sku, locationIds: v.locationIds.filter((x) => typeof x === 'string') };
  } catch {
    /* not ours */
  }
  return null;
}
