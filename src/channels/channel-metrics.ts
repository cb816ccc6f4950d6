// The channel engine's figures on /metrics, registered on the service's registry.
import { Counter, Gauge, type Registry } from 'prom-client';

export function createChannelMetrics(registry: Registry) {
  let pendingSource: (() => Promise<Array<{ channel: string; pending: number }>>) | null = null;
  return {
    /** Where the pending-pushes gauge reads from at scrape time (the engine sets it). */
    setPendingSource(fn: () => Promise<Array<{ channel: string; pending: number }>>): void {
      pendingSource = fn;
    },
    pushes: new Counter({ name: 'omnistock_channel_pushes_total', help: 'Figures a channel acknowledged', labelNames: ['channel'], registers: [registry] }),
    pushFailures: new Counter({ name: 'omnistock_channel_push_failures_total', help: 'Figures a push did not set, by kind (retry, stale, parked, error)', labelNames: ['channel', 'kind'], registers: [registry] }),
    pendingPushes: new Gauge({
      name: 'omnistock_channel_pending_pushes', help: 'Outbox rows waiting to be pushed (read when scraped)', labelNames: ['channel'], registers: [registry],
      async collect() {
        if (!pendingSource) return;
        try {
          const rows = await pendingSource();
          this.reset();
          for (const r of rows) this.set({ channel: r.channel }, r.pending);
        } catch {
          // the database is away: keep the previous figures
        }
      },
    }),
    throttledWaits: new Counter({ name: 'omnistock_channel_throttled_waits_total', help: 'Times a push waited for the rate limit (ours or the channel\'s)', labelNames: ['channel'], registers: [registry] }),
    webhooks: new Counter({ name: 'omnistock_channel_webhooks_total', help: 'Webhook deliveries by outcome (applied, ignored, quarantined, unknown-topic, malformed, duplicate, bad-signature, failed)', labelNames: ['channel', 'outcome'], registers: [registry] }),
    quarantined: new Counter({ name: 'omnistock_channel_quarantined_total', help: 'Channel items quarantined', labelNames: ['channel'], registers: [registry] }),
    driftItems: new Gauge({ name: 'omnistock_channel_drift_items', help: 'Items the last drift check found showing another figure than we published', labelNames: ['channel'], registers: [registry] }),
    driftUnits: new Gauge({ name: 'omnistock_channel_drift_units', help: 'Sum of |shown − published| at the last drift check', labelNames: ['channel'], registers: [registry] }),
  };
}

export type ChannelMetrics = ReturnType<typeof createChannelMetrics>;
