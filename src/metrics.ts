// Prometheus metrics (prom-client). One registry per service instance so tests can run
// several instances in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LagReading } from './reconciler/consumer-lag.js';

/** A scrape waits this long for a lag reading, then keeps the figures it had. */
const LAG_READ_TIMEOUT_MS = 2_000;

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let readLag: (() => Promise<LagReading[]>) | null = null;
  const consumerLag = new Gauge({
    name: 'omnistock_consumer_lag_messages', help: 'Messages in the log not yet applied by the consumer group (read when scraped, per partition)',
    labelNames: ['topic', 'partition'], registers: [registry],
    // Read at scrape time where a source is set (a reconciler process; none elsewhere). On a
    // failure the previous figures stay and a failure is counted; a success replaces them all,
    // so a partition that is gone (a topic recreated) disappears.
    async collect() {
      if (!readLag) return;
      let timer: NodeJS.Timeout | undefined;
      try {
        const readings = await Promise.race([
          readLag(),
          new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('lag read timed out')), LAG_READ_TIMEOUT_MS); }),
        ]);
        this.reset();
        for (const r of readings) this.set({ topic: r.topic, partition: String(r.partition) }, r.messages);
      } catch {
        lagReadFailures.inc();
      } finally {
        clearTimeout(timer);
      }
    },
  });
  // A scrape's failed reading shows here from the next scrape on (metrics are read concurrently).
  const lagReadFailures = new Counter({ name: 'omnistock_consumer_lag_read_failures_total', help: 'Scrapes whose consumer lag could not be read (log or database unreachable, or slow)', registers: [registry] });
  return {
    registry,
    eventsApplied: new Counter({ name: 'omnistock_events_applied_total', help: 'Stock events applied to the ledger', registers: [registry] }),
    eventsDuplicate: new Counter({ name: 'omnistock_events_duplicate_total', help: 'Stock events skipped as already applied', registers: [registry] }),
    deadLetters: new Counter({ name: 'omnistock_dead_letters_total', help: 'Log messages quarantined in dead_letters', labelNames: ['reason'], registers: [registry] }),
    batchDuration: new Histogram({
      name: 'omnistock_reconciler_batch_seconds', help: 'Time to apply one reconciler batch (one transaction)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry],
    }),
    batchSize: new Histogram({ name: 'omnistock_reconciler_batch_events', help: 'Messages per reconciler batch', buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000], registers: [registry] }),
    applyLag: new Histogram({
      name: 'omnistock_apply_lag_seconds', help: 'From append to the log until applied to the ledger',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry],
    }),
    consumerLag,
    lagReadFailures,
    /** Where consumerLag reads from on each scrape (the reconciler role sets it). */
    setConsumerLagSource(fn: () => Promise<LagReading[]>): void {
      readLag = fn;
    },
    httpRequests: new Counter({ name: 'omnistock_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers: [registry] }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
