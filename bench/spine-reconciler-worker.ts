// A reconciler process for the spine benchmark: the real Reconciler on Kafka and PostgreSQL,
// reporting each committed batch to the parent over IPC. Append→applied lags go into a
// millisecond histogram here (sent on request): shipping every lag over IPC cost the
// reconciler's process more than some of the work it measures.
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/open-database.js';
import { KafkaEventLog } from '../src/eventlog/kafka-event-log.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { Reconciler } from '../src/reconciler/reconciler.js';

const MAX_LAG_MS = 120_000;
let lagHistogram = new Uint32Array(MAX_LAG_MS + 1);
let tickMessages = 0;
let transactions: number[] = [];
const config = loadConfig();
const logger = createLogger('warn');
const db = await openDatabase({ databaseUrl: config.databaseUrl });
const log = new KafkaEventLog({ brokers: config.kafkaBrokers ?? [], logger });
const reconciler = new Reconciler({
  db, log, logger, metrics: createMetrics(),
  eventsTopic: config.kafkaEventsTopic, atpTopic: config.kafkaAtpTopic, groupId: config.consumerGroup,
  onCommitted: (batch, outcome) => {
    const now = Date.now();
    for (const m of batch.messages) lagHistogram[Math.min(MAX_LAG_MS, Math.max(0, now - m.appendedAt))]! += 1;
    // The batches of one transaction are reported in one go, so a tick's worth is one transaction.
    if (tickMessages === 0) setImmediate(() => { transactions.push(tickMessages); tickMessages = 0; });
    tickMessages += batch.messages.length;
    process.send?.({ applied: outcome.applied, at: now, messages: batch.messages.length });
  },
});
await reconciler.start();
process.send?.({ ready: true });
process.on('message', (m: { stop?: boolean; resetLags?: boolean; sendLags?: boolean; sendTransactions?: boolean }) => {
  if (m.sendTransactions) {
    process.send?.({ transactionSizes: transactions });
    transactions = [];
  }
  if (m.resetLags) lagHistogram = new Uint32Array(MAX_LAG_MS + 1);
  if (m.sendLags) {
    const buckets: Array<[number, number]> = [];
    lagHistogram.forEach((count, ms) => { if (count > 0) buckets.push([ms, count]); });
    process.send?.({ lagBuckets: buckets });
  }
  if (m.stop) void reconciler.stop().then(() => log.close()).then(() => db.close()).then(() => process.exit(0));
});
if (process.env.BENCH_MEMLOG) {
  setInterval(() => {
    const m = process.memoryUsage();
    process.stderr.write(`mem heap=${Math.round(m.heapUsed / 1e6)}MB ext=${Math.round(m.external / 1e6)}MB ab=${Math.round(m.arrayBuffers / 1e6)}MB rss=${Math.round(m.rss / 1e6)}MB queue=${(reconciler as unknown as { queue: unknown[] }).queue.length}\n`);
  }, 2000).unref();
}
