// Square inventory changes (BatchRetrieveInventoryChanges) → our stock events (contract §3),
// with no I/O. A change is one movement at a till or in the dashboard, with Square's own id and
// occurred_at: event ids come from the change id, so re-reading a page changes nothing, and a
// late offline sale lands as of when it happened (§6). What cannot be mapped (an unknown
// variation or location, a fractional quantity) is quarantined with its reason, never guessed.
// Changes this service made itself (reference_id with our prefix) are the echo of our own
// pushes and are skipped.
import type { StockEvent } from '../../src/core/stock-event.js';
import { stateRole, wholeUnits, type StateRole } from './square-quantity.js';

/** reference_id of the physical counts we push, so that they are known when read back. */
export const OUR_REFERENCE_PREFIX = 'omnistock:';

export interface SquareChange {
  type: 'PHYSICAL_COUNT' | 'ADJUSTMENT' | 'TRANSFER';
  physical_count?: SquarePart & { state?: string };
  adjustment?: SquarePart & { from_state?: string; to_state?: string };
}

interface SquarePart {
  id?: string;
  reference_id?: string | null;
  catalog_object_id?: string;
  location_id?: string;
  quantity?: string;
  occurred_at?: string;
}

export interface MappingContext {
  channelId: string;
  /** Square location id → ours (settings.locationMap). */
  locationMap: Readonly<Record<string, string>>;
  /** Square item variation id → our SKU (the catalogue, matched by variation SKU). */
  skuOf(catalogObjectId: string): string | undefined;
}

export interface MappedChanges {
  events: StockEvent[];
  quarantined: Array<{ channelRef: string; reason: string; payload: unknown }>;
  /** Our own pushes read back. */
  echoes: number;
}

export function eventsFromChanges(changes: readonly SquareChange[], ctx: MappingContext): MappedChanges {
  const out: MappedChanges = { events: [], quarantined: [], echoes: 0 };
  for (const change of changes) {
    const part = change.type === 'PHYSICAL_COUNT' ? change.physical_count : change.type === 'ADJUSTMENT' ? change.adjustment : undefined;
    const ref = part?.id ?? 'change without an id';
    const refuse = (reason: string) => out.quarantined.push({ channelRef: ref, reason, payload: change });
    if (!part?.id) { refuse(`${change.type} change without its ${change.type === 'PHYSICAL_COUNT' ? 'physical_count' : 'adjustment'}`); continue; }
    if (part.reference_id?.startsWith(OUR_REFERENCE_PREFIX)) { out.echoes += 1; continue; }
    const sku = part.catalog_object_id ? ctx.skuOf(part.catalog_object_id) : undefined;
    if (!sku) { refuse(`catalog_object_id ${part.catalog_object_id ?? '(none)'}: no item variation with a SKU of ours`); continue; }
    const locationId = part.location_id ? ctx.locationMap[part.location_id] : undefined;
    if (!locationId) { refuse(`location_id ${part.location_id ?? '(none)'}: not in locationMap`); continue; }
    const q = wholeUnits(part.quantity ?? '', 'quantity');
    if (!q.ok) { refuse(q.error); continue; }
    if (!part.occurred_at || Number.isNaN(Date.parse(part.occurred_at))) { refuse('occurred_at: missing or not a date'); continue; }
    const base = { sku, locationId, occurredAt: part.occurred_at, source: `square:${ctx.channelId}` };
    const id = (suffix = '') => `square:${ctx.channelId}:${part.id}${suffix}`;
    if (change.type === 'PHYSICAL_COUNT') {
      if (stateRole(change.physical_count?.state ?? 'IN_STOCK') !== 'on-hand') continue;
      if (q.units < 0) { refuse('quantity: a count cannot be negative'); continue; }
      out.events.push({ ...base, eventId: id(), type: 'stock.counted', quantity: q.units });
      continue;
    }
    const from = stateRole(change.adjustment!.from_state ?? '');
    const to = stateRole(change.adjustment!.to_state ?? '');
    const n = q.units;
    if (n <= 0) { refuse('quantity: an adjustment moves a positive quantity'); continue; }
    out.events.push(...adjustmentEvents(from, to, n, base, id, `${change.adjustment!.from_state} → ${change.adjustment!.to_state}`));
  }
  return out;
}

type Base = { sku: string; locationId: string; occurredAt: string; source: string };

/** One Square adjustment as our movements (see stateRole for what each state means). */
function adjustmentEvents(from: StateRole, to: StateRole, n: number, base: Base, id: (s?: string) => string, move: string): StockEvent[] {
  const reason = `square: ${move}`;
  if (from === 'on-hand' && to === 'sold') return [{ ...base, eventId: id(), type: 'stock.sold', quantity: n }];
  if (from === 'sold' && to === 'on-hand') return [{ ...base, eventId: id(), type: 'stock.returned', quantity: n, sellable: true }];
  if (from === 'sold' && to === 'unavailable') return [{ ...base, eventId: id(), type: 'stock.returned', quantity: n, sellable: false }];
  if (from === 'on-hand' && to === 'unavailable') return [{ ...base, eventId: id(), type: 'stock.unavailable', quantity: n, reason }];
  if (from === 'unavailable' && to === 'on-hand') return [{ ...base, eventId: id(), type: 'stock.unavailable', quantity: -n, reason }];
  if (from === 'on-hand' && (to === 'waste' || to === 'outside')) return [{ ...base, eventId: id(), type: 'stock.adjusted', delta: -n, reason }];
  if (from === 'unavailable' && (to === 'waste' || to === 'outside')) {
    return [
      { ...base, eventId: id(':release'), type: 'stock.unavailable', quantity: -n, reason },
      { ...base, eventId: id(), type: 'stock.adjusted', delta: -n, reason },
    ];
  }
  if ((from === 'outside' || from === 'waste') && to === 'on-hand') return [{ ...base, eventId: id(), type: 'stock.received', quantity: n }];
  // Between states that are not on our shelves (SOLD → WASTE, NONE → IN_TRANSIT, ...): nothing of ours moved.
  return [];
}
