// A store's fulfilment queue (contract §11): the routed orders with active lines at a location,
// their progress there, and the actions that move them on. Ship and hand-over fulfil the
// store's lines of the reservation (the whole reservation once no line elsewhere is left).
//
// Lock order, as everywhere: the reservation row first (FOR UPDATE), then positions (through
// writeLedger), then store_order_status. Every action checks and writes under that row lock,
// so a pick racing a ship on another handheld is decided in one order.
import type { Database, Sql } from '../db/database.js';
import { decideStoreAction, PROMISE_MS, type FulfilMethod, type StoreAction, type StoreOrderStatus } from '../core/store-order.js';
import type { LedgerRow, PositionKey } from '../ledger/ledger-row.js';
import { writeLedger } from '../ledger/ledger-writer.js';
import type { RejectService } from '../routing/reject-service.js';
import { ReservationConflict, ReservationNotFound } from '../reservations/errors.js';

export interface QueueLine {
  lineNo: number;
  sku: string;
  quantity: number;
  state: string;
  /** For a line the store could not find: where its units went (empty: nowhere had them). */
  reroutedTo?: Array<{ locationId: string; quantity: number }>;
}

export interface QueueOrder {
  reservationId: string;
  orderRef: string | null;
  channel: string;
  method: FulfilMethod;
  status: StoreOrderStatus;
  createdAt: string;
  promisedBy: string;
  reservationStatus: string;
  expiresAt: string | null;
  lines: QueueLine[];
}

export class StoreActionForbidden extends Error {}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const ACTIVE = ['held', 'committed'];

export class StoreQueue {
  constructor(private readonly o: {
    db: Database;
    rejects: RejectService | null;
    onChanged?: (keys: PositionKey[]) => void;
    now?: () => Date;
  }) {}

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  /** Orders with an active line at the location, oldest first. */
  async list(locationId: string): Promise<QueueOrder[]> {
    const rows = await this.o.db.query<Record<string, unknown>>(
      `SELECT r.id, r.order_ref, r.channel, r.route_method, r.status AS reservation_status, r.created_at, r.expires_at,
              coalesce(s.status, 'new') AS status,
              (SELECT json_agg(json_build_object('lineNo', l.line_no, 'sku', l.sku, 'quantity', l.quantity, 'state', l.state,
                        'reroutedTo', CASE WHEN l.state = 'rejected' THEN
                          (SELECT coalesce(json_agg(json_build_object('locationId', n.location_id, 'quantity', n.quantity) ORDER BY n.line_no), '[]'::json)
                             FROM reservation_lines n WHERE n.reservation_id = l.reservation_id AND n.replaces_line_no = l.line_no) END)
                      ORDER BY l.line_no)
                 FROM reservation_lines l WHERE l.reservation_id = r.id AND l.location_id = $1 AND l.state <> 'released') AS lines
         FROM reservations r
         LEFT JOIN store_order_status s ON s.reservation_id = r.id AND s.location_id = $1
        WHERE r.status = ANY($2::text[])
          AND r.id IN (SELECT reservation_id FROM reservation_lines WHERE location_id = $1 AND state = ANY($2::text[]))
        ORDER BY r.created_at, r.id`,
      [locationId, ACTIVE],
    );
    return rows.map((r) => {
      const method: FulfilMethod = r.route_method === 'pickup' ? 'pickup' : 'ship';
      const created = iso(r.created_at);
      const lines = (typeof r.lines === 'string' ? JSON.parse(r.lines) : r.lines ?? []) as QueueLine[];
      return {
        reservationId: r.id as string, orderRef: r.order_ref as string | null, channel: r.channel as string, method,
        status: r.status as StoreOrderStatus, createdAt: created, promisedBy: new Date(Date.parse(created) + PROMISE_MS[method]).toISOString(),
        reservationStatus: r.reservation_status as string, expiresAt: r.expires_at === null ? null : iso(r.expires_at),
        lines: lines.map((l) => (l.reroutedTo === null || l.reroutedTo === undefined ? omitReroute(l) : l)),
      };
    });
  }

  /** Moves the order on at this location; ship and hand-over fulfil the store's lines. */
  async act(locationId: string, reservationId: string, action: StoreAction, by: string): Promise<QueueOrder> {
    const nowIso = this.now().toISOString();
    const changed = await this.o.db.transaction(async (tx) => {
      const head = (await tx.query<{ status: string; channel: string; route_method: string | null; expired: boolean }>(
        `SELECT status, channel, route_method, (status = 'held' AND expires_at <= $2) AS expired FROM reservations WHERE id = $1 FOR UPDATE`,
        [reservationId, nowIso],
      ))[0];
      const here = head ? await tx.query<{ state: string }>('SELECT state FROM reservation_lines WHERE reservation_id = $1 AND location_id = $2', [reservationId, locationId]) : [];
      if (!head || here.length === 0) throw new ReservationNotFound(reservationId);
      const current = (await tx.query<{ status: StoreOrderStatus }>(
        'SELECT status FROM store_order_status WHERE reservation_id = $1 AND location_id = $2', [reservationId, locationId],
      ))[0]?.status ?? 'new';
      const method: FulfilMethod = head.route_method === 'pickup' ? 'pickup' : 'ship';
      const d = decideStoreAction(method, current, action);
      if (d.kind === 'forbidden') throw new StoreActionForbidden(d.reason);
      if (d.kind === 'already') return [];
      if (!here.some((l) => ACTIVE.includes(l.state))) {
        throw new StoreActionForbidden(`order ${reservationId} has no line left to work at ${locationId} (reservation ${head.status})`);
      }
      if (!ACTIVE.includes(head.status)) throw new StoreActionForbidden(`reservation ${reservationId} is ${head.status}`);
      if (head.expired) throw new StoreActionForbidden(`reservation ${reservationId} expired before it was committed; its units are being released`);
      let keys: PositionKey[] = [];
      if (d.fulfils) keys = await fulfilHere(tx, reservationId, locationId, head.channel, nowIso);
      await tx.query(
        `INSERT INTO store_order_status (reservation_id, location_id, status, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (reservation_id, location_id) DO UPDATE SET status = EXCLUDED.status, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at`,
        [reservationId, locationId, d.to, by, nowIso],
      );
      return keys;
    });
    if (changed.length > 0) this.o.onChanged?.(changed);
    return this.order(locationId, reservationId);
  }

  /**
   * "Can't find": the store gives the line's units back through reject-and-re-route
   * (reason not_found: missing until counted) and learns where they went.
   */
  async cantFind(locationId: string, reservationId: string, lineNo: number, quantity: number | undefined) {
    if (!this.o.rejects) throw new Error('re-routing is not running in this process');
    const line = (await this.o.db.query<{ sku: string; quantity: number; state: string }>(
      'SELECT sku, quantity, state FROM reservation_lines WHERE reservation_id = $1 AND line_no = $2 AND location_id = $3',
      [reservationId, lineNo, locationId],
    ))[0];
    if (!line) throw new ReservationNotFound(reservationId);
    if (!ACTIVE.includes(line.state)) throw new ReservationConflict(`line ${lineNo} of ${reservationId} is ${line.state}`);
    const q = quantity ?? line.quantity;
    if (q > line.quantity) throw new ReservationConflict(`line ${lineNo} holds ${line.quantity}, fewer than ${q}`);
    const r = await this.o.rejects.reject(reservationId, { lines: [{ sku: line.sku, locationId, quantity: q, reason: 'not_found' }] });
    return { sku: line.sku, quantity: q, shipments: r.plan.shipments, unassigned: r.plan.unassigned, reservation: r.reservation };
  }

  async order(locationId: string, reservationId: string): Promise<QueueOrder> {
    const all = await this.list(locationId);
    const found = all.find((o) => o.reservationId === reservationId);
    if (found) return found;
    // Shipped or handed over (or all lines gone): no longer queued; answer its final state.
    const r = (await this.o.db.query<Record<string, unknown>>(
      `SELECT r.id, r.order_ref, r.channel, r.route_method, r.status AS reservation_status, r.created_at, r.expires_at, coalesce(s.status, 'new') AS status
         FROM reservations r LEFT JOIN store_order_status s ON s.reservation_id = r.id AND s.location_id = $2 WHERE r.id = $1`,
      [reservationId, locationId],
    ))[0];
    if (!r) throw new ReservationNotFound(reservationId);
    const lines = await this.o.db.query<{ line_no: number; sku: string; quantity: number; state: string }>(
      'SELECT line_no, sku, quantity, state FROM reservation_lines WHERE reservation_id = $1 AND location_id = $2 ORDER BY line_no', [reservationId, locationId],
    );
    const method: FulfilMethod = r.route_method === 'pickup' ? 'pickup' : 'ship';
    const created = iso(r.created_at);
    return {
      reservationId, orderRef: r.order_ref as string | null, channel: r.channel as string, method, status: r.status as StoreOrderStatus,
      createdAt: created, promisedBy: new Date(Date.parse(created) + PROMISE_MS[method]).toISOString(),
      reservationStatus: r.reservation_status as string, expiresAt: r.expires_at === null ? null : iso(r.expires_at),
      lines: lines.map((l) => ({ lineNo: l.line_no, sku: l.sku, quantity: l.quantity, state: l.state })),
    };
  }
}

function omitReroute(l: QueueLine): QueueLine {
  return { lineNo: l.lineNo, sku: l.sku, quantity: l.quantity, state: l.state };
}

/** Fulfils the reservation's active lines at one location; the reservation too once none is left anywhere. */
async function fulfilHere(tx: Sql, id: string, locationId: string, channel: string, nowIso: string): Promise<PositionKey[]> {
  const lines = await tx.query<{ line_no: number; sku: string; quantity: number }>(
    `UPDATE reservation_lines SET state = 'fulfilled', updated_at = $3
      WHERE reservation_id = $1 AND location_id = $2 AND state IN ('held', 'committed')
      RETURNING line_no, sku, quantity`,
    [id, locationId, nowIso],
  );
  // The same ledger rows (and ids) the reservation's own fulfil writes, so the two paths agree.
  const rows: LedgerRow[] = lines.map((l) => ({
    entryId: `res:${id}:fulfilled:${l.line_no}`, kind: 'reservation.fulfilled', sku: l.sku, locationId,
    occurredAt: Date.parse(nowIso), countQuantity: null, onHandDelta: -l.quantity, unavailableDelta: 0, missingDelta: 0,
    reservedDelta: -l.quantity, source: channel, reason: null, reservationId: id,
  }));
  const changed = rows.length > 0 ? (await writeLedger(tx, rows, { dedupe: false })).changed : [];
  await tx.query(
    `UPDATE reservations SET status = 'fulfilled', updated_at = $2
      WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM reservation_lines WHERE reservation_id = $1 AND state IN ('held', 'committed'))`,
    [id, nowIso],
  );
  return changed;
}
