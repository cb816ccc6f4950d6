// Read side of the ledger: availability per SKU and the ledger history behind a position.
import type { Sql } from '../db/database.js';
import { skuAvailability, type PositionFigures, type SkuAvailability } from '../core/availability.js';

interface Row {
  sku: string;
  location_id: string;
  on_hand: number;
  reserved: number;
  unavailable: number;
  safety_stock: number;
  active: boolean;
  oversold: boolean;
  count_requested: boolean;
}

export async function readAvailability(db: Sql, skus: readonly string[], locationIds?: readonly string[]): Promise<SkuAvailability[]> {
  const rows = await db.query<Row>(
    `SELECT p.sku, p.location_id, p.on_hand, p.reserved, p.unavailable + p.missing AS unavailable,
            l.safety_stock, l.active, p.oversold, p.count_requested_at IS NOT NULL AS count_requested
       FROM positions p JOIN locations l ON l.id = p.location_id
      WHERE p.sku = ANY($1::text[]) AND ($2::text[] IS NULL OR p.location_id = ANY($2::text[]))`,
    [skus, locationIds ?? null],
  );
  const bySku = new Map<string, PositionFigures[]>();
  for (const r of rows) {
    const list = bySku.get(r.sku) ?? [];
    list.push({
      locationId: r.location_id, onHand: r.on_hand, reserved: r.reserved, unavailable: r.unavailable,
      safetyStock: r.safety_stock, active: r.active, oversold: r.oversold, countRequested: r.count_requested,
    });
    bySku.set(r.sku, list);
  }
  return skus.map((sku) => skuAvailability(sku, bySku.get(sku) ?? []));
}

export interface LedgerHistoryEntry {
  id: number;
  eventId: string;
  kind: string;
  locationId: string;
  occurredAt: string;
  recordedAt: string;
  countQuantity: number | null;
  onHandDelta: number;
  unavailableDelta: number;
  missingDelta: number;
  reservedDelta: number;
  source: string | null;
  reason: string | null;
  reservationId: string | null;
}

export async function readLedgerHistory(
  db: Sql,
  sku: string,
  opts: { locationId?: string | undefined; limit: number; offset: number },
): Promise<LedgerHistoryEntry[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT id, event_id, kind, location_id, occurred_at, recorded_at, count_quantity, on_hand_delta,
            unavailable_delta, missing_delta, reserved_delta, source, reason, reservation_id
       FROM ledger_entries
      WHERE sku = $1 AND ($2::text IS NULL OR location_id = $2)
      ORDER BY occurred_at DESC, id DESC LIMIT $3 OFFSET $4`,
    [sku, opts.locationId ?? null, opts.limit, opts.offset],
  );
  const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : String(v));
  return rows.map((r) => ({
    id: r.id as number,
    eventId: r.event_id as string,
    kind: r.kind as string,
    locationId: r.location_id as string,
    occurredAt: iso(r.occurred_at),
    recordedAt: iso(r.recorded_at),
    countQuantity: r.count_quantity as number | null,
    onHandDelta: r.on_hand_delta as number,
    unavailableDelta: r.unavailable_delta as number,
    missingDelta: r.missing_delta as number,
    reservedDelta: r.reserved_delta as number,
    source: r.source as string | null,
    reason: r.reason as string | null,
    reservationId: r.reservation_id as string | null,
  }));
}
