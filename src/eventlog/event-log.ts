// The event log port: an ordered, durable, partitioned log with consumer groups. Kafka is the
// production adapter; the embedded adapter keeps the log in the service's own database so a
// single machine needs nothing else. Consumers keep their positions in the ledger database
// (see the reconciler), so the log only has to deliver at least once.
export interface LogRecord {
  key: string;
  value: string;
}

/** A message as handed to a handler. Key and value may be computed on each read (Kafka adapter). */
export interface LogMessage {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string;
  /** When the log accepted it (epoch ms): the start of the append→applied lag. */
  readonly appendedAt: number;
}

export interface LogBatch {
  topic: string;
  partition: number;
  messages: LogMessage[];
}

export interface BatchContext {
  /** Keep group membership alive during long work (no-op for the embedded log). */
  heartbeat(): Promise<void>;
  /** False once this consumer lost the partition (rebalance) or is stopping. */
  isActive(): boolean;
}

export interface SubscribeOptions {
  topic: string;
  groupId: string;
  /** Applies one batch. Resolves only once the batch is durably handled; a throw redelivers. */
  handler: (batch: LogBatch, ctx: BatchContext) => Promise<void>;
}

export interface Subscription {
  stop(): Promise<void>;
}

/** Per partition of a topic: one past its last offset (the high watermark), and how many messages lie at or after a consumer's position. */
export interface PartitionBacklog {
  partition: number;
  high: number;
  messages: number;
}

export interface EventLog {
  readonly kind: 'kafka' | 'embedded';
  /** Resolves once every record is durable in the log (Kafka acks=all, or committed). */
  append(topic: string, records: readonly LogRecord[]): Promise<void>;
  subscribe(opts: SubscribeOptions): Promise<Subscription>;
  /** For /readyz. */
  isReachable(): Promise<boolean>;
  /**
   * What waits beyond `positions` (partition → next offset to apply; a partition not in it has
   * applied nothing): the consumer lag, from the log's own high watermarks.
   */
  backlog(topic: string, positions: ReadonlyMap<number, number>): Promise<PartitionBacklog[]>;
  close(): Promise<void>;
}
