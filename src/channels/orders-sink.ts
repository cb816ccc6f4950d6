// Orders placed on a channel (ChannelOrders port): routed by RoutingService.plan with `reserve`
// — the same code path as POST /v1/routing/plan, so contract §7's rules and each location's
// daily capacity apply — over the order's locationIds ?? the channel's pool, with or without
// destination (a marketplace order without coordinates: §7 step (2) skipped), and held as one
// committed reservation whose channel is the channel id. The held reservation is exactly the plan.
// Infeasible orders: the best partial plan is held (what can be, is reserved) and state is
// 'reserved'; the missing lines are quarantined with the reason. Nothing holdable (no stock in
// the pool, pickup store lacking a line, invalid order): 'unfulfillable', quarantined.
// Every callback is idempotent and order-tolerant through the channel_orders row:
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
import { MAX_TTL_SECONDS } from '../core/reservation.js';
import { PlanConflict, RoutingInvalid } from '../routing/errors.js';
import { planRequestErrors, planRequestSchema } from '../routing/plan-request.js';
import type { RoutingService } from '../routing/routing-service.js';
import { ReservationConflict, ReservationNotFound } from '../reservations/errors.js';
import type { ReservationService } from '../reservations/reservation-service.js';

export interface OrdersSinkDeps {
  db: Database;
  reservations: ReservationService;
  routing: RoutingService;
  ingest(events: StockEvent[]): Promise<IngestResult>;
  quarantine(items: QuarantinedItem[]): Promise<void>;
}

interface OrderRow {
  state: string;
  reservation_id: string | null;
  allocations: Array<{ sku: string; locationId: string; quantity: number }>;
  detail: string | null;
}

interface Held {
  allocations: Array<{ sku: string; locationId: string; quantity: number }>;
  unassigned: Array<{ sku: string; quantity: number }>;
  detail: string | undefined;
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

  /**
   * Routes and holds through RoutingService.plan with `reserve` (contract §7 rules, daily
   * capacity taken per shipment), restricted to the order's locationIds ?? the pool, with or
   * without destination; then commits the reservation (a channel's order does not expire: it
   * is released or fulfilled). holdPartial: an order the allowed locations cannot cover holds
   * its best partial plan; the rest is returned as unassigned (quarantined by `placed`).
   */
  private async hold(channelId: string, pool: readonly string[], o: ChannelOrder, reservationId: string): Promise<Held> {
    const lines = o.lines.map((l) => ({ sku: l.sku, quantity: l.quantity }));
    // A pickup store the customer named (the connector checked it is one of the channel's
    // locations) is allowed even when the pool leaves it out: it is the customer's choice.
    const allowed = new Set(o.locationIds ?? pool);
    if (o.method === 'pickup' && o.pickupLocationId !== undefined) allowed.add(o.pickupLocationId);
    const request = {
      orderRef: o.orderRef,
      channel: channelId,
      method: o.method,
      ...(o.destination !== undefined ? { destination: o.destination } : {}),
      ...(o.pickupLocationId !== undefined ? { pickupLocationId: o.pickupLocationId } : {}),
      locationIds: [...allowed],
      lines,
      reserve: { ttlSeconds: MAX_TTL_SECONDS, reservationId },
    };
    // The same validation as POST /v1/routing/plan: a bad order is unfulfillable, with the field named.
    const parsed = planRequestSchema.safeParse(request);
    if (!parsed.success) {
      const detail = planRequestErrors(parsed.error).map((e) => `${e.field.replace(/^body\./, 'order.')}: ${e.message}`).join('; ');
      return { allocations: [], unassigned: lines, detail };
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.deps.routing.plan(parsed.data, { channel: channelId, holdPartial: true });
        const allocations = r.shipments.flatMap((s) => s.lines.map((l) => ({ sku: l.sku, locationId: s.locationId, quantity: l.quantity })));
        if (r.reservationId !== null) {
          await this.deps.reservations.commit(r.reservationId).catch((err: unknown) => {
            if (!(err instanceof ReservationConflict)) throw err; // already committed by an earlier attempt
          });
        }
        const detail = r.unassigned.length > 0 ? `unassigned ${r.unassigned.map((u) => `${u.sku}×${u.quantity}`).join(', ')}` : undefined;
        if (r.reservationId === null) return { allocations: [], unassigned: lines, detail: detail ?? 'nothing to hold' };
        return { allocations, unassigned: r.unassigned, detail };
      } catch (err) {
        if (err instanceof RoutingInvalid) return { allocations: [], unassigned: lines, detail: err.message };
        if (err instanceof ReservationConflict) {
          // An earlier attempt (crash, concurrent redelivery, pool changed since) holds this order: use it.
          const view = await this.deps.reservations.get(reservationId);
          const allocations = view.lines.filter((l) => l.state !== 'rejected').map((l) => ({ sku: l.sku, locationId: l.locationId, quantity: l.quantity }));
          return { allocations, unassigned: [], detail: undefined };
        }
        // Stock moved twice between plan and hold (RoutingService re-plans once itself): try again, then give up.
        if (err instanceof PlanConflict && attempt < 3) continue;
        if (err instanceof PlanConflict) return { allocations: [], unassigned: lines, detail: err.message };
        throw err;
      }
    }
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
