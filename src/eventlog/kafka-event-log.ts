// The Kafka adapter (kafkajs). Records are keyed (by sku for stock events) so one key's
// messages stay ordered on one partition. Offsets are also committed to Kafka (coalesced, once a
// second), but the source of truth is the consumer_offsets table the handler writes in its own
// transaction; Kafka's committed offset only saves re-reading.
import { Kafka, logLevel as kafkaLogLevel, Partitioners, type Admin, type Consumer, type Producer, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import type { EventLog, LogBatch, LogRecord, PartitionBacklog, SubscribeOptions, Subscription } from './event-log.js';
import { PackedMessages, PinnedMemory } from './packed-messages.js';

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

/** Messages fetched but not yet applied, across partitions, before fetching pauses. */
const MAX_PENDING_MESSAGES = 100_000;
/** Fetch-response memory those messages may keep alive before fetching pauses (packed-messages.ts). */
const MAX_PINNED_BYTES = 256 * 1024 * 1024;
const COMMIT_INTERVAL_MS = 1_000;
/** A backlog reading (metrics, shedding, readiness of lag) gives up after this long. */
const BACKLOG_TIMEOUT_MS = 10_000;

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
      // A broker that does not answer is unreachable, not slow: fail fast so a request can get
      // its 503 (ingest-events.ts bounds the wait too) and a readiness probe its answer.
      connectionTimeout: 1_000,
      requestTimeout: 10_000,
    });
  }

  private getProducer(): Promise<Producer> {
    if (!this.producerReady) {
      // Not idempotent: the event-id dedupe in the ledger makes a retried send harmless.
      // Few retries: a client waits for this send (at most APPEND_DEADLINE_MS, then 503 and a
      // resend), so retrying far past that only piles up sends during an outage.
      const p = this.kafka.producer({
        createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true,
        retry: { initialRetryTime: 100, retries: 3, maxRetryTime: 2_000 },
      });
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

  /**
   * Fetching runs ahead of applying: each batch waits in its partition's lane behind the one
   * being applied (order within a partition is kept), eachBatch returns at once so kafkajs fetches
   * again while the handler's transaction commits, and the Kafka offset is committed only
   * after the handler resolved. If the handler fails for good, the consumer is replaced and
   * everything queued is dropped: the new member starts from the committed offset, which is
   * never ahead of what the handler stored.
   */
  async subscribe(opts: SubscribeOptions): Promise<Subscription> {
    await this.ensureTopic(opts.topic);
    let stopped = false;
    let generation = 0;
    let current: Consumer | null = null;
    let pendingMessages = 0;
    const pinned = new PinnedMemory();
    /** A fetched batch waiting in its lane, its messages packed (packed-messages.ts). */
    type Fetched = { topic: string; partition: number; messages: PackedMessages; gen: number; consumer: Consumer };
    /** Per partition: fetched batches not yet handed over, and the hand-over in progress. */
    type Lane = { waiting: Fetched[]; running: Promise<void> | null };
    const lanes = new Map<number, Lane>();
    /** Woken whenever a queued batch finishes (backpressure below). */
    const drained: Array<() => void> = [];
    const log = this.opts.logger;
    const commits = new CoalescedCommits(log, () => generation);

    const replace = (consumer: Consumer, why: string, err: unknown) => {
      generation += 1;
      if (stopped) return;
      log.error({ err, groupId: opts.groupId }, `${why}; starting a new consumer`);
      this.consumers.delete(consumer);
      void consumer.disconnect().catch(() => {})
        .then(() => new Promise((r) => setTimeout(r, 1_000)))
        .then(() => (stopped ? undefined : start()))
        .catch((e: unknown) => log.error({ err: e }, 'consumer restart failed'));
    };

    /**
     * Hands a partition's fetched batches to the handler, in order, one call at a time; whatever
     * was fetched meanwhile goes over together as one batch (consecutive offsets). Small record
     * batches (a producer sending every few ms) would otherwise cap a transaction at one record
     * batch per partition, and throughput with it. Batches fetched by a replaced consumer are
     * dropped: its successor fetches again from the committed offset.
     */
    const pump = async (lane: Lane): Promise<void> => {
      while (lane.waiting.length > 0) {
        const taken = lane.waiting.splice(0);
        const n = taken.reduce((k, w) => k + w.messages.length, 0);
        try {
          const live = taken.filter((w) => w.gen === generation);
          const last = live[live.length - 1];
          if (!last) continue;
          const merged: LogBatch = {
            topic: last.topic,
            partition: last.partition,
            messages: live.length === 1 ? last.messages.unpack(last.partition) : live.flatMap((w) => w.messages.unpack(w.partition)),
          };
          try {
            await opts.handler(merged, { heartbeat: async () => {}, isActive: () => last.gen === generation && !stopped });
            commits.note(last.consumer, last.gen, merged.topic, merged.partition, merged.messages[merged.messages.length - 1]!.offset + 1);
          } catch (err) {
            if (last.gen === generation) replace(last.consumer, 'batch could not be applied', err);
          }
        } finally {
          pendingMessages -= n;
          for (const w of taken) pinned.release(w.messages);
          drained.splice(0).forEach((wake) => wake());
        }
      }
    };

    const start = async (): Promise<void> => {
      const consumer = this.createConsumer(opts);
      const gen = generation;
      current = consumer;
      this.consumers.add(consumer);
      // kafkajs restarts itself after retriable failures only; after any other crash the
      // member would sit dead while the process looks healthy.
      consumer.on(consumer.events.CRASH, (e) => {
        if (!e.payload.restart && gen === generation) replace(consumer, 'consumer crashed', e.payload.error);
      });
      await consumer.connect();
      await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 16,
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          if (batch.messages.length === 0 || gen !== generation) return;
          // Nothing queued below may refer to `batch` or its message objects; the packed form
          // keeps only the response memory the messages lie in (bounded by the backpressure
          // below) and where each one is.
          const { topic, partition } = batch;
          const messages = PackedMessages.pack(batch.messages);
          // Advances the fetch position only; nothing reaches Kafka's committed offset until applied.
          resolveOffset(String(messages.lastOffset));
          pendingMessages += messages.length;
          pinned.hold(messages);
          let lane = lanes.get(partition);
          if (!lane) lanes.set(partition, (lane = { waiting: [], running: null }));
          lane.waiting.push({ topic, partition, messages, gen, consumer });
          if (!lane.running) {
            const l = lane;
            l.running = pump(l).finally(() => { l.running = null; });
          }
          // Backpressure: hold the fetch loop while too much is queued.
          // (Not Promise.race over the lanes: a settled one would make it spin, and every race
          // leaves a reaction on each pending promise, which grew the heap by GBs.)
          while ((pendingMessages > MAX_PENDING_MESSAGES || pinned.bytes > MAX_PINNED_BYTES) && gen === generation) {
            await new Promise<void>((wake) => {
              drained.push(wake);
            });
            await heartbeat();
          }
        },
      });
    };
    await start();
    return {
      stop: async () => {
        stopped = true;
        generation += 1;
        const c = current as Consumer | null;
        if (c) {
          this.consumers.delete(c);
          await c.disconnect().catch(() => {});
        }
        await Promise.all([...lanes.values()].map((l) => l.running));
        commits.stop();
      },
    };
  }

  private createConsumer(opts: SubscribeOptions): Consumer {
    const consumer = this.kafka.consumer({
      groupId: opts.groupId,
      // Short enough that a crashed member's partitions move within seconds.
      sessionTimeout: 10_000,
      rebalanceTimeout: 20_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: true,
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.opts.logger.info({ groupId: opts.groupId, memberId: e.payload.memberId, assignment: e.payload.memberAssignment }, 'partitions assigned');
    });
    return consumer;
  }

  /**
   * Production creates topics up front (docker-compose's kafka-init). Where the broker
   * auto-creates them instead, a metadata request creates the topic before any member joins:
   * members syncing on a topic that appears mid-rebalance were seen to crash.
   */
  private async ensureTopic(topic: string): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.fetchTopicMetadata({ topics: [topic] });
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  /** One admin client for backlog reads (a scrape every few seconds), made again after a failure. */
  private lagAdmin: Promise<Admin> | null = null;

  async backlog(topic: string, positions: ReadonlyMap<number, number>): Promise<PartitionBacklog[]> {
    // Few retries: a scrape gives up after 2 s anyway, and a retrying client would outlive it.
    this.lagAdmin ??= (async () => {
      const admin = this.kafka.admin({ retry: { retries: 1 } });
      await admin.connect();
      return admin;
    })();
    const pending = this.lagAdmin;
    let timer: NodeJS.Timeout | undefined;
    try {
      // Bounded: a call that never answers (seen after a broker outage) must not keep every later
      // reading waiting on the same admin client; the catch below drops it and the next call reconnects.
      const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no offsets for ${topic} in ${BACKLOG_TIMEOUT_MS} ms`)), BACKLOG_TIMEOUT_MS); });
      const offsets = await Promise.race([pending.then((a) => a.fetchTopicOffsets(topic)), late]);
      return offsets.map((o) => {
        const high = Number(o.high);
        // Below the low watermark retention has deleted what was never applied: count from there.
        const from = Math.max(Number(o.low), positions.get(o.partition) ?? 0);
        return { partition: o.partition, high, messages: Math.max(0, high - from) };
      });
    } catch (err) {
      if (this.lagAdmin === pending) this.lagAdmin = null;
      void pending.then((a) => a.disconnect()).catch(() => {});
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async isReachable(): Promise<boolean> {
    // No retries: readiness asks "now", and /readyz bounds the wait as well.
    const admin = this.kafka.admin({ retry: { retries: 0 } });
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
    const lagAdmin = this.lagAdmin;
    this.lagAdmin = null;
    if (lagAdmin) await lagAdmin.then((a) => a.disconnect()).catch(() => {});
    await Promise.all([...this.consumers].map((c) => c.disconnect().catch(() => {})));
    this.consumers.clear();
    if (this.producer) await this.producer.disconnect().catch(() => {});
  }
}

/**
 * Kafka's committed offset only tells a new member where to start fetching (the offsets stored
 * with the ledger decide what is applied), so it is committed at most once a second per
 * consumer instead of after every batch: a commit per batch queued hundreds of requests ahead
 * of the group heartbeat on the coordinator's connection, until the broker evicted the member.
 */
class CoalescedCommits {
  private readonly due = new Map<string, { topic: string; partition: number; offset: number }>();
  private consumer: Consumer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private flushing = false;

  constructor(private readonly log: Logger, private readonly generation: () => number) {}

  note(consumer: Consumer, gen: number, topic: string, partition: number, offset: number): void {
    if (gen !== this.generation()) return;
    if (this.consumer !== consumer) {
      this.due.clear();
      this.consumer = consumer;
    }
    const k = `${topic}\u0000${partition}`;
    const prev = this.due.get(k);
    if (!prev || prev.offset < offset) this.due.set(k, { topic, partition, offset });
    this.timer ??= setTimeout(() => void this.flush(gen), COMMIT_INTERVAL_MS);
  }

  private async flush(gen: number): Promise<void> {
    this.timer = null;
    if (this.flushing || !this.consumer || this.due.size === 0) return;
    if (gen !== this.generation()) return void this.due.clear();
    const batch = [...this.due.values()].map((d) => ({ topic: d.topic, partition: d.partition, offset: String(d.offset) }));
    this.due.clear();
    this.flushing = true;
    try {
      await this.consumer.commitOffsets(batch);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not commit offsets to Kafka (the offsets stored with the ledger stay authoritative)');
    } finally {
      this.flushing = false;
      if (this.due.size > 0) this.timer ??= setTimeout(() => void this.flush(gen), COMMIT_INTERVAL_MS);
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.due.clear();
  }
}
