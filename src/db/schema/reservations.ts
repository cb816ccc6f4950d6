// Reservations (contract §5) and the daily shipment capacity routing consumes (§7).
//
// Lock order shared by every writer that touches these tables together:
//   reservations row(s) → positions rows in (sku, location_id) order → location_capacity_usage
//   rows in (location_id, day) order.
// A hold inserts its (new, private) reservation row first and updates positions last, right
// before COMMIT, so position rows stay locked for as short a time as possible.
import { sql } from 'drizzle-orm';
import { bigint, check, date, doublePrecision, index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { keyText, locations } from './stock.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'string' });

export const RESERVATION_STATUSES = ['held', 'committed', 'released', 'fulfilled'] as const;
/** A line's own state; `rejected` lines were given back by the store (re-routed elsewhere). */
export const RESERVATION_LINE_STATES = ['held', 'committed', 'released', 'fulfilled', 'rejected'] as const;

export const reservations = pgTable(
  'reservations',
  {
    id: text('id').primaryKey(),
    channel: text('channel').notNull(),
    orderRef: text('order_ref'),
    status: text('status', { enum: RESERVATION_STATUSES }).notNull().default('held'),
    /** SHA-256 of the normalised request: the same id with another body is a conflict. */
    requestFingerprint: text('request_fingerprint').notNull(),
    ttlSeconds: integer('ttl_seconds').notNull(),
    /** When a held reservation lapses; null once committed (it no longer expires). */
    expiresAt: ts('expires_at'),
    /** Why it was released: 'released' (asked to), 'expired' (the expiry job), 'rejected' (no line left). */
    releasedReason: text('released_reason'),
    /** Routing reservations: 'ship' or 'pickup' and the destination, so a store's reject can re-route. */
    routeMethod: text('route_method'),
    destinationLat: doublePrecision('destination_lat'),
    destinationLon: doublePrecision('destination_lon'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    check('reservations_status_valid', sql`${t.status} IN ('held', 'committed', 'released', 'fulfilled')`),
    check('reservations_held_expires', sql`${t.status} <> 'held' OR ${t.expiresAt} IS NOT NULL`),
    // The expiry job's scan: only held rows, oldest deadline first.
    index('reservations_held_expiry_idx').on(t.expiresAt).where(sql`${t.status} = 'held'`),
    index('reservations_order_idx').on(t.channel, t.orderRef),
  ],
);

/**
 * One line per (sku, location) of a reservation as held. A reservation can gain lines later
 * (re-routing after a store rejects units): new lines take the next `line_no`, may name the
 * line they replace, and are grouped into shipments by `shipment_no`.
 */
export const reservationLines = pgTable(
  'reservation_lines',
  {
    reservationId: text('reservation_id').notNull().references(() => reservations.id),
    lineNo: integer('line_no').notNull(),
    sku: keyText('sku').notNull(),
    // No foreign key to locations on purpose: hundreds of concurrent holds at one location
    // would all take KEY SHARE on the same locations row (multixacts). A hold only succeeds
    // against an existing position, whose own foreign key proves the location exists.
    locationId: keyText('location_id').notNull(),
    quantity: bigint('quantity', { mode: 'number' }).notNull(),
    state: text('state', { enum: RESERVATION_LINE_STATES }).notNull().default('held'),
    /** Lines shipped together from one location share a number (routing); null when not routed. */
    shipmentNo: integer('shipment_no'),
    /** The day whose capacity this line's shipment consumed (routing); null when none. */
    capacityDay: date('capacity_day', { mode: 'string' }),
    /** For a re-routed line: the line whose rejected units it takes over. */
    replacesLineNo: integer('replaces_line_no'),
    /** Why the line left its state (e.g. the store's reject reason). */
    reason: text('reason'),
    createdAt: ts('created_at').notNull().defaultNow(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.reservationId, t.lineNo] }),
    check('reservation_lines_quantity_positive', sql`${t.quantity} > 0`),
    check('reservation_lines_state_valid', sql`${t.state} IN ('held', 'committed', 'released', 'fulfilled', 'rejected')`),
    index('reservation_lines_position_idx').on(t.sku, t.locationId),
  ],
);

/** Shipments assigned per location and day, against `locations.daily_capacity`. */
export const locationCapacityUsage = pgTable(
  'location_capacity_usage',
  {
    locationId: text('location_id').notNull().references(() => locations.id),
    day: date('day', { mode: 'string' }).notNull(),
    used: integer('used').notNull().default(0),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.locationId, t.day] }), check('location_capacity_usage_used_nonnegative', sql`${t.used} >= 0`)],
);
