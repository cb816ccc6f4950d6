// The embedded log: rows in `log_messages`, one partition per topic, offset = seq. Appends
// take a transaction-scoped advisory lock so sequence order equals commit order; a reader
// that has seen seq N can then never later find a smaller seq appear.
import { EventEmitter } from 'node:events';
import type { Database, Sql } from '../db/database.js';
import type { EventLog, LogRecord, PartitionBacklog, SubscribeOptions, Subscription } from './event-log.js';

const APPEND_LOCK = 727_002;
const BATCH_LIMIT = 5_000;
const IDLE_POLL_MS = 100;

export class EmbeddedEventLog implements EventLog {
  readonly kind = 'embedded' as const;
  private readonly appended = new EventEmitter();

  constructor(private readonly db: Database) {
    this.appended.setMaxListeners(0);
  }

  async append(topic: string, records: readonly LogRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.db.transaction((tx) => this.appendIn(tx, topic, records));
    this.appended.emit(topic);
  }

  /** Appends inside a caller's transaction (a transactional outbox for derived topics). */
  async appendIn(tx: Sql, topic: string, records: readonly LogRecord[]): Promise<void> {
    if (records.length === 0) return;
    await tx.query('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK]);
    await tx.query(
      `INSERT INTO log_messages (topic, key, payload) SELECT $1, k, v FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(k, v, n) ORDER BY n`,
      [topic, records.map((r) => r.key), records.map((r) => r.value)],
    );
  }

  /** Wakes local subscribers after an appendIn whose transaction has committed. */
  notifyAppended(topic: string): void {
    this.appended.emit(topic);
  }

  /** One partition; offsets are log_messages.seq, shared by every topic, so the backlog is counted, not subtracted. */
  async backlog(topic: string, positions: ReadonlyMap<number, number>): Promise<PartitionBacklog[]> {
    const rows = await this.db.query<{ high: number | null; waiting: number }>(
      `SELECT (SELECT max(seq) + 1 FROM log_messages WHERE topic = $1) AS high,
              (SELECT count(*) FROM log_messages WHERE topic = $1 AND seq >= $2)::int8 AS waiting`,
      [topic, positions.get(0) ?? 0],
    );
    return [{ partition: 0, high: Number(rows[0]?.high ?? 0), messages: Number(rows[0]?.waiting ?? 0) }];
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    let running = true;
    let wake: (() => void) | null = null;
    const onAppend = () => wake?.();
    this.appended.on(opts.topic, onAppend);
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => { wake = null; resolve(); }, ms);
        wake = () => { clearTimeout(t); wake = null; resolve(); };
      });
    const offsetOf = async () => {
      const rows = await this.db.query<{ next_offset: number }>(
        'SELECT next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2 AND partition = 0',
        [opts.groupId, opts.topic],
      );
      return rows[0]?.next_offset ?? 0;
    };
    // Where this subscription got to. The stored offset (consumer_offsets, written by handlers
    // such as the reconciler inside their own transaction) wins when it is ahead, so a restart
    // or another member's progress is respected; a handler that stores nothing still moves on
    // (and starts again from the beginning after a restart: at least once).
    let localNext = 0;
    const loop = async () => {
      let backoff = IDLE_POLL_MS;
      while (running) {
        try {
          const from = Math.max(await offsetOf(), localNext);
          const rows = await this.db.query<{ seq: number; key: string | null; payload: string; appended_ms: number }>(
            `SELECT seq, key, payload, (extract(epoch from appended_at) * 1000)::float8 AS appended_ms
               FROM log_messages WHERE topic = $1 AND seq >= $2 ORDER BY seq LIMIT ${BATCH_LIMIT}`,
            [opts.topic, from],
          );
          if (rows.length === 0) {
            await sleep(IDLE_POLL_MS);
            continue;
          }
          await opts.handler(
            {
              topic: opts.topic,
              partition: 0,
              messages: rows.map((r) => ({ partition: 0, offset: r.seq, key: r.key, value: r.payload, appendedAt: r.appended_ms })),
            },
            { heartbeat: async () => {}, isActive: () => running },
          );
          localNext = rows[rows.length - 1]!.seq + 1;
          backoff = IDLE_POLL_MS;
        } catch {
          // The handler reports its own failures; the batch is simply read again after a pause.
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 5_000);
        }
      }
    };
    const done = loop();
    return {
      stop: async () => {
        running = false;
        wake?.();
        this.appended.off(opts.topic, onAppend);
        await done;
      },
    };
  }

  async isReachable(): Promise<boolean> {
    try {
      await this.db.query('SELECT 1 FROM log_messages LIMIT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.appended.removeAllListeners();
  }
}
