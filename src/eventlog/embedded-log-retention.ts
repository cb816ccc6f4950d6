// Retention for the embedded log, as Kafka has it: messages go after a retention period (7 days,
// Kafka's default), oldest first, a window at a time so no single statement grows with the log.
// Unlike Kafka, a message a consumer group with stored offsets has not yet applied is kept
// whatever its age: on a single machine the log is the only copy of an accepted event until the
// reconciler has applied it. Derived topics (the ATP announcements) have no stored offsets and
// simply age out.
import cron, { type ScheduledTask } from 'node-cron';
import type { Sql } from '../db/database.js';
import type { Logger } from '../logger.js';

export const EMBEDDED_LOG_RETENTION_MS = 7 * 24 * 3600 * 1000;
/** Messages looked at (and at most deleted) per statement. */
const WINDOW = 10_000;

/**
 * Deletes what retention allows; returns how many messages went. Messages of `appliedOnly`
 * topics (the stock events) go only once a consumer group has stored an offset past them: a
 * reconciler that never got going must not see its backlog age out. Walks the log in seq order a
 * window at a time and stops at the first window that reaches recent messages (appends are
 * serialised, so seq order is append order): a run reads the old part of the log and one window
 * more, not the whole table, and needs no index on appended_at.
 */
export async function pruneEmbeddedLog(
  db: Sql,
  opts: { retentionMs?: number; now?: Date; window?: number; appliedOnly?: readonly string[] } = {},
): Promise<number> {
  const window = opts.window ?? WINDOW;
  const cutoff = new Date((opts.now ?? new Date()).getTime() - (opts.retentionMs ?? EMBEDDED_LOG_RETENTION_MS)).toISOString();
  let total = 0;
  let after = -1;
  for (;;) {
    const [w] = await db.query<{ last: number | null; recent: boolean | null }>(
      `SELECT max(seq)::int8 AS last, bool_or(appended_at >= $2::timestamptz) AS recent
         FROM (SELECT seq, appended_at FROM log_messages WHERE seq > $1 ORDER BY seq LIMIT ${Math.max(1, Math.floor(window))}) w`,
      [after, cutoff],
    );
    if (!w || w.last === null) return total;
    const [d] = await db.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM log_messages m
          WHERE m.seq > $1 AND m.seq <= $2 AND m.appended_at < $3::timestamptz
            AND NOT EXISTS (SELECT 1 FROM consumer_offsets o WHERE o.topic = m.topic AND o.partition = 0 AND o.next_offset <= m.seq)
            AND (m.topic <> ALL($4::text[])
                 OR EXISTS (SELECT 1 FROM consumer_offsets o WHERE o.topic = m.topic AND o.partition = 0 AND o.next_offset > m.seq))
         RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [after, w.last, cutoff, [...(opts.appliedOnly ?? [])]],
    );
    total += Number(d?.n ?? 0);
    if (w.recent) return total;
    after = Number(w.last);
  }
}

/** Runs the pruning every ten minutes (and once at start); stop() waits for a run in progress. */
export function startEmbeddedLogRetention(db: Sql, logger: Logger, appliedOnly: readonly string[]): { stop(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  const run = () => {
    running ??= pruneEmbeddedLog(db, { appliedOnly })
      .then((n) => { if (n > 0) logger.info({ deleted: n }, 'embedded log: messages past retention deleted'); })
      .catch((err: unknown) => logger.warn({ err }, 'embedded log retention run failed; retrying next time'))
      .finally(() => { running = null; });
    return running;
  };
  const task: ScheduledTask = cron.schedule('*/10 * * * *', () => { void run(); }, { name: 'embedded-log-retention', noOverlap: true, suppressMissedWarning: true });
  void run();
  return {
    async stop() {
      await task.stop();
      await task.destroy();
      await running;
    },
  };
}
