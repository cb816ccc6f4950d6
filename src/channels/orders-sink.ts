// Orders placed on a channel (ChannelOrders port): routed over the channel's pool (contract §7's
// rules, via the same planner as POST /v1/routing/plan) and held as one committed reservation
// whose channel is the channel id. Every callback is idempotent and order-tolerant through the
// channel_orders row:
//   placed     no row → 'placing' → plan + hold (reservation id derived from the order, so a
//              retry after a crash holds nothing twice) → 'reserved' | 'unfulfillable'
//   cancelled  releases; with no row yet, leaves state 'cancelled' (a tombstone): the order's
//              later arrival reserves nothing. A cancel racing a placement wins: the placer
//              sees its row no longer 'placing' and releases what it held.
//   fulfilled  fulfils the reservation (the whole order); before the order, 'early-fulfilled',
//              and the order is fulfilled as soon as it is placed.
//   restocked  stock.returned events with ids from (channel, order, refund, line).
import { createHash } from 'node:crypto';
import type { Database } from '../db/database.js';
import type { ChannelOrder, ChannelOrders, OrderOutcome, OrderState, QuarantinedItem } from '../../connectors/channel-connector.js';
import type { StockEvent } from '../core/stock-event.js';
import type { IngestResult } from '../ingest/ingest-events.js';
import { planShip } from '../core/routing/plan-ship.js';
import { planPickup } from '../core/routing/plan-pickup.js';
import type { PlanResult } from '../core/routing/types.js';
import type { RoutingIndex } from '../routing/routing-index.js';
import { ReservationConflict, ReservationNotFound, ReservationShortage } from '../reservations/errors.js';
import type { ReservationService } from '../reservations/reservation-service.js';

export interface OrdersSinkDeps {
  db: Database;
  reservations: ReservationService;
  index: RoutingIndex;
  ingest(events: StockEvent[]): Promise<IngestResult>;
  quarantine(items: QuarantinedItem[]): Promise<void>;
}

interface OrderRow {
  state: string;
  reservation_id: string | null;
  allocations: Array<{ sku: string; locationId: string; quantity: number }>;
  detail: string | null;
}

const RESERVATION_ID = /^[A-Za-z0-9._:~-]{1,128}$/;

/** Deterministic, so a placement retried after a crash finds the reservation it made. */
export function orderReservationId(channelId: string, orderRef: string): string {
  const plain = `ch:${channelId}:${orderRef}`;
  if (RESERVATION_ID.test(plain)) return plain;
  return `ch:${channelId}:h.${createHash('sha256').update(orderRef).digest('base64url').slice(0, 40).replace(/[^A-Za-z0-9._~-]/g, '_')}`.slice(0, 128);
}

function outcome(orderRef: string, state: OrderState, row: Partial<OrderRow> | null, duplicate: boolean, detail?: string | null): OrderOutcome {
  const d = detail ?? row?.detail ?? undefined;
  return {
    orderRef, state, duplicate,
    reservationId: row?.reservation_id ?? null,
    allocations: row?.allocations ?? [],
    ...(d ? { detail: d } : {}),
  };
}

function publicState(s: string): OrderState {
  if (s === 'reserved' || s === 'unfulfillable' || s === 'cancelled' || s === 'fulfilled') return s;
  return s === 'early-fulfilled' ? 'fulfilled' : 'reserved';
}

export class OrdersSink {
  constructor(private readonly deps: OrdersSinkDeps) {}

  forChannel(channelId: string, pool: () => readonly string[]): ChannelOrders {
    return {
      placed: (o) => this.placed(channelId, pool(), o),
      cancelled: (ref) => this.cancelled(channelId, ref),
      fulfilled: (ref) => this.fulfilled(channelId, ref),
      restocked: (ref, refundRef, lines, at) => this.restocked(channelId, ref, refundRef, lines, at),
    };
  }

  private async row(channelId: string, orderRef: string): Promise<OrderRow | null> {
    const rows = await this.deps.db.query<OrderRow>('SELECT state, reservation_id, allocations, detail FROM channel_orders WHERE channel_id = $1 AND order_ref = $2', [channelId, orderRef]);
    return rows[0] ?? null;
  }

  async placed(channelId: string, pool: readonly string[], o: ChannelOrder): Promise<OrderOutcome> {
    const { db } = this.deps;
    const inserted = await db.query('INSERT INTO channel_orders (channel_id, order_ref, state) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1', [channelId, o.orderRef, 'placing']);
    let fulfilAfter = false;
    if (inserted.length === 0) {
      const row = await this.row(channelId, o.orderRef);
      if (!row) throw new Error(`channel order ${o.orderRef} vanished`);
      if (row.state === 'early-fulfilled') {
        fulfilAfter = true;
      } else if (row.state !== 'placing') {
        return outcome(o.orderRef, publicState(row.state), row, true);
      }
    }
    const reservationId = orderReservationId(channelId, o.orderRef);
    const held = await this.hold(channelId, pool, o, reservationId);
    const state = held.allocations.length > 0 ? 'reserved' : 'unfulfillable';
    const updated = await db.query<OrderRow>(
      `UPDATE channel_orders SET state = $3, reservation_id = $4, allocations = $5::jsonb, detail = $6, updated_at = now()
        WHERE channel_id = $1 AND order_ref = $2 AND state IN ('placing', 'early-fulfilled')
        RETURNING state, reservation_id, allocations, detail`,
      [channelId, o.orderRef, state, held.allocations.length > 0 ? reservationId : null, JSON.stringify(held.allocations), held.detail ?? null],
    );
    if (updated.length === 0) {
      // Cancelled while we were placing it: give back what we held.
      await this.release(reservationId);
      const row = await this.row(channelId, o.orderRef);
      return outcome(o.orderRef, publicState(row?.state ?? 'cancelled'), row, true);
    }
    if (held.unassigned.length > 0) {
      await this.deps.quarantine([{ channelRef: o.orderRef, reason: `order lines could not be routed over the channel's pool: ${held.detail}`, payload: o }]);
    }
    if (fulfilAfter) return this.fulfilled(channelId, o.orderRef);
    return outcome(o.orderRef, state, updated[0]!, false);
  }

  private async hold(channelId: string, pool: readonly string[], o: ChannelOrder, reservationId: string) {
    const allowed = new Set(o.locationIds ?? pool);
    const lines = o.lines.map((l) => ({ sku: l.sku, quantity: l.quantity }));
    const skus = [...new Set(lines.map((l) => l.sku))];
    const exclude = (await this.deps.db.query<{ id: string }>('SELECT id FROM locations WHERE NOT (id = ANY($1::text[]))', [[...allowed]])).map((r) => r.id);
    const destination = o.destination ?? (await this.centroid([...allowed]));
    for (let attempt = 1; ; attempt++) {
      let plan: PlanResult;
      try {
        plan = this.plan(o, lines, destination, exclude);
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
        return { allocations: [], unassigned: lines, detail: err.message };
      }
      const allocations = plan.shipments.flatMap((s) => s.lines.map((l) => ({ sku: l.sku, locationId: s.locationId, quantity: l.quantity })));
      const detail = plan.unassigned.length > 0 ? `unassigned ${plan.unassigned.map((u) => `${u.sku}×${u.quantity}`).join(', ')}` : undefined;
      if (allocations.length === 0) return { allocations, unassigned: plan.unassigned, detail: detail ?? 'nothing to hold' };
      try {
        // Committed at once: a channel's order does not expire; it is released or fulfilled.
        await this.deps.reservations.hold({ reservationId, channel: channelId, orderRef: o.orderRef, ttlSeconds: 3600, lines: allocations });
        await this.deps.reservations.commit(reservationId).catch((err: unknown) => {
          if (!(err instanceof ReservationConflict)) throw err; // already committed by an earlier attempt
        });
        return { allocations, unassigned: plan.unassigned, detail };
      } catch (err) {
        if (err instanceof ReservationConflict) {
          // An earlier attempt (crash, concurrent redelivery) already holds this order: use it.
          const view = await this.deps.reservations.get(reservationId);
          return { allocations: view.lines.map((l) => ({ sku: l.sku, locationId: l.locationId, quantity: l.quantity })), unassigned: [], detail: undefined };
        }
        if (!(err instanceof ReservationShortage) || attempt >= 2) {
          if (err instanceof ReservationShortage) return { allocations: [], unassigned: lines, detail: err.message };
          throw err;
        }
        await this.deps.index.refreshSkus(skus, [...allowed]);
      }
    }
  }

  private plan(o: ChannelOrder, lines: Array<{ sku: string; quantity: number }>, destination: { lat: number; lon: number }, exclude: string[]): PlanResult {
    const index = this.deps.index.index;
    if (o.method === 'pickup') {
      return planPickup({ lines, ...(o.pickupLocationId ? { pickupLocationId: o.pickupLocationId } : { destination }) }, index);
    }
    return planShip({ lines, destination }, index, { excludeLocationIds: exclude });
  }

  /** An order without coordinates (a marketplace order) is routed from the pool's centre. */
  private async centroid(ids: string[]): Promise<{ lat: number; lon: number }> {
    const rows = await this.deps.db.query<{ lat: number; lon: number }>('SELECT avg(lat)::float8 AS lat, avg(lon)::float8 AS lon FROM locations WHERE id = ANY($1::text[])', [ids]);
    const r = rows[0];
    return r && r.lat !== null && r.lon !== null ? { lat: Number(r.lat), lon: Number(r.lon) } : { lat: 0, lon: 0 };
  }

  private async release(reservationId: string): Promise<void> {
    try {
      await this.deps.reservations.release(reservationId);
    } catch (err) {
      if (!(err instanceof ReservationNotFound) && !(err instanceof ReservationConflict)) throw err;
    }
  }

  async cancelled(channelId: string, orderRef: string): Promise<OrderOutcome> {
    const before = await this.deps.db.transaction(async (tx) => {
      const rows = await tx.query<OrderRow>('SELECT state, reservation_id, allocations, detail FROM channel_orders WHERE channel_id = $1 AND order_ref = $2 FOR UPDATE', [channelId, orderRef]);
      const row = rows[0] ?? null;
      if (!row) {
        await tx.query('INSERT INTO channel_orders (channel_id, order_ref, state, tombstone) VALUES ($1, $2, $3, true)', [channelId, orderRef, 'cancelled']);
      } else if (row.state !== 'cancelled' && row.state !== 'fulfilled') {
        await tx.query("UPDATE channel_orders SET state = 'cancelled', updated_at = now() WHERE channel_id = $1 AND order_ref = $2", [channelId, orderRef]);
      }
      return row;
    });
    if (!before) return outcome(orderRef, 'tombstone', null, false);
    if (before.state === 'cancelled' || before.state === 'fulfilled') return outcome(orderRef, publicState(before.state), before, true);
    // Also when 'placing': a crashed placer may have held it (the id is deterministic).
    await this.release(orderReservationId(channelId, orderRef));
    return outcome(orderRef, 'cancelled', before, false);
  }

  async fulfilled(channelId: string, orderRef: string): Promise<OrderOutcome> {
    const { db } = this.deps;
    const inserted = await db.query('INSERT INTO channel_orders (channel_id, order_ref, state) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1', [channelId, orderRef, 'early-fulfilled']);
    if (inserted.length > 0) return outcome(orderRef, 'fulfilled', null, false, 'fulfilment arrived before the order; applied when the order arrives');
    const row = await this.row(channelId, orderRef);
    if (!row || row.state !== 'reserved' || !row.reservation_id) return outcome(orderRef, publicState(row?.state ?? 'fulfilled'), row, true);
    try {
      await this.deps.reservations.fulfil(row.reservation_id);
    } catch (err) {
      if (!(err instanceof ReservationConflict)) throw err; // fulfilled already by a concurrent delivery
    }
    await db.query("UPDATE channel_orders SET state = 'fulfilled', updated_at = now() WHERE channel_id = $1 AND order_ref = $2 AND state = 'reserved'", [channelId, orderRef]);
    return outcome(orderRef, 'fulfilled', row, false);
  }

  async restocked(channelId: string, orderRef: string, refundRef: string, lines: Array<{ sku: string; locationId: string; quantity: number }>, occurredAt: string): Promise<OrderOutcome> {
    const events = lines.map((l, i) => ({
      eventId: `ch:${channelId}:${orderRef}:refund:${refundRef}:${i}`.slice(0, 128),
      type: 'stock.returned' as const, sku: l.sku, locationId: l.locationId, quantity: l.quantity, sellable: true,
      occurredAt, source: `channel:${channelId}`,
    }));
    const r = await this.deps.ingest(events);
    const row = await this.row(channelId, orderRef);
    const detail = r.rejected.length > 0 ? r.rejected.map((x) => x.error).join('; ') : undefined;
    if (r.rejected.length > 0) await this.deps.quarantine([{ channelRef: `${orderRef}/${refundRef}`, reason: `refund restock refused: ${detail}`, payload: lines }]);
    return outcome(orderRef, publicState(row?.state ?? 'fulfilled'), row, r.accepted === 0 && r.rejected.length === 0, detail);
  }
}
