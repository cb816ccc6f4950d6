// Reservations (contract §5) on the ledger: hold, commit, release, fulfil and expiry.
//
// Transactions and lock order (shared with the reconciler and routing):
//   reservations row → positions rows in (sku, location_id) order → location_capacity_usage.
// - Hold: one statement, `SELECT omnistock_hold(...)` (SQL function, migration 0001), which is
//   its own transaction: insert the reservation and its lines first (a new, private row; an
//   idempotent retry with the same id waits there on the unique index, holding nothing else),
//   then one conditional UPDATE per position, in (sku, location_id) order, each followed by its
//   ledger entry; the commit follows inside the server, so position rows stay locked for the
//   updates plus the commit and never across a client round trip. Concurrent holds share
//   that statement and its commit (`omnistock_hold_batch`, hold-batcher.ts): reservation rows
//   in id order, then all their positions locked in (sku, location_id) order, then each
//   reservation in its own subtransaction, so one that misses rolls back alone.
// - Transitions: one conditional `UPDATE reservations SET status … WHERE status IN (…)`; only
//   the actor whose update matched touches lines and positions, so two racing actors can never
//   both release (or release what the other committed).
// - Expiry: `SELECT … FOR UPDATE SKIP LOCKED` picks due holds no other runner is handling, and
//   the same conditional update releases them: safe with any number of service instances.
import { randomUUID } from 'node:crypto';
import type { Database, Sql } from '../db/database.js';
import { isRetriableDbError } from '../db/database.js';
import {
  ACTION_FROM, ACTION_TARGET, decideTransition, mergeLines, requestFingerprint, sortedByPosition,
  type HoldRequest, type LineState, type ReservationAction, type ReservationStatus, type ReservationView, type Shortage,
} from '../core/reservation.js';
import type { LedgerRow, PositionKey } from '../ledger/ledger-row.js';
import { writeLedger } from '../ledger/ledger-writer.js';
import { ReservationConflict, ReservationInvalid, ReservationNotFound, ReservationShortage } from './errors.js';
import { HoldBatcher } from './hold-batcher.js';
import { currentAtp, holdPositionsNaive, releasePositions, type ReservedLine } from './reserved-positions.js';

export interface ReservationServiceOptions {
  db: Database;
  /** The clock (tests inject one; expiry compares `expires_at` with it). */
  now?: () => Date;
  /**
   * `batched` (default): concurrent holds share one transaction (hold-batcher.ts). `single`: one
   * statement per hold. `naive`: SELECT … FOR UPDATE per line, then UPDATE. The last two exist
   * for the benchmark's comparison.
   */
  holdStrategy?: 'batched' | 'single' | 'naive';
  /** Called after commit with the positions whose reserved figure changed. */
  onChanged?: (keys: PositionKey[]) => void;
}

export interface HoldResult {
  /** False when an earlier request with the same id and body created it (idempotent retry). */
  created: boolean;
  reservation: ReservationView;
}

interface LineRow {
  reservation_id: string;
  line_no: number;
  sku: string;
  location_id: string;
  quantity: number;
  shipment_no: number | null;
  capacity_day: string | null;
}

/** Rolls a hold back; not an error anyone sees. */
class HoldMissed extends Error {
  constructor(readonly missed: PositionKey) {
    super('hold missed');
  }
}

/** The position a hold missed: from the naive path, or omnistock_hold's SQLSTATE OS409. */
function missedPosition(err: unknown): PositionKey | null {
  if (err instanceof HoldMissed) return err.missed;
  const e = err as { code?: string; detail?: string } | null;
  if (e?.code !== 'OS409') return null;
  try {
    const d = JSON.parse(e.detail ?? '{}') as { sku?: string; locationId?: string };
    return { sku: d.sku ?? '', locationId: d.locationId ?? '' };
  } catch {
    return { sku: '', locationId: '' };
  }
}

const MAX_ATTEMPTS = 3;
const EXPIRY_BATCH = 200;

export class ReservationService {
  private readonly now: () => Date;
  /** Counters for tests and the benchmark; `retries` counts serialization failures and deadlocks (expected: 0). */
  readonly stats = { held: 0, shortages: 0, expired: 0, retries: 0 };

  private readonly batcher: HoldBatcher;

  constructor(private readonly o: ReservationServiceOptions) {
    this.now = o.now ?? (() => new Date());
    this.batcher = new HoldBatcher(o.db, { onRetry: () => { this.stats.retries += 1; } });
  }

  async hold(req: HoldRequest): Promise<HoldResult> {
    const merged = mergeLines(req.lines);
    const id = req.reservationId ?? `res_${randomUUID()}`;
    const fingerprint = requestFingerprint(req, merged);
    const now = this.now();
    const nowIso = now.toISOString();
    const expiresAt = new Date(now.getTime() + req.ttlSeconds * 1000).toISOString();
    const lines: ReservedLine[] = sortedByPosition(merged).map((l) => ({
      reservationId: id, lineNo: l.lineNo, sku: l.sku, locationId: l.locationId, quantity: l.quantity,
    }));
    let outcome: 'held' | 'exists';
    try {
      outcome = await this.retrying(async () => {
        if (this.o.holdStrategy === 'naive') return this.holdNaive(id, req, fingerprint, expiresAt, nowIso, lines);
        if (this.o.holdStrategy === 'single') {
          // One statement, its own transaction: the commit follows the last position update
          // inside the server, with no client round trip while position rows are locked.
          const rows = await this.o.db.query<{ outcome: 'held' | 'exists' }>(
            `SELECT omnistock_hold($1, $2, $3, $4, $5, $6, $7, $8::int4[], $9::text[], $10::text[], $11::int8[]) AS outcome`,
            [id, req.channel, req.orderRef ?? null, fingerprint, req.ttlSeconds, expiresAt, nowIso,
              merged.map((l) => l.lineNo), merged.map((l) => l.sku), merged.map((l) => l.locationId), merged.map((l) => l.quantity)],
          );
          return rows[0]?.outcome ?? 'held';
        }
        // The same statement for many holds at once (group commit; see hold-batcher.ts). It
        // retries its own serialization failures, so `retrying` sees none from it.
        const r = await this.batcher.hold({
          id, channel: req.channel, orderRef: req.orderRef ?? null, fingerprint, ttlSeconds: req.ttlSeconds, expiresAt, now: nowIso,
          lines,
        });
        if (r.outcome === 'missed') throw new HoldMissed(r.missed);
        return r.outcome;
      });
    } catch (err) {
      const missed = missedPosition(err);
      if (missed) throw await this.shortageError(merged, missed);
      throw err;
    }

    if (outcome === 'exists') {
      const existing = await readReservation(this.o.db, id);
      if (!existing) throw new ReservationConflict(`reservation "${id}" is being changed concurrently; retry`);
      if (existing.fingerprint !== fingerprint) {
        throw new ReservationConflict(`reservationId "${id}" was already used with a different request`);
      }
      return { created: false, reservation: existing.view };
    }
    this.stats.held += 1;
    this.o.onChanged?.(lines.map((l) => ({ sku: l.sku, locationId: l.locationId })));
    return {
      created: true,
      reservation: {
        reservationId: id, status: 'held', channel: req.channel, orderRef: req.orderRef ?? null, ttlSeconds: req.ttlSeconds,
        expiresAt, releasedReason: null, createdAt: nowIso, updatedAt: nowIso,
        lines: merged.map((l) => ({ lineNo: l.lineNo, sku: l.sku, locationId: l.locationId, quantity: l.quantity, state: 'held' as LineState })),
      },
    };
  }

  async get(id: string): Promise<ReservationView> {
    const r = await readReservation(this.o.db, id);
    if (!r) throw new ReservationNotFound(id);
    return r.view;
  }

  commit(id: string): Promise<ReservationView> {
    return this.transition(id, 'commit');
  }

  release(id: string): Promise<ReservationView> {
    return this.transition(id, 'release');
  }

  fulfil(id: string): Promise<ReservationView> {
    return this.transition(id, 'fulfil');
  }

  /**
   * Releases held reservations whose `expiresAt` is at or before the clock, in batches, each
   * batch one transaction. Returns how many this call released.
   */
  async expireDue(opts: { batchSize?: number } = {}): Promise<number> {
    const batchSize = opts.batchSize ?? EXPIRY_BATCH;
    let total = 0;
    for (let round = 0; round < 1_000; round++) {
      const nowIso = this.now().toISOString();
      const r = await this.retrying(() =>
        this.o.db.transaction(async (tx) => {
          const due = await tx.query<{ id: string }>(
            `SELECT id FROM reservations WHERE status = 'held' AND expires_at <= $1
              ORDER BY expires_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
            [nowIso, batchSize],
          );
          if (due.length === 0) return { picked: 0, released: 0, changed: [] as PositionKey[] };
          const rel = await releaseHeld(tx, due.map((d) => d.id), 'expired', nowIso, 'reservation-expiry');
          return { picked: due.length, ...rel };
        }),
      );
      total += r.released;
      this.stats.expired += r.released;
      if (r.changed.length > 0) this.o.onChanged?.(r.changed);
      if (r.picked < batchSize) break;
    }
    return total;
  }

  private async transition(id: string, action: ReservationAction): Promise<ReservationView> {
    const target = ACTION_TARGET[action];
    const nowIso = this.now().toISOString();
    type Outcome =
      | { kind: 'done'; view: ReservationView; changed: PositionKey[] }
      | { kind: 'missing' }
      | { kind: 'forbidden'; status: ReservationStatus; reason: string | null }
      | { kind: 'expired'; expiresAt: string | null; changed: PositionKey[] };
    const outcome = await this.retrying(() =>
      this.o.db.transaction(async (tx): Promise<Outcome> => {
        const updated = await tx.query<{ channel: string }>(
          `UPDATE reservations
              SET status = $2, updated_at = $3,
                  expires_at = CASE WHEN $2 = 'committed' THEN NULL ELSE expires_at END,
                  released_reason = CASE WHEN $2 = 'released' THEN 'released' ELSE released_reason END
            WHERE id = $1 AND status = ANY($4::text[]) AND ($5::boolean OR status <> 'held' OR expires_at > $3)
            RETURNING channel`,
          [id, target, nowIso, ACTION_FROM[action], action === 'release'],
        );
        const channel = updated[0]?.channel;
        if (channel !== undefined) {
          const lines = await tx.query<LineRow>(
            `UPDATE reservation_lines SET state = $2, updated_at = $3
              WHERE reservation_id = $1 AND state IN ('held', 'committed')
              RETURNING reservation_id, line_no, sku, location_id, quantity, shipment_no, capacity_day::text AS capacity_day`,
            [id, target, nowIso],
          );
          let changed: PositionKey[] = [];
          if (action === 'release') {
            changed = await releasePositions(tx, lines.map(toReservedLine), nowIso, channel);
            await returnCapacity(tx, lines);
          } else if (action === 'fulfil') {
            changed = (await writeLedger(tx, lines.map((l) => fulfilmentRow(l, nowIso, channel)), { dedupe: false })).changed;
          }
          const view = (await readReservation(tx, id))?.view;
          if (!view) throw new Error(`reservation ${id} vanished inside its transaction`);
          return { kind: 'done', view, changed };
        }
        const current = await readReservation(tx, id);
        if (!current) return { kind: 'missing' };
        const decision = decideTransition(action, current.view.status);
        if (decision === 'already') return { kind: 'done', view: current.view, changed: [] };
        if (decision === 'forbidden') return { kind: 'forbidden', status: current.view.status, reason: current.view.releasedReason };
        // Still held but past its expiry (the job has not run yet): it is expired, so release it
        // now, as the job would, and refuse the commit or fulfilment.
        const rel = await releaseHeld(tx, [id], 'expired', nowIso, 'reservation-expiry');
        if (rel.released === 0) throw new ReservationConflict(`reservation "${id}" changed concurrently; retry`);
        this.stats.expired += 1;
        return { kind: 'expired', expiresAt: current.view.expiresAt, changed: rel.changed };
      }),
    );
    switch (outcome.kind) {
      case 'done':
        if (outcome.changed.length > 0) this.o.onChanged?.(outcome.changed);
        return outcome.view;
      case 'missing':
        throw new ReservationNotFound(id);
      case 'forbidden':
        throw new ReservationConflict(
          `cannot ${action} reservation "${id}": it is ${outcome.status}${outcome.reason && outcome.status === 'released' ? ` (${outcome.reason})` : ''}`,
        );
      case 'expired':
        if (outcome.changed.length > 0) this.o.onChanged?.(outcome.changed);
        throw new ReservationConflict(`cannot ${action} reservation "${id}": it expired at ${outcome.expiresAt ?? 'its deadline'} and was released`);
    }
  }

  /** The benchmark's comparison design: SELECT … FOR UPDATE per line, check in JS, UPDATE. */
  private holdNaive(id: string, req: HoldRequest, fingerprint: string, expiresAt: string, nowIso: string, lines: readonly ReservedLine[]): Promise<'held' | 'exists'> {
    return this.o.db.transaction(async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO reservations (id, channel, order_ref, status, request_fingerprint, ttl_seconds, expires_at, created_at, updated_at)
         VALUES ($1, $2, $3, 'held', $4, $5, $6, $7, $7) ON CONFLICT (id) DO NOTHING RETURNING id`,
        [id, req.channel, req.orderRef ?? null, fingerprint, req.ttlSeconds, expiresAt, nowIso],
      );
      if (inserted.length === 0) return 'exists' as const;
      await tx.query(
        `INSERT INTO reservation_lines (reservation_id, line_no, sku, location_id, quantity, state, created_at, updated_at)
         SELECT $1, v.line_no, v.sku, v.location_id, v.quantity, 'held', $2, $2
           FROM unnest($3::int4[], $4::text[], $5::text[], $6::int8[]) AS v(line_no, sku, location_id, quantity)`,
        [id, nowIso, lines.map((l) => l.lineNo), lines.map((l) => l.sku), lines.map((l) => l.locationId), lines.map((l) => l.quantity)],
      );
      const missed = await holdPositionsNaive(tx, lines, nowIso, req.channel);
      if (missed) throw new HoldMissed(missed);
      return 'held' as const;
    });
  }

  /**
   * The 409 body: every line whose current ATP is below its quantity (the missed one at least),
   * with that ATP; a 400 naming the field instead when a line names an unknown location.
   */
  private async shortageError(merged: ReturnType<typeof mergeLines>, missed: PositionKey): Promise<Error> {
    const atp = new Map((await currentAtp(this.o.db, merged)).map((a) => [`${a.sku}\u0000${a.locationId}`, a.available]));
    const available = (l: PositionKey) => atp.get(`${l.sku}\u0000${l.locationId}`);
    const unknown = merged.filter((l) => available(l) === null);
    if (unknown.length > 0) {
      return new ReservationInvalid(
        unknown.flatMap((l) => l.requestIndexes.map((i) => ({ field: `body.lines.${i}.locationId`, message: `unknown location "${l.locationId}"` }))),
      );
    }
    this.stats.shortages += 1;
    const short = merged.filter((l) => (available(l) ?? 0) < l.quantity || (l.sku === missed.sku && l.locationId === missed.locationId));
    const shortages: Shortage[] = short.map((l) => ({ sku: l.sku, locationId: l.locationId, requested: l.quantity, available: available(l) ?? 0 }));
    return new ReservationShortage(shortages);
  }

  private async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isRetriableDbError(err) || attempt >= MAX_ATTEMPTS) throw err;
        this.stats.retries += 1;
      }
    }
  }
}

function toReservedLine(l: LineRow): ReservedLine {
  return { reservationId: l.reservation_id, lineNo: l.line_no, sku: l.sku, locationId: l.location_id, quantity: l.quantity };
}

function fulfilmentRow(l: LineRow, nowIso: string, channel: string): LedgerRow {
  return {
    entryId: `res:${l.reservation_id}:fulfilled:${l.line_no}`, kind: 'reservation.fulfilled', sku: l.sku, locationId: l.location_id,
    occurredAt: Date.parse(nowIso), countQuantity: null, onHandDelta: -l.quantity, unavailableDelta: 0, missingDelta: 0,
    reservedDelta: -l.quantity, source: channel, reason: null, reservationId: l.reservation_id,
  };
}

/** Releases the given reservations if (still) held: status, lines, positions, capacity. */
async function releaseHeld(
  tx: Sql, ids: readonly string[], reason: 'expired' | 'released' | 'rejected', nowIso: string, source: string,
): Promise<{ released: number; changed: PositionKey[] }> {
  const released = (
    await tx.query<{ id: string }>(
      `UPDATE reservations SET status = 'released', released_reason = $2, updated_at = $3
        WHERE id = ANY($1::text[]) AND status = 'held' RETURNING id`,
      [ids, reason, nowIso],
    )
  ).map((r) => r.id);
  if (released.length === 0) return { released: 0, changed: [] };
  const lines = await tx.query<LineRow>(
    `UPDATE reservation_lines SET state = 'released', updated_at = $2
      WHERE reservation_id = ANY($1::text[]) AND state IN ('held', 'committed')
      RETURNING reservation_id, line_no, sku, location_id, quantity, shipment_no, capacity_day::text AS capacity_day`,
    [released, nowIso],
  );
  const changed = await releasePositions(tx, lines.map(toReservedLine), nowIso, source);
  await returnCapacity(tx, lines);
  return { released: released.length, changed };
}

/**
 * A released shipment does not ship: it gives back the daily capacity its routing took
 * (one unit per distinct shipment). Capacity rows are locked in (location_id, day) order,
 * after positions.
 */
async function returnCapacity(tx: Sql, lines: readonly LineRow[]): Promise<void> {
  const shipments = new Map<string, { locationId: string; day: string; ids: Set<string> }>();
  for (const l of lines) {
    if (!l.capacity_day) continue;
    const k = `${l.location_id}\u0000${l.capacity_day}`;
    const s = shipments.get(k) ?? { locationId: l.location_id, day: l.capacity_day, ids: new Set<string>() };
    s.ids.add(`${l.reservation_id}\u0000${l.shipment_no ?? `line-${l.line_no}`}`);
    shipments.set(k, s);
  }
  if (shipments.size === 0) return;
  const list = [...shipments.values()].sort((a, b) => (a.locationId !== b.locationId ? (a.locationId < b.locationId ? -1 : 1) : a.day < b.day ? -1 : 1));
  const params = [list.map((s) => s.locationId), list.map((s) => s.day), list.map((s) => s.ids.size)];
  await tx.query(
    `SELECT 1 FROM location_capacity_usage WHERE (location_id, day) IN (SELECT * FROM unnest($1::text[], $2::date[]))
      ORDER BY location_id, day FOR UPDATE`,
    params.slice(0, 2),
  );
  await tx.query(
    `UPDATE location_capacity_usage c SET used = greatest(0, c.used - v.n), updated_at = now()
       FROM unnest($1::text[], $2::date[], $3::int4[]) AS v(location_id, day, n)
      WHERE c.location_id = v.location_id AND c.day = v.day`,
    params,
  );
}

interface StoredReservation {
  view: ReservationView;
  fingerprint: string;
}

/** The reservation as GET shows it, or null. */
export async function readReservation(db: Sql, id: string): Promise<StoredReservation | null> {
  const rows = await db.query<{
    id: string; status: ReservationStatus; channel: string; order_ref: string | null; ttl_seconds: number; released_reason: string | null;
    request_fingerprint: string; expires_ms: number | null; created_ms: number; updated_ms: number;
    lines: Array<{ lineNo: number; sku: string; locationId: string; quantity: number; state: LineState }> | string;
  }>(
    `SELECT r.id, r.status, r.channel, r.order_ref, r.ttl_seconds, r.released_reason, r.request_fingerprint,
            (extract(epoch from r.expires_at) * 1000)::float8 AS expires_ms,
            (extract(epoch from r.created_at) * 1000)::float8 AS created_ms,
            (extract(epoch from r.updated_at) * 1000)::float8 AS updated_ms,
            coalesce((SELECT json_agg(json_build_object('lineNo', l.line_no, 'sku', l.sku, 'locationId', l.location_id,
                                                        'quantity', l.quantity, 'state', l.state) ORDER BY l.line_no)
                        FROM reservation_lines l WHERE l.reservation_id = r.id), '[]'::json) AS lines
       FROM reservations r WHERE r.id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return null;
  const iso = (ms: number) => new Date(Math.round(ms)).toISOString();
  const lines = typeof r.lines === 'string' ? (JSON.parse(r.lines) as Exclude<typeof r.lines, string>) : r.lines;
  return {
    fingerprint: r.request_fingerprint,
    view: {
      reservationId: r.id, status: r.status, channel: r.channel, orderRef: r.order_ref, ttlSeconds: r.ttl_seconds,
      expiresAt: r.expires_ms === null ? null : iso(r.expires_ms), releasedReason: r.released_reason,
      createdAt: iso(r.created_ms), updatedAt: iso(r.updated_ms), lines,
    },
  };
}

