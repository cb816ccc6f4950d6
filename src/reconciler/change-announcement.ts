// The messages on `inventory.atp` after each batch: which positions changed, grouped by SKU.
// Readers (channel publishers) re-read those positions from the ledger, so a message carries no
// quantities and order between messages does not matter. One message holds up to
// CHANGES_PER_MESSAGE SKUs: a record per SKU cost the reconciler more in producing than the
// batch cost in PostgreSQL.
import type { LogRecord } from '../eventlog/event-log.js';
import type { PositionKey } from '../ledger/ledger-row.js';

export interface AtpChange {
  sku: string;
  locationIds: string[];
}

export const CHANGES_PER_MESSAGE = 1_000;

export function changeRecords(keys: readonly PositionKey[]): LogRecord[] {
  const bySku = new Map<string, string[]>();
  // Keys usually come with one SKU's positions next to each other (see writeLedger): one map
  // lookup per SKU rather than per key.
  let lastSku: string | null = null;
  let last: string[] = [];
  for (const k of keys) {
    if (k.sku === lastSku) {
      last.push(k.locationId);
      continue;
    }
    let list = bySku.get(k.sku);
    if (list) list.push(k.locationId);
    else bySku.set(k.sku, (list = [k.locationId]));
    lastSku = k.sku;
    last = list;
  }
  const changes: AtpChange[] = [...bySku].map(([sku, locationIds]) => ({ sku, locationIds }));
  const records: LogRecord[] = [];
  for (let i = 0; i < changes.length; i += CHANGES_PER_MESSAGE) {
    const part = changes.slice(i, i + CHANGES_PER_MESSAGE);
    // Keyed by the first SKU only to spread messages over partitions.
    records.push({ key: part[0]!.sku, value: JSON.stringify({ changes: part }) });
  }
  return records;
}

/** The changes of one message; [] for anything that is not one of ours. */
export function parseChanges(value: string): AtpChange[] {
  try {
    const v = JSON.parse(value) as { changes?: unknown };
    if (!Array.isArray(v.changes)) return [];
    return v.changes.flatMap((c: Partial<AtpChange>) =>
      typeof c?.sku === 'string' && Array.isArray(c.locationIds)
        ? [{ sku: c.sku, locationIds: c.locationIds.filter((x): x is string => typeof x === 'string') }]
        : []);
  } catch {
    return [];
  }
}
