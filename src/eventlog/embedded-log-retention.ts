// Retention for the embedded log, as Kafka has it: messages go after a retention period (7 days,
// Kafka's default), oldest first, in chunks so no single transaction grows with the backlog.
// Unlike Kafka, a message a consumer group with stored offsets has not yet applied is kept
// whatever its age: on a single machine the log is the only copy of an accepted event until the
// reconciler has applied it. Derived topics (the ATP announcements) have no stored offsets and
// simply age out.
import cron, { type ScheduledTask } from 'node-cron';
import type { Sql } from '../db/database.js';
import type { Logger } from '../logger.js';

export const EMBEDDED_LOG_RETENTION_MS = 7 * 24 * 3600 * 1000;
const CHUNK = 10_000;

/** Deletes what retention allows; returns how many messages went. */
export async function pruneEmbeddedLog(db: Sql, opts: { retentionMs?: number; now?: Date } = {}): Promise<number> {
  const cutoff = new Date((opts.now ?? new Date()).getTime() - (opts.retentionMs ?? EMBEDDED_LOG_RETENTION_MS)).toISOString();
  let total = 0;
  for (;;) {
    const rows = await db.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM log_messages WHERE seq IN (
           SELECT m.seq FROM log_messages m
            WHERE m.appended_at < $1::timestamptz
              AND NOT EXISTS (SELECT 1 FROM consumer_offsets o WHERE o.topic = m.topic AND o.partition = 0 AND o.next_offset <= m.seq)
            ORDER BY m.seq LIMIT ${CHUNK})
         RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [cutoff],
    );
    const n = Number(rows[0]?.n ?? 0);
    total += n;
    if (n < CHUNK) return total;
  }
}

/** Runs the pruning every ten minutes (and once at start); stop() waits for a run in progress. */
export function startEmbeddedLogRetention(db: Sql, logger: Logger): { stop(): Promise<void> } {
  let running: Promise<unknown> | null = null;
  const run = () => {
    running ??= pruneEmbeddedLog(db)
      .then((n) => { if (n > 0) logger.info({ deleted: n }, 'embedded log: messages past retention deleted'); })
      .catch((err: unknown) => logger.warn({ err }, 'embedded log retention run failed; retrying next time'))
      .finally(() => { running = null; });
    return running;
  };
  const task: ScheduledTask = cron.schedule('*/10 * * * *', () => { void run(); }, { name: 'embedded-log-retention', noOverlap: true });
  void run();
  return {
    async stop() {
      await task.stop();
      await task.destroy();
      await running;
    },
  };
}
