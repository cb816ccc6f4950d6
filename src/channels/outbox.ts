// The push outbox in the database (crash-safe: a pending figure survives any restart).
//
// One row per (channel, sku, channel location). Enqueueing UPSERTs the latest figure and bumps
// `version` when it changed, so many changes coalesce into one push and the latest wins. A
// pusher leases due rows, pushes the figures it read, and settles each: an acknowledgement
// records `acked_quantity` (what the channel now shows) but marks the row done only if
// `version` did not move meanwhile; otherwise the row stays pending and its newer figure goes
// next. Rows of one channel are leased by one pusher at a time, so pushes of a row never
// overlap and a stale higher figure is never pushed after a newer lower one; a lease that
// outlives a hung call is still guarded by the channel's compare-and-set (`expected`).
import { createHash } from 'node:crypto';
import type { Sql } from '../db/database.js';
import type { Figure } from './channel-figures.js';

export interface OutboxRow {
  sku: string;
  channelLocation: string;
  quantity: number;
  version: number;
  ackedQuantity: number | null;
  attempts: number;
  priority: number;
}

export type Settlement =
  | { kind: 'ok'; row: OutboxRow }
  /** The channel showed `actual`, not what we expected: retry at once with it as expected. */
  | { kind: 'stale'; row: OutboxRow; actual: number; error: string; delayMs: number }
  /** `maybeSubmitted`: the push intent stays, so unknown submissions are awaited before the retry. */
  | { kind: 'retry'; row: OutboxRow; error: string; delayMs: number; maybeSubmitted?: boolean }
  /** Not listed on the channel, or refused for good: parked until a new figure or a sync. */
  | { kind: 'park'; row: OutboxRow; error: string }
  /** Taken into an asynchronous submission: polled from `pollInMs` on, settled by its result. */
  | { kind: 'submitted'; row: OutboxRow; submissionId: string; index: number; pollInMs: number }
  /** Not attempted: the lease is given back, no attempt counted. */
  | { kind: 'deferred'; row: OutboxRow };

const CHUNK = 5_000;

// Every statement that writes many outbox rows takes their row locks in key order, so the
// publisher's upsert and a pusher's settle on another connection cannot deadlock each other
// (they did: 40P01 in CI). $1 is the channel, $2/$3 the sku and location arrays.
const LOCK_IN_KEY_ORDER = `SELECT o.sku, o.channel_location FROM channel_outbox o
   JOIN unnest($2::text[], $3::text[]) AS k(sku, loc) ON o.sku = k.sku AND o.channel_location = k.loc
  WHERE o.channel_id = $1 ORDER BY o.sku, o.channel_location FOR UPDATE OF o`;

/** Upserts figures; answers how many rows got a new figure. A parked row is tried again only with a new figure (or on sync). */
export async function enqueueFigures(db: Sql, channelId: string, figures: readonly Figure[], lowStockThreshold: number): Promise<number> {
  let changed = 0;
  for (let i = 0; i < figures.length; i += CHUNK) {
    const part = figures.slice(i, i + CHUNK);
    const rows = await db.query(
      `INSERT INTO channel_outbox AS o (channel_id, sku, channel_location, quantity, version, priority)
       SELECT $1, u.sku, u.loc, u.q, 1, CASE WHEN u.q <= $2 THEN 0 ELSE 1 END
         FROM unnest($3::text[], $4::text[], $5::int[]) AS u(sku, loc, q)
        ORDER BY u.sku, u.loc
       ON CONFLICT (channel_id, sku, channel_location) DO UPDATE SET
         quantity = EXCLUDED.quantity,
         version = o.version + 1,
         priority = CASE WHEN EXCLUDED.quantity = 0 AND o.acked_quantity IS DISTINCT FROM 0 THEN 0
                         WHEN EXCLUDED.quantity <= $2 AND COALESCE(o.acked_quantity, 2147483647) > $2 THEN 0
                         ELSE 1 END,
         attempts = 0, not_before = now(), parked = NULL, updated_at = now()
       WHERE o.quantity IS DISTINCT FROM EXCLUDED.quantity
       RETURNING 1`,
      [channelId, lowStockThreshold, part.map((f) => f.sku), part.map((f) => f.channelLocation), part.map((f) => f.quantity)],
    );
    changed += rows.length;
  }
  return changed;
}

function toRow(r: Record<string, unknown>): OutboxRow {
  return {
    sku: r.sku as string,
    channelLocation: r.channel_location as string,
    quantity: Number(r.quantity),
    version: Number(r.version),
    ackedQuantity: r.acked_quantity === null ? null : Number(r.acked_quantity),
    attempts: Number(r.attempts),
    priority: Number(r.priority),
  };
}

/**
 * Leases up to `limit` due rows, urgent first. `markIntent`: the rows record that a push is
 * starting (push_intent_at), kept until it is settled, so a crash before then is noticed.
 */
export async function leaseDue(db: Sql, channelId: string, limit: number, leaseMs: number, markIntent = false): Promise<OutboxRow[]> {
  const rows = await db.query<Record<string, unknown>>(
    `WITH due AS (
       SELECT sku, channel_location FROM channel_outbox
        WHERE channel_id = $1 AND version > acked_version AND parked IS NULL AND not_before <= now()
          AND (leased_until IS NULL OR leased_until < now()) AND submission IS NULL AND push_intent_at IS NULL
        ORDER BY priority, not_before LIMIT $2 FOR UPDATE SKIP LOCKED)
     UPDATE channel_outbox o SET leased_until = now() + $3 * interval '1 millisecond',
            push_intent_at = CASE WHEN $4::boolean THEN now() END
       FROM due WHERE o.channel_id = $1 AND o.sku = due.sku AND o.channel_location = due.channel_location
     RETURNING o.sku, o.channel_location, o.quantity, o.version, o.acked_quantity, o.attempts, o.priority`,
    [channelId, limit, leaseMs, markIntent],
  );
  return rows.map(toRow).sort((a, b) => a.priority - b.priority);
}

/** How many rows are due for a push now, counting at most `cap` (a publisher sizing its batches by volume). */
export async function countDue(db: Sql, channelId: string, cap: number): Promise<number> {
  const rows = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM channel_outbox
        WHERE channel_id = $1 AND version > acked_version AND parked IS NULL AND not_before <= now()
          AND (leased_until IS NULL OR leased_until < now()) AND submission IS NULL AND push_intent_at IS NULL LIMIT $2) d`,
    [channelId, cap],
  );
  return Number(rows[0]?.n ?? 0);
}

/** When the next row becomes due (ms from now; 0 = now), or null when nothing is pending. */
export async function nextDueInMs(db: Sql, channelId: string): Promise<number | null> {
  const rows = await db.query<{ ms: number | null }>(
    `SELECT GREATEST(0, EXTRACT(EPOCH FROM (min(GREATEST(not_before, COALESCE(leased_until, not_before))) - now())) * 1000)::float8 AS ms
       FROM channel_outbox WHERE channel_id = $1 AND version > acked_version AND parked IS NULL`,
    [channelId],
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? null : Number(ms);
}

export async function settle(db: Sql, channelId: string, results: readonly Settlement[]): Promise<void> {
  if (results.length === 0) return;
  // A settlement of a submitted row names the submitted version and figure (row.version and
  // row.quantity), so `o.version = u.v` still tells whether a newer figure arrived meanwhile.
  await db.query(
    `WITH locked AS MATERIALIZED (${LOCK_IN_KEY_ORDER})
     UPDATE channel_outbox o SET
       acked_quantity = CASE u.kind WHEN 'ok' THEN u.q WHEN 'stale' THEN u.actual ELSE o.acked_quantity END,
       acked_version = CASE WHEN u.kind = 'ok' AND o.version = u.v THEN u.v ELSE o.acked_version END,
       acked_at = CASE WHEN u.kind = 'ok' THEN now() ELSE o.acked_at END,
       attempts = CASE WHEN u.kind = 'ok' THEN 0 WHEN u.kind IN ('submitted', 'deferred') THEN o.attempts ELSE o.attempts + 1 END,
       not_before = CASE WHEN u.kind IN ('retry', 'stale') AND o.version = u.v THEN now() + u.delay * interval '1 millisecond'
                         WHEN u.kind IN ('submitted', 'deferred') THEN o.not_before ELSE now() END,
       parked = CASE WHEN u.kind = 'park' AND o.version = u.v THEN u.err ELSE o.parked END,
       last_error = CASE WHEN u.kind = 'ok' THEN NULL WHEN u.kind IN ('submitted', 'deferred') THEN o.last_error ELSE u.err END,
       leased_until = CASE WHEN u.kind = 'submitted' THEN now() + u.delay * interval '1 millisecond' ELSE NULL END,
       submission = CASE WHEN u.kind = 'submitted' THEN u.sub END,
       submission_index = CASE WHEN u.kind = 'submitted' THEN u.idx END,
       submitted_version = CASE WHEN u.kind = 'submitted' THEN u.v END,
       submitted_quantity = CASE WHEN u.kind = 'submitted' THEN u.q END,
       submitted_at = CASE WHEN u.kind = 'submitted' THEN now() END,
       push_intent_at = CASE WHEN u.maybe THEN o.push_intent_at END,
       updated_at = now()
     FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::int[], $7::int[], $8::text[], $9::int[], $10::text[], $11::int[], $12::boolean[])
       AS u(sku, loc, v, kind, q, actual, err, delay, sub, idx, maybe), locked
     WHERE o.channel_id = $1 AND o.sku = u.sku AND o.channel_location = u.loc
       AND locked.sku = u.sku AND locked.channel_location = u.loc`,
    [
      channelId,
      results.map((r) => r.row.sku),
      results.map((r) => r.row.channelLocation),
      results.map((r) => r.row.version),
      results.map((r) => r.kind),
      results.map((r) => r.row.quantity),
      results.map((r) => (r.kind === 'stale' ? r.actual : null)),
      results.map((r) => (r.kind === 'ok' || r.kind === 'submitted' || r.kind === 'deferred' ? null : r.error.slice(0, 1000))),
      results.map((r) => (r.kind === 'retry' || r.kind === 'stale' ? Math.round(r.delayMs) : r.kind === 'submitted' ? Math.round(r.pollInMs) : 0)),
      results.map((r) => (r.kind === 'submitted' ? r.submissionId : null)),
      results.map((r) => (r.kind === 'submitted' ? r.index : null)),
      results.map((r) => r.kind === 'retry' && r.maybeSubmitted === true),
    ],
  );
}

export interface Submission {
  id: string;
  /** In the order the push call carried them, with the version and figure submitted. */
  rows: OutboxRow[];
}

/**
 * Claims one submission due for a poll (its lease expired: the poll time came, or the process
 * that polled it died) for `claimMs`, or null. The lease check is repeated on the locked rows,
 * so two processes never poll one submission at once.
 */
export async function claimSubmission(db: Sql, channelId: string, claimMs: number): Promise<Submission | null> {
  const rows = await db.query<Record<string, unknown>>(
    `WITH due AS (
       SELECT submission FROM channel_outbox
        WHERE channel_id = $1 AND submission IS NOT NULL AND (leased_until IS NULL OR leased_until < now())
        ORDER BY leased_until NULLS FIRST LIMIT 1),
     locked AS MATERIALIZED (
       SELECT o.sku, o.channel_location FROM channel_outbox o, due
        WHERE o.channel_id = $1 AND o.submission = due.submission ORDER BY o.sku, o.channel_location FOR UPDATE OF o)
     UPDATE channel_outbox o SET leased_until = now() + $2 * interval '1 millisecond'
       FROM locked, due
      WHERE o.channel_id = $1 AND o.sku = locked.sku AND o.channel_location = locked.channel_location
        AND o.submission = due.submission AND (o.leased_until IS NULL OR o.leased_until < now())
     RETURNING o.submission, o.submission_index, o.sku, o.channel_location, o.submitted_quantity AS quantity, o.submitted_version AS version,
               o.acked_quantity, o.attempts, o.priority`,
    [channelId, claimMs],
  );
  if (rows.length === 0) return null;
  const ordered = [...rows].sort((a, b) => Number(a.submission_index) - Number(b.submission_index));
  return { id: rows[0]!.submission as string, rows: ordered.map(toRow) };
}

/** Every submission of the channel is forgotten and its rows are due again (a connector that cannot poll them). */
export async function abandonSubmissions(db: Sql, channelId: string): Promise<number> {
  const rows = await db.query(
    `WITH locked AS MATERIALIZED (
       SELECT sku, channel_location FROM channel_outbox WHERE channel_id = $1 AND submission IS NOT NULL ORDER BY sku, channel_location FOR UPDATE)
     UPDATE channel_outbox o SET submission = NULL, submission_index = NULL, submitted_version = NULL, submitted_quantity = NULL, submitted_at = NULL,
            leased_until = NULL, not_before = now(), last_error = 'submission abandoned: pushed again', updated_at = now()
       FROM locked WHERE o.channel_id = $1 AND o.sku = locked.sku AND o.channel_location = locked.channel_location
     RETURNING 1`,
    [channelId],
  );
  return rows.length;
}

/** The submission is still running: poll it again in `pollInMs` (its rows' lease moves there). */
export async function extendSubmission(db: Sql, channelId: string, submissionId: string, pollInMs: number): Promise<void> {
  await db.query(
    `WITH locked AS MATERIALIZED (
       SELECT sku, channel_location FROM channel_outbox WHERE channel_id = $1 AND submission = $2 ORDER BY sku, channel_location FOR UPDATE)
     UPDATE channel_outbox o SET leased_until = now() + $3 * interval '1 millisecond' FROM locked
      WHERE o.channel_id = $1 AND o.sku = locked.sku AND o.channel_location = locked.channel_location AND o.submission = $2`,
    [channelId, submissionId, Math.round(pollInMs)],
  );
}

/** Rows whose push was interrupted (a push intent, its lease lapsed), claimed for `claimMs`, and the span of their intents. */
export interface InterruptedPushes {
  keys: Array<{ sku: string; channelLocation: string }>;
  since: Date;
  until: Date;
}

/** Claims every row whose push was interrupted, or null; two processes never claim the same row at once. */
export async function claimInterruptedPushes(db: Sql, channelId: string, claimMs: number): Promise<InterruptedPushes | null> {
  const rows = await db.query<{ sku: string; channel_location: string; at: Date | string }>(
    `WITH due AS (
       SELECT sku, channel_location FROM channel_outbox
        WHERE channel_id = $1 AND push_intent_at IS NOT NULL AND (leased_until IS NULL OR leased_until < now())
        ORDER BY sku, channel_location FOR UPDATE SKIP LOCKED)
     UPDATE channel_outbox o SET leased_until = now() + $2 * interval '1 millisecond'
       FROM due WHERE o.channel_id = $1 AND o.sku = due.sku AND o.channel_location = due.channel_location
     RETURNING o.sku, o.channel_location, o.push_intent_at AS at`,
    [channelId, claimMs],
  );
  if (rows.length === 0) return null;
  const times = rows.map((r) => (r.at instanceof Date ? r.at : new Date(String(r.at))).getTime());
  return {
    keys: rows.map((r) => ({ sku: r.sku, channelLocation: r.channel_location })),
    since: new Date(Math.min(...times)), until: new Date(Math.max(...times)),
  };
}

/**
 * Ends claimed interrupted pushes: `settled` (no unknown submission can land any more) clears
 * their intent and makes them due now; otherwise they are looked at again in `retryInMs`.
 */
export async function resolveInterruptedPushes(db: Sql, channelId: string, claimed: InterruptedPushes, settled: boolean, retryInMs: number): Promise<void> {
  await db.query(
    `WITH locked AS MATERIALIZED (${LOCK_IN_KEY_ORDER})
     UPDATE channel_outbox o SET
       push_intent_at = CASE WHEN $4::boolean THEN NULL ELSE o.push_intent_at END,
       leased_until = CASE WHEN $4::boolean THEN NULL ELSE now() + $5 * interval '1 millisecond' END,
       not_before = CASE WHEN $4::boolean THEN now() ELSE o.not_before END, updated_at = now()
       FROM locked WHERE o.channel_id = $1 AND o.sku = locked.sku AND o.channel_location = locked.channel_location AND o.push_intent_at IS NOT NULL`,
    [channelId, claimed.keys.map((k) => k.sku), claimed.keys.map((k) => k.channelLocation), settled, Math.round(retryInMs)],
  );
}

/** Push intents of a publisher that cannot look for unknown submissions are dropped (its pushes are synchronous). */
export async function forgetPushIntents(db: Sql, channelId: string): Promise<number> {
  const rows = await db.query(
    `WITH locked AS MATERIALIZED (
       SELECT sku, channel_location FROM channel_outbox WHERE channel_id = $1 AND push_intent_at IS NOT NULL ORDER BY sku, channel_location FOR UPDATE)
     UPDATE channel_outbox o SET push_intent_at = NULL FROM locked
      WHERE o.channel_id = $1 AND o.sku = locked.sku AND o.channel_location = locked.channel_location RETURNING 1`,
    [channelId],
  );
  return rows.length;
}

/** Gives leased rows back untouched (the push never happened: shutdown, throttled before the call). */
export async function releaseLeases(db: Sql, channelId: string, rows: readonly OutboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `WITH locked AS MATERIALIZED (${LOCK_IN_KEY_ORDER})
     UPDATE channel_outbox o SET leased_until = NULL, push_intent_at = NULL FROM locked
      WHERE o.channel_id = $1 AND o.sku = locked.sku AND o.channel_location = locked.channel_location`,
    [channelId, rows.map((r) => r.sku), rows.map((r) => r.channelLocation)],
  );
}

/** POST /sync: parked and backed-off rows are due again now. */
export async function retryNow(db: Sql, channelId: string): Promise<number> {
  const rows = await db.query(
    `UPDATE channel_outbox SET parked = NULL, not_before = now(), attempts = 0
      WHERE channel_id = $1 AND version > acked_version AND (parked IS NOT NULL OR not_before > now()) RETURNING 1`,
    [channelId],
  );
  return rows.length;
}

export async function lastAcked(db: Sql, channelId: string, sku: string, channelLocation: string): Promise<number | null> {
  const rows = await db.query<{ q: number | null }>('SELECT acked_quantity AS q FROM channel_outbox WHERE channel_id = $1 AND sku = $2 AND channel_location = $3', [channelId, sku, channelLocation]);
  const q = rows[0]?.q;
  return q === null || q === undefined ? null : Number(q);
}

export interface OutboxSummary {
  pending: number;
  parked: number;
  lastAckedAt: string | null;
}

export async function outboxSummary(db: Sql, channelId: string): Promise<OutboxSummary> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT count(*) FILTER (WHERE version > acked_version AND parked IS NULL)::int AS pending,
            count(*) FILTER (WHERE parked IS NOT NULL)::int AS parked, max(acked_at) AS last
       FROM channel_outbox WHERE channel_id = $1`,
    [channelId],
  );
  const r = rows[0] ?? {};
  const last = r.last;
  return {
    pending: Number(r.pending ?? 0), parked: Number(r.parked ?? 0),
    lastAckedAt: last === null || last === undefined ? null : (last instanceof Date ? last : new Date(String(last))).toISOString(),
  };
}

/** Settled rows (nothing pending) for the drift job, in key order after `after`. */
export async function settledPage(db: Sql, channelId: string, after: { sku: string; channelLocation: string } | null, limit: number): Promise<OutboxRow[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT sku, channel_location, quantity, version, acked_quantity, attempts, priority FROM channel_outbox
      WHERE channel_id = $1 AND version = acked_version AND acked_quantity IS NOT NULL AND parked IS NULL
        AND ($2::text IS NULL OR (sku, channel_location) > ($2, $3))
      ORDER BY sku, channel_location LIMIT $4`,
    [channelId, after?.sku ?? null, after?.channelLocation ?? '', limit],
  );
  return rows.map(toRow);
}

/** The channel shows `shown`, not what it acknowledged: push our figure again (same outbox path). */
export async function requeueDrifted(db: Sql, channelId: string, drifted: ReadonlyArray<{ row: OutboxRow; shown: number | null }>): Promise<number> {
  if (drifted.length === 0) return 0;
  const rows = await db.query(
    `WITH locked AS MATERIALIZED (${LOCK_IN_KEY_ORDER})
     UPDATE channel_outbox o SET acked_quantity = u.shown, version = o.version + 1, not_before = now(), attempts = 0, updated_at = now()
       FROM unnest($2::text[], $3::text[], $4::bigint[], $5::int[]) AS u(sku, loc, v, shown), locked
      WHERE o.channel_id = $1 AND o.sku = u.sku AND o.channel_location = u.loc AND o.version = u.v AND o.acked_version = u.v
        AND locked.sku = u.sku AND locked.channel_location = u.loc
      RETURNING 1`,
    [channelId, drifted.map((d) => d.row.sku), drifted.map((d) => d.row.channelLocation), drifted.map((d) => d.row.version), drifted.map((d) => d.shown)],
  );
  return rows.length;
}

/** Stable across retries of one row version with the same expected figure; new for anything else. */
export function idempotencyKey(channelId: string, row: OutboxRow, expected: number | null): string {
  return createHash('sha256').update(`${channelId}\u0000${row.sku}\u0000${row.channelLocation}\u0000${row.version}\u0000${row.quantity}\u0000${expected ?? ''}`).digest('base64url').slice(0, 32);
}
