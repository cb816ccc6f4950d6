// The channel sync engine: one runner per active channel (connector, token bucket, push loop),
// the publisher feeding the outbox, the drift job and the webhook dispatch. Channels live in
// the database; every process that runs the engine reloads them every few seconds, so a PUT or
// DELETE served by another process takes effect here too.
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ChannelConnector, ConnectorContext, WebhookHeaders, WebhookResult } from '../../connectors/channel-connector.js';
import { scopeOf, type AnyKindDefinition, type ChannelKindRegistry } from '../../connectors/registry.js';
import type { StockEvent } from '../core/stock-event.js';
import type { Database } from '../db/database.js';
import type { EventLog, Subscription } from '../eventlog/event-log.js';
import type { IngestResult } from '../ingest/ingest-events.js';
import type { PositionKey } from '../ledger/ledger-row.js';
import { parseChanges } from '../reconciler/change-announcement.js';
import type { ReservationService } from '../reservations/reservation-service.js';
import type { RoutingService } from '../routing/routing-service.js';
import type { RoutingIndex } from '../routing/routing-index.js';
import { channelFigures, relevantLocations, type ChannelShape } from './channel-figures.js';
import { createChannelMetrics, type ChannelMetrics } from './channel-metrics.js';
import { addQuarantine, claimDelivery, countQuarantine, forgetDelivery, settleDelivery, stateStore } from './channel-records.js';
import { recentChannelErrors, recordChannelError } from './channel-errors.js';
import { ChannelRunner } from './channel-runner.js';
import { listChannels, readChannel, type ChannelRecord } from './channel-store.js';
import { checkDrift } from './drift-check.js';
import { lastAcked, outboxSummary, retryNow } from './outbox.js';
import { OrdersSink } from './orders-sink.js';
import { ChangeIntake, publishAll, readAtps, type PublishedChannel } from './publisher.js';

export interface ChannelEngineOptions {
  db: Database;
  log: EventLog;
  atpTopic: string;
  /** The publisher's own consumer group on `inventory.atp`. */
  groupId: string;
  ingest(events: StockEvent[]): Promise<IngestResult>;
  reservations: ReservationService;
  routingIndex: RoutingIndex;
  /** Channel orders are routed and held through it (contract §7, daily capacity). */
  routing: RoutingService;
  registry: Registry;
  kinds: ChannelKindRegistry;
  logger: Logger;
  /** node-cron expression for the drift job (default every 5 minutes); null: not scheduled. */
  driftCron?: string | null;
  /** How often channel rows are re-read for changes made by other processes (ms). */
  reloadMs?: number;
}

export interface ChannelStatus {
  channelId: string;
  kind: string;
  active: boolean;
  lastPushAt: string | null;
  lastPullAt: string | null;
  pendingPushes: number;
  parkedPushes: number;
  errors: Array<{ at: string; sku: string | null; message: string; retryable: boolean }>;
  throttle: { throttled: boolean; until: string | null; tokens: number; ratePerSecond: number; burst: number };
  drift: { checkedAt: string | null; items: number; units: number };
  quarantined: number;
}

export type WebhookAnswer =
  | { status: 200; outcome: string; duplicate: boolean; detail?: string; accepted?: number; duplicates?: number; rejected?: WebhookResult['rejected'] }
  | { status: 400 | 401 | 404 | 500; detail: string };

interface Active {
  record: ChannelRecord;
  def: AnyKindDefinition;
  runner: ChannelRunner;
  published: PublishedChannel;
}

export class ChannelEngine {
  readonly metrics: ChannelMetrics;
  private readonly active = new Map<string, Active>();
  private readonly intake: ChangeIntake;
  private subscription: Subscription | null = null;
  private drift: ScheduledTask | null = null;
  private reload: NodeJS.Timeout | null = null;
  private applying: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Errors being stored (channel-errors.ts): stop() waits for them. */
  private readonly errorWrites = new Set<Promise<void>>();

  constructor(private readonly o: ChannelEngineOptions) {
    this.metrics = createChannelMetrics(o.registry);
    this.metrics.setPendingSource(async () => (await o.db.query<{ channel: string; pending: number }>(
      `SELECT channel_id AS channel, count(*)::int AS pending FROM channel_outbox
        WHERE version > acked_version AND parked IS NULL GROUP BY channel_id`)));
    this.intake = new ChangeIntake(o.db, () => [...this.active.values()].filter((a) => a.runner.connector.publisher).map((a) => a.published), (err) => o.logger.warn({ err }, 'channel publisher flush failed'));
  }

  async start(): Promise<void> {
    await this.syncWithDatabase();
    this.subscription = await this.o.log.subscribe({
      topic: this.o.atpTopic, groupId: this.o.groupId,
      handler: async (batch) => {
        const changes = batch.messages.flatMap((m) => parseChanges(m.value));
        if (changes.length > 0) await this.intake.note(changes);
      },
    });
    const driftCron = this.o.driftCron === undefined ? '*/5 * * * *' : this.o.driftCron;
    if (driftCron) {
      this.drift = cron.schedule(driftCron, () => { void this.runDriftAll(); }, { noOverlap: true, name: 'channel-drift', suppressMissedWarning: true });
    }
    const reloadMs = this.o.reloadMs ?? 5_000;
    this.reload = setInterval(() => { this.applying = this.applying.then(() => this.syncWithDatabase()).catch((err: unknown) => this.o.logger.warn({ err }, 'channel reload failed')); }, reloadMs);
    this.reload.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reload) clearInterval(this.reload);
    await this.drift?.destroy();
    await this.subscription?.stop();
    await this.applying.catch(() => {});
    await Promise.all([...this.active.values()].map((a) => a.runner.stop().catch(() => {})));
    this.active.clear();
    await Promise.all([...this.errorWrites]);
  }

  /** In-process listener: positions changed (reconciler batch, reservation). */
  notePositionsChanged(keys: readonly PositionKey[]): void {
    if (this.active.size === 0) return;
    const bySku = new Map<string, string[]>();
    for (const k of keys) {
      const l = bySku.get(k.sku);
      if (l) l.push(k.locationId);
      else bySku.set(k.sku, [k.locationId]);
    }
    this.intake.note([...bySku].map(([sku, locationIds]) => ({ sku, locationIds }))).catch(() => {});
  }

  /** A channel was PUT or DELETEd here: apply it now (serialised with the periodic reload). */
  channelChanged(id: string): Promise<void> {
    this.applying = this.applying.catch(() => {}).then(() => this.applyOne(id));
    return this.applying;
  }

  private async syncWithDatabase(): Promise<void> {
    if (this.stopped) return;
    const records = await listChannels(this.o.db);
    const seen = new Set<string>();
    for (const r of records) {
      seen.add(r.id);
      const cur = this.active.get(r.id);
      if (!r.active) {
        if (cur) await this.stopOne(r.id);
      } else if (!cur || cur.record.updatedAt !== r.updatedAt) {
        await this.startOne(r);
      }
    }
    for (const id of [...this.active.keys()]) if (!seen.has(id)) await this.stopOne(id);
  }

  private async applyOne(id: string): Promise<void> {
    if (this.stopped) return;
    const r = await readChannel(this.o.db, id);
    if (!r || !r.active) await this.stopOne(id);
    else await this.startOne(r);
  }

  private async stopOne(id: string): Promise<void> {
    const cur = this.active.get(id);
    if (!cur) return;
    this.active.delete(id);
    await cur.runner.stop();
    this.o.logger.info({ channel: id }, 'channel stopped');
  }

  /** Starts (or restarts, on a settings change) a channel's connector and runner. */
  private async startOne(r: ChannelRecord): Promise<void> {
    await this.stopOne(r.id);
    const def = this.o.kinds.get(r.kind);
    if (!def) {
      this.o.logger.warn({ channel: r.id, kind: r.kind }, 'channel of an unknown kind: not started');
      return;
    }
    const parsed = def.settingsSchema.safeParse(r.settings);
    if (!parsed.success) {
      this.o.logger.warn({ channel: r.id }, 'stored channel settings no longer validate: not started');
      return;
    }
    const settings = parsed.data;
    const shape: ChannelShape = {
      pool: r.pool, bufferUnits: r.bufferUnits,
      channelLocations: scopeOf(def, settings) === 'per-location' ? (def.channelLocations?.(settings) ?? []) : null,
    };
    let runner: ChannelRunner | null = null;
    const ctx = this.contextFor(r, settings, () => runner);
    const connector: ChannelConnector = def.create(ctx);
    runner = new ChannelRunner({
      db: this.o.db, channelId: r.id, connector, limits: def.rateLimit(settings), metrics: this.metrics, logger: this.o.logger,
      onError: (e) => {
        const write = recordChannelError(this.o.db, r.id, e).catch((err: unknown) => this.o.logger.warn({ err, channel: r.id }, 'channel error not stored'));
        this.errorWrites.add(write);
        void write.finally(() => this.errorWrites.delete(write));
      },
    });
    const published: PublishedChannel = { id: r.id, shape, lowStockThreshold: r.lowStockThreshold, wake: () => runner?.wake() };
    await runner.start();
    this.active.set(r.id, { record: r, def, runner, published });
    this.o.logger.info({ channel: r.id, kind: r.kind }, 'channel started');
    if (connector.publisher) {
      // Everything the channel may show is enqueued once: a new channel gets its full catalogue,
      // a settings change (pool, buffer, locations) its new figures. Unchanged figures coalesce away.
      await publishAll(this.o.db, published).catch((err: unknown) => runner?.reportError({ message: `initial publish: ${(err as Error).message}`, retryable: true }));
    }
  }

  private contextFor(r: ChannelRecord, settings: unknown, runner: () => ChannelRunner | null): ConnectorContext<unknown> {
    const quarantine = async (items: Parameters<ConnectorContext['quarantine']>[0]) => {
      await addQuarantine(this.o.db, r.id, items);
      this.metrics.quarantined.inc({ channel: r.id }, items.length);
    };
    const sink = new OrdersSink({ db: this.o.db, reservations: this.o.reservations, routing: this.o.routing, ingest: this.o.ingest, quarantine });
    return {
      channelId: r.id, settings, pool: r.pool, bufferUnits: r.bufferUnits,
      logger: this.o.logger.child({ channel: r.id, kind: r.kind }),
      ingest: (events) => this.o.ingest(events),
      orders: sink.forChannel(r.id, () => r.pool),
      quarantine,
      lastPublished: (sku, channelLocation) => lastAcked(this.o.db, r.id, sku, channelLocation ?? ''),
      state: stateStore(this.o.db, r.id),
      knownSkus: async (skus) => new Set(skus.length === 0 ? [] : (await this.o.db.query<{ sku: string }>(
        'SELECT DISTINCT sku FROM positions WHERE sku = ANY($1::text[])', [[...new Set(skus)]])).map((x) => x.sku)),
      reportError: (e) => runner()?.reportError(e),
    };
  }

  isRunning(id: string): boolean {
    return this.active.has(id);
  }

  runner(id: string): ChannelRunner | null {
    return this.active.get(id)?.runner ?? null;
  }

  async status(record: ChannelRecord): Promise<ChannelStatus> {
    const a = this.active.get(record.id);
    const summary = await outboxSummary(this.o.db, record.id);
    const now = Date.now();
    const until = a?.runner.bucket.throttledUntil(now) ?? null;
    this.metrics.pendingPushes.set({ channel: record.id }, summary.pending);
    return {
      channelId: record.id, kind: record.kind, active: record.active,
      lastPushAt: a?.runner.lastPushAt ?? summary.lastAckedAt,
      lastPullAt: a?.runner.lastPullAt ?? null,
      pendingPushes: summary.pending, parkedPushes: summary.parked,
      errors: await recentChannelErrors(this.o.db, record.id, a?.runner.errors ?? []).catch(() => (a ? [...a.runner.errors] : [])),
      throttle: {
        throttled: until !== null, until: until === null ? null : new Date(until).toISOString(),
        tokens: a ? Math.floor(a.runner.bucket.available(now) * 100) / 100 : 0,
        ratePerSecond: a?.runner.bucket.ratePerSecond ?? 0, burst: a?.runner.bucket.burst ?? 0,
      },
      drift: a ? { ...a.runner.drift } : { checkedAt: null, items: 0, units: 0 },
      quarantined: await countQuarantine(this.o.db, record.id),
    };
  }

  /** What the channel is offered for a SKU now (contract §8), per channel location where it has them. */
  async availability(record: ChannelRecord, sku: string): Promise<{ sku: string; quantity: number; locations?: Array<{ channelLocation: string; locationId: string; quantity: number }> }> {
    const network: ChannelShape = { pool: record.pool, bufferUnits: record.bufferUnits, channelLocations: null };
    const a = this.active.get(record.id);
    const perLocation = a?.published.shape.channelLocations ?? null;
    const locs = new Set([...record.pool, ...(perLocation ?? []).map((c) => c.locationId)]);
    const atps = await readAtps(this.o.db, [sku], [...locs]);
    const quantity = channelFigures(network, [sku], atps)[0]!.quantity;
    if (!perLocation) return { sku, quantity };
    const figures = channelFigures({ pool: record.pool, bufferUnits: record.bufferUnits, channelLocations: perLocation }, [sku], atps);
    return { sku, quantity, locations: figures.map((f, i) => ({ channelLocation: f.channelLocation, locationId: perLocation[i]!.locationId, quantity: f.quantity })) };
  }

  /** POST /sync: pull now and retry pending pushes (the push loop still honours the rate limit). */
  async sync(id: string): Promise<{ started: boolean }> {
    const a = this.active.get(id);
    if (!a) return { started: false };
    await retryNow(this.o.db, id);
    // Figures may have been missed (an announcement lost): recompute them all; unchanged ones coalesce away.
    void publishAll(this.o.db, a.published).catch((err: unknown) => a.runner.reportError({ message: `sync publish: ${(err as Error).message}`, retryable: true }));
    a.runner.wake();
    void this.pull(id);
    return { started: true };
  }

  /** The connector's pull (orders, counts, catalogue), reported in the status; never throws. */
  async pull(id: string): Promise<void> {
    const a = this.active.get(id);
    const pull = a?.runner.connector.pull?.bind(a.runner.connector);
    if (!a || !pull) return;
    try {
      await pull(a.runner.signal);
      a.runner.lastPullAt = new Date().toISOString();
    } catch (err) {
      a.runner.reportError({ message: `pull failed: ${(err as Error).message}`, retryable: true });
    }
  }

  /** The scheduled job: each channel pulls (what webhooks may have missed), then its drift is checked. */
  async runDriftAll(): Promise<void> {
    for (const id of [...this.active.keys()]) {
      await this.pull(id);
      try {
        await this.runDrift(id);
      } catch (err) {
        this.active.get(id)?.runner.reportError({ message: `drift check failed: ${(err as Error).message}`, retryable: true });
      }
    }
  }

  /**
   * The drift job for one channel: figures recomputed from the ledger (catches a missed
   * announcement), then what the channel shows read back and compared with what it
   * acknowledged; differences go back through the outbox (same push path, same rate limit).
   */
  async runDrift(id: string): Promise<{ items: number; units: number; checked: number }> {
    const a = this.active.get(id);
    const publisher = a?.runner.connector.publisher;
    if (!a || !publisher) return { items: 0, units: 0, checked: 0 };
    // A lost inventory.atp announcement leaves the outbox behind the ledger: recompute every
    // figure first (unchanged ones coalesce away), then compare the channel with what it acknowledged.
    await publishAll(this.o.db, a.published);
    const { items, units, checked } = await checkDrift(this.o.db, id, publisher, { takeTokens: (c) => a.runner.takeTokens(c), signal: a.runner.signal });
    a.runner.drift = { checkedAt: new Date().toISOString(), items, units };
    this.metrics.driftItems.set({ channel: id }, items);
    this.metrics.driftUnits.set({ channel: id }, units);
    if (items > 0) {
      a.runner.wake();
      this.o.logger.warn({ channel: id, items, units }, 'channel drift found; re-pushing');
    }
    return { items, units, checked };
  }

  /** POST /webhooks/{kind}/{channelId}: verify, dedupe durably by delivery id, dispatch. */
  async webhook(kind: string, channelId: string, raw: Buffer, headers: WebhookHeaders): Promise<WebhookAnswer> {
    const a = this.active.get(channelId);
    const receiver = a?.runner.connector.webhook;
    if (!a || a.record.kind !== kind || !receiver) return { status: 404, detail: `no active ${kind} channel "${channelId}" takes webhooks` };
    const count = (outcome: string) => this.metrics.webhooks.inc({ channel: channelId, outcome });
    let verified = false;
    try {
      verified = receiver.verify(raw, headers);
    } catch {
      verified = false;
    }
    if (!verified) {
      count('bad-signature');
      a.runner.reportError({ message: 'webhook with a bad signature refused (401)', retryable: false });
      return { status: 401, detail: 'signature does not match the raw body' };
    }
    const deliveryId = receiver.deliveryId(raw, headers);
    if (deliveryId !== null && !(await claimDelivery(this.o.db, channelId, deliveryId))) {
      count('duplicate');
      return { status: 200, outcome: 'duplicate', duplicate: true };
    }
    try {
      const r = await receiver.handle(raw, headers);
      if (r.outcome === 'malformed' || r.outcome === 'unknown-topic') {
        let payload: unknown = raw.toString('utf8').slice(0, 64 * 1024);
        try {
          payload = JSON.parse(payload as string);
        } catch {
          // kept as text
        }
        await addQuarantine(this.o.db, channelId, [{ channelRef: deliveryId ?? 'webhook', reason: `${r.outcome}: ${r.detail ?? ''}`.trim(), payload }]);
        this.metrics.quarantined.inc({ channel: channelId });
      }
      if (deliveryId !== null) await settleDelivery(this.o.db, channelId, deliveryId, r.outcome);
      count(r.outcome);
      if (r.outcome === 'malformed' && receiver.refusesMalformed) return { status: 400, detail: r.detail ?? 'malformed body' };
      return {
        status: 200, outcome: r.outcome, duplicate: false, ...(r.detail ? { detail: r.detail } : {}),
        ...(r.accepted !== undefined ? { accepted: r.accepted } : {}), ...(r.duplicates !== undefined ? { duplicates: r.duplicates } : {}),
        ...(r.rejected ? { rejected: r.rejected } : {}),
      };
    } catch (err) {
      if (deliveryId !== null) await forgetDelivery(this.o.db, channelId, deliveryId).catch(() => {});
      count('failed');
      a.runner.reportError({ message: `webhook failed: ${(err as Error).message}`, retryable: true });
      this.o.logger.warn({ err, channel: channelId }, 'webhook handler failed; the channel will retry');
      return { status: 500, detail: 'the delivery could not be processed; retry' };
    }
  }

  relevantLocationsOf(id: string): Set<string> {
    const a = this.active.get(id);
    return a ? relevantLocations(a.published.shape) : new Set();
  }
}
