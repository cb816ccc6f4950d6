// Consumer lag for /metrics, read when scraped: the log's high watermarks against the offsets
// the reconcilers stored with their ledger writes (consumer_offsets, the source of truth; what
// Kafka holds as committed can trail it). Reading it on demand keeps the figure true while the
// reconciler is stalled (a database down, a poison loop), when no batch would update it.
import type { Sql } from '../db/database.js';
import type { EventLog } from '../eventlog/event-log.js';

export interface LagReading {
  topic: string;
  partition: number;
  messages: number;
}

export async function readConsumerLag(db: Sql, log: EventLog, groupId: string, topic: string): Promise<LagReading[]> {
  const stored = await db.query<{ partition: number; next_offset: number }>(
    'SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2',
    [groupId, topic],
  );
  const positions = new Map(stored.map((r) => [Number(r.partition), Number(r.next_offset)]));
  return (await log.backlog(topic, positions)).map((b) => ({ topic, partition: b.partition, messages: b.messages }));
}
