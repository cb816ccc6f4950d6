// Wires the adapters around the core for one process: database, event log, reconciler and
// HTTP API. `roles` decides which parts run, so one binary serves the single-machine default
// (everything) and the scaled-out production layout (api and reconciler apart).
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { SCOPES, type ApiToken, type Config } from '../config.js';
import type { Database } from '../db/database.js';
import { openDatabase } from '../db/open-database.js';
import type { EventLog } from '../eventlog/event-log.js';
import { buildApp, type RouteRegistrar } from '../http/app.js';
import { EventIngest } from '../ingest/ingest-events.js';
import type { PositionKey } from '../ledger/ledger-row.js';
import { createLogger, type Logger } from '../logger.js';
import { createMetrics, type Metrics } from '../metrics.js';
import { Reconciler } from '../reconciler/reconciler.js';
import { readConsumerLag } from '../reconciler/consumer-lag.js';
import { createEventLog } from './event-log-factory.js';
import { startEmbeddedLogRetention } from '../eventlog/embedded-log-retention.js';
import { ReservationService } from '../reservations/reservation-service.js';
import { startExpiryJob } from '../reservations/expiry-job.js';
import { reservationRoutes } from '../http/routes/reservations.js';
import { routingRoutes } from '../http/routes/routing.js';
import { RoutingIndex } from '../routing/routing-index.js';
import { RoutingService } from '../routing/routing-service.js';
import { RejectService } from '../routing/reject-service.js';
import { staffRoutes } from '../http/routes/staff.js';
import { webAppRoutes } from '../http/web-app.js';
import { StoreQueue } from '../staff/store-queue.js';
import { BacklogMonitor } from '../ingest/backlog-monitor.js';
import { ChannelEngine } from '../channels/channel-engine.js';
import { channelRoutes } from '../http/routes/channels.js';
import { webhookRoutes } from '../http/routes/webhooks.js';
import { builtinKinds, type ChannelKindRegistry } from '../../connectors/registry.js';
import { postalLookup } from '../routing/postal-code-store.js';

export type Role = 'api' | 'reconciler';

export const API_STATEMENT_TIMEOUT_MS = 15_000;

export interface ServiceOptions {
  config: Config;
  roles: readonly Role[];
  logger?: Logger;
  /** Where the generated dev token is announced (stdout by default). */
  announce?: (line: string) => void;
  /** Channel kinds (default: every kind this build ships). */
  channelKinds?: ChannelKindRegistry;
  /** node-cron expression of the channel drift job (default every 5 minutes); null: not scheduled. */
  channelDriftCron?: string | null;
}

export interface RunningService {
  config: Config;
  db: Database;
  log: EventLog;
  metrics: Metrics;
  logger: Logger;
  app: FastifyInstance | null;
  reconciler: Reconciler | null;
  /** The base URL: the API, or only the operator endpoints when the API role does not run here. */
  url: string | null;
  tokens: ApiToken[];
  /** Routing (contract §7) when the API role runs. */
  routing: RoutingService | null;
  /** The channel sync engine (issue 14) when the API role runs. */
  channels: ChannelEngine | null;
  /** In-process listeners of ledger changes (routing index, publishers). */
  onPositionsChanged(listener: (keys: PositionKey[]) => void): void;
  stop(): Promise<void>;
}

export function devToken(): ApiToken {
  return { name: 'dev', secret: `dev_${randomBytes(18).toString('base64url')}`, scopes: [...SCOPES] };
}

export async function startService(opts: ServiceOptions): Promise<RunningService> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  // An API-only process bounds every statement (15 s; then 503 and a resend); a reconciler's
  // batch transactions are not bounded this way (src/http/unavailable.ts).
  const apiOnly = opts.roles.length === 1 && opts.roles[0] === 'api';
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, statementTimeoutMs: apiOnly ? API_STATEMENT_TIMEOUT_MS : undefined });
  const log = createEventLog(config, db, logger);
  const listeners: Array<(keys: PositionKey[]) => void> = [];
  let started = false;

  let reconciler: Reconciler | null = null;
  if (opts.roles.includes('reconciler')) {
    reconciler = new Reconciler({
      db, log, metrics, logger: logger.child({ component: 'reconciler' }),
      eventsTopic: config.kafkaEventsTopic, atpTopic: config.kafkaAtpTopic, groupId: config.consumerGroup,
      onChanged: (keys) => listeners.forEach((l) => l(keys)),
    });
    await reconciler.start();
    metrics.setConsumerLagSource(() => readConsumerLag(db, log, config.consumerGroup, config.kafkaEventsTopic));
  }

  // Reservations change `reserved`: the same in-process listeners hear of it. The expiry job
  // runs in every process (safe with several: see expiry-job.ts).
  const reservations = new ReservationService({ db, onChanged: (keys) => listeners.forEach((l) => l(keys)) });
  const expiry = startExpiryJob(reservations, { logger: logger.child({ component: 'reservation-expiry' }) });
  // The embedded log's retention runs where it is consumed (see embedded-log-retention.ts).
  const retention = reconciler && log.kind === 'embedded' ? startEmbeddedLogRetention(db, logger.child({ component: 'embedded-log' }), [config.kafkaEventsTopic]) : null;

  let app: FastifyInstance | null = null;
  let url: string | null = null;
  let tokens: ApiToken[] = config.apiTokens ?? [];
  let routingIndex: RoutingIndex | null = null;
  let routing: RoutingService | null = null;
  let backlog: BacklogMonitor | null = null;
  let channels: ChannelEngine | null = null;
  if (opts.roles.includes('api')) {
    if (!config.apiTokens) {
      const t = devToken();
      tokens = [t];
      (opts.announce ?? ((l) => process.stdout.write(`${l}\n`)))(`API_TOKENS unset: dev token with every scope: ${t.secret}`);
    }
    const ingest = new EventIngest(db, log, config.kafkaEventsTopic);
    const extra: RouteRegistrar[] = [reservationRoutes(reservations)];
    // Routing plans on an in-memory index kept current by the same listeners (see routing-index.ts).
    const index = new RoutingIndex({ db, logger: logger.child({ component: 'routing-index' }) });
    listeners.push((keys) => index.notePositionsChanged(keys));
    await index.start();
    routingIndex = index;
    routing = new RoutingService({ db, index, onChanged: (keys) => listeners.forEach((l) => l(keys)) });
    const rejects = new RejectService({ db, routing });
    extra.push(routingRoutes(routing, rejects));
    // The staff app (issue 16): store queues, stock lookup, and the web app itself at /app.
    extra.push(staffRoutes(new StoreQueue({ db, rejects, onChanged: (keys) => listeners.forEach((l) => l(keys)) })), webAppRoutes());
    backlog = new BacklogMonitor({
      db, log, groupId: config.consumerGroup, topic: config.kafkaEventsTopic, logger: logger.child({ component: 'backlog' }), registry: metrics.registry,
      limits: { maxMessages: config.eventBacklogLimit, maxSeconds: config.eventLagLimitSeconds },
    });
    backlog.start();
    // Channels: their own consumer group on inventory.atp, plus the in-process listeners for low lag.
    const kinds = opts.channelKinds ?? builtinKinds({ postal: postalLookup(db) });
    const engine = new ChannelEngine({
      db, log, atpTopic: config.kafkaAtpTopic, groupId: `${config.consumerGroup}.channels`,
      ingest: (events) => ingest.ingest(events), reservations, routingIndex: index, routing, registry: metrics.registry, kinds,
      logger: logger.child({ component: 'channels' }),
      driftCron: opts.channelDriftCron !== undefined ? opts.channelDriftCron : config.channelDriftCron,
    });
    channels = engine;
    listeners.push((keys) => engine.notePositionsChanged(keys));
    extra.push(channelRoutes(engine, kinds), webhookRoutes(engine));
    app = await buildApp({ config, db, log, ingest, metrics, logger, isStarted: () => started, backlog }, tokens, extra);
  } else {
    // A reconciler alone still answers /healthz, /readyz and /metrics (its own figures: events
    // applied, batch latency, consumer lag), on the same PORT and HOST.
    const ingest = new EventIngest(db, log, config.kafkaEventsTopic);
    app = await buildApp({ config, db, log, ingest, metrics, logger, isStarted: () => started }, [], [], { api: false });
  }
  const stopAll = async () => {
    started = false;
    await app.close();
    await backlog?.stop();
    await channels?.stop();
    await expiry.stop();
    await retention?.stop();
    await routingIndex?.stop();
    await reconciler?.stop();
    await log.close();
    await db.close();
  };
  try {
    await channels?.start();
  } catch (err) {
    await stopAll().catch(() => {});
    throw err;
  }
  try {
    url = await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    // Nothing half-started may linger: the reconciler would keep consuming in a process that
    // is about to exit with this error.
    await stopAll().catch(() => {});
    const role = opts.roles.includes('api') ? 'the API' : 'the operator endpoints (/healthz, /readyz, /metrics)';
    throw new Error(`cannot listen on ${config.host}:${config.port} for ${role}: ${(err as Error).message}. Set PORT (and HOST) to a free address; every process needs its own.`, { cause: err });
  }
  started = true;
  logger.info({ roles: opts.roles, database: db.kind, eventLog: log.kind, url }, 'omnistock started');

  return {
    config, db, log, metrics, logger, app, reconciler, url, tokens, routing, channels,
    onPositionsChanged: (l) => listeners.push(l),
    stop: stopAll,
  };
}
