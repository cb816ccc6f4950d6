// The Kafka adapter (kafkajs). Records are keyed (by sku for stock events) so one key's
// messages stay ordered on one partition. Offsets are also committed to Kafka after each
// batch, but the source of truth is the consumer_offsets table the handler writes in its own
// transaction; Kafka's committed offset only saves re-reading.
import { Kafka, logLevel as kafkaLogLevel, Partitioners, type Consumer, type Producer, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import type { EventLog, LogRecord, SubscribeOptions, Subscription } from './event-log.js';

export interface KafkaLogOptions {
  brokers: string[];
  clientId?: string;
  logger: Logger;
}

function kafkaLogCreator(logger: Logger) {
  return () => ({ level, log }: LogEntry) => {
    const { message, ...extra } = log;
    if (level === kafkaLogLevel.ERROR) logger.error(extra, message);
    else if (level === kafkaLogLevel.WARN) logger.warn(extra, message);
    else if (level === kafkaLogLevel.INFO) logger.debug(extra, message);
  };
}

export class KafkaEventLog implements EventLog {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private producer: Producer | null = null;
  private producerReady: Promise<Producer> | null = null;
  private readonly consumers = new Set<Consumer>();

  constructor(private readonly opts: KafkaLogOptions) {
    this.kafka = new Kafka({
      clientId: opts.clientId ?? 'omnistock',
      brokers: opts.brokers,
      logLevel: kafkaLogLevel.WARN,
      logCreator: kafkaLogCreator(opts.logger),
      retry: { initialRetryTime: 100, retries: 8 },
    });
  }

  private getProducer(): Promise<Producer> {
    if (!this.producerReady) {
      // Not idempotent: the event-id dedupe in the ledger makes a retried send harmless.
      const p = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
      this.producerReady = p.connect().then(
        () => (this.producer = p),
        (err: unknown) => {
          this.producerReady = null;
          throw err;
        },
      );
    }
    return this.producerReady;
  }

  async append(topic: string, records: readonly LogRecord[]): Promise<void> {
    if (records.length === 0) return;
    const producer = await this.getProducer();
    await producer.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value })) });
  }

  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    const consumer = this.kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: true,
    });
    this.consumers.add(consumer);
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.opts.logger.info({ groupId: opts.groupId, memberId: e.payload.memberId, assignment: e.payload.memberAssignment }, 'partitions assigned');
    });
    await consumer.connect();
    await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 2,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset, commitOffsetsIfNecessary }) => {
        if (batch.messages.length === 0) return;
        await opts.handler(
          {
            topic: batch.topic,
            partition: batch.partition,
            highWatermark: Number(batch.highWatermark),
            messages: batch.messages.map((m) => ({
              partition: batch.partition,
              offset: Number(m.offset),
              key: m.key?.toString('utf8') ?? null,
              value: m.value?.toString('utf8') ?? '',
              appendedAt: Number(m.timestamp),
            })),
          },
          { heartbeat, isActive: () => isRunning() && !isStale() },
        );
        const last = batch.messages[batch.messages.length - 1];
        if (last) resolveOffset(last.offset);
        await commitOffsetsIfNecessary({
          topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(Number(last?.offset ?? 0) + 1) }] }],
        });
        await heartbeat();
      },
    });
    return {
      stop: async () => {
        this.consumers.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  async isReachable(): Promise<boolean> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.fetchTopicMetadata({ topics: [] });
      return true;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.disconnect().catch(() => {})));
    this.consumers.clear();
    if (this.producer) await this.producer.disconnect().catch(() => {});
  }
}
