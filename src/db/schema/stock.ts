// Tables of the spine: locations, positions, the append-only ledger and the reconciler's
// bookkeeping. Quantities are bigint (parsed to JS numbers by both drivers).
import { sql } from 'drizzle-orm';
import {
  bigint, bigserial, boolean, check, customType, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp,
} from 'drizzle-orm/pg-core';

const qty = (name: string) => bigint(name, { mode: 'number' });
/**
 * An identifier compared byte-wise (migration 0010): index comparisons skip the locale, and
 * ORDER BY agrees with JavaScript's sort, so every writer locks positions in the same order.
 */
export const keyText = customType<{ data: string }>({ dataType: () => 'text COLLATE "C"' });
const ts = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'string' });

export const locations = pgTable('locations', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  type: text('type', { enum: ['store', 'warehouse'] }).notNull(),
  lat: doublePrecision('lat').notNull(),
  lon: doublePrecision('lon').notNull(),
  shipFromStore: boolean('ship_from_store').notNull().default(false),
  pickup: boolean('pickup').notNull().default(false),
  rank: integer('rank').notNull().default(100),
  dailyCapacity: integer('daily_capacity'),
  safetyStock: integer('safety_stock').notNull().default(0),
  active: boolean('active').notNull().default(true),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

// fillfactor 80 (migration 0010): room on each page for an update to stay there (HOT).
export const positions = pgTable(
  'positions',
  {
    sku: keyText('sku').notNull(),
    // No foreign key: its per-row lookup cost about an eighth of the database's work per event
    // while positions were being created. A statement-level trigger (migration 0011) checks new
    // rows' locations in one join instead, and a row trigger keeps a location with positions
    // from being deleted or re-keyed.
    locationId: keyText('location_id').notNull(),
    onHand: qty('on_hand').notNull().default(0),
    unavailable: qty('unavailable').notNull().default(0),
    /** Units a store reported as not found; unavailable until a later count. */
    missing: qty('missing').notNull().default(0),
    reserved: qty('reserved').notNull().default(0),
    countAt: ts('count_at'),
    countEventId: text('count_event_id'),
    countQuantity: qty('count_quantity'),
    /** Set when a store could not find units; cleared by a count taken after it. */
    countRequestedAt: ts('count_requested_at'),
    /** True only when the reconciler folded in sales beyond what was reserved (§6 "oversold"). */
    oversold: boolean('oversold').notNull().default(false),
    /**
     * The earliest occurredAt among the movements of the batch that last changed this row
     * incrementally. The reconciler's single upsert passes it in and applies the batch only if
     * it is later than the count in force; otherwise the row takes the exact (recount) path.
     */
    batchFrom: ts('batch_from'),
    version: bigint('version', { mode: 'number' }).notNull().default(0),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.sku, t.locationId] }),
    index('positions_location_idx').on(t.locationId),
    check('positions_reserved_nonnegative', sql`${t.reserved} >= 0`),
    // The database itself refuses a reservation beyond what is physically available. Only the
    // reconciler, folding in sales that already happened, may record an oversold position, and
    // it must say so in the same row. With nothing reserved there is nothing to oversell: on hand
    // itself may go negative (§6).
    check('positions_reserved_within_stock', sql`${t.oversold} OR ${t.reserved} = 0 OR ${t.reserved} <= ${t.onHand} - ${t.unavailable} - ${t.missing}`),
  ],
);

export const ledgerEntries = pgTable(
  'ledger_entries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** The stock event id, or the reservation step that wrote this entry. */
    eventId: keyText('event_id').notNull(),
    kind: text('kind').notNull(),
    sku: keyText('sku').notNull(),
    locationId: keyText('location_id').notNull(),
    occurredAt: ts('occurred_at').notNull(),
    countQuantity: qty('count_quantity'),
    onHandDelta: qty('on_hand_delta').notNull().default(0),
    unavailableDelta: qty('unavailable_delta').notNull().default(0),
    missingDelta: qty('missing_delta').notNull().default(0),
    reservedDelta: qty('reserved_delta').notNull().default(0),
    source: text('source'),
    reason: text('reason'),
    reservationId: text('reservation_id'),
    recordedAt: ts('recorded_at').notNull().defaultNow(),
  },
  (t) => [index('ledger_position_time_idx').on(t.sku, t.locationId, t.occurredAt)],
);

export const processedEvents = pgTable('processed_events', {
  eventId: keyText('event_id').primaryKey(),
  appliedAt: ts('applied_at').notNull().defaultNow(),
});

export const consumerOffsets = pgTable(
  'consumer_offsets',
  {
    consumerGroup: text('consumer_group').notNull(),
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    /** The next offset to read: everything below it is applied. */
    nextOffset: bigint('next_offset', { mode: 'number' }).notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.consumerGroup, t.topic, t.partition] })],
);

export const deadLetters = pgTable(
  'dead_letters',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    topic: text('topic').notNull(),
    partition: integer('partition').notNull(),
    offset: bigint('offset', { mode: 'number' }).notNull(),
    key: text('key'),
    payload: text('payload').notNull(),
    reason: text('reason').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [index('dead_letters_position_idx').on(t.topic, t.partition, t.offset)],
);

export const channels = pgTable('channels', {
  id: text('id').primaryKey(),
  kind: text('kind', { enum: ['shopify', 'amazon', 'pos', 'square', 'custom'] }).notNull(),
  pool: jsonb('pool').$type<string[]>().notNull().default([]),
  bufferUnits: integer('buffer_units').notNull().default(0),
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** The embedded deployment's durable log: one table, topics as a column, offsets as `seq`. */
export const logMessages = pgTable(
  'log_messages',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    topic: text('topic').notNull(),
    key: text('key'),
    payload: text('payload').notNull(),
    appendedAt: ts('appended_at').notNull().defaultNow(),
  },
  (t) => [index('log_messages_topic_seq_idx').on(t.topic, t.seq)],
);
