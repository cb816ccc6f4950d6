// Configuration, parsed once at start (contract §1). Nothing else reads process.env.
import cron from 'node-cron';
import { z } from 'zod';

export const SCOPES = ['events:write', 'stock:read', 'stock:write', 'reservations', 'routing', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiToken {
  name: string;
  secret: string;
  scopes: Scope[];
}

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  kafkaBrokers: string[] | undefined;
  /** Undefined means: generate one `dev` token with every scope and print it once. */
  apiTokens: ApiToken[] | undefined;
  kafkaEventsTopic: string;
  kafkaAtpTopic: string;
  consumerGroup: string;
  logLevel: string;
  /** POST /v1/events answers 429 past these (0 = no bound); see src/ingest/backlog-monitor.ts. */
  eventBacklogLimit: number;
  eventLagLimitSeconds: number;
  /** node-cron expression of the channel drift job; null: not scheduled (CHANNEL_DRIFT_CRON=off). */
  channelDriftCron: string | null;
}

/** `name:secret:scopes`, split on the first two colons only: scopes contain colons themselves. */
export function parseApiTokens(raw: string): ApiToken[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const first = entry.indexOf(':');
      const second = first < 0 ? -1 : entry.indexOf(':', first + 1);
      if (first <= 0 || second < 0) throw new Error(`API_TOKENS entry "${entry.split(':')[0]}" must be name:secret:scopes`);
      const name = entry.slice(0, first);
      const secret = entry.slice(first + 1, second);
      const scopes = entry.slice(second + 1).split('+').filter(Boolean);
      if (!secret) throw new Error(`API_TOKENS entry "${name}" has an empty secret`);
      for (const s of scopes) {
        if (!(SCOPES as readonly string[]).includes(s)) throw new Error(`API_TOKENS entry "${name}" has unknown scope "${s}"`);
      }
      return { name, secret, scopes: scopes as Scope[] };
    });
}

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: z.string().min(1).optional(),
  DATA_DIR: z.string().min(1).default('./.data'),
  KAFKA_BROKERS: z.string().min(1).optional(),
  API_TOKENS: z.string().min(1).optional(),
  KAFKA_EVENTS_TOPIC: z.string().default('inventory.events'),
  KAFKA_ATP_TOPIC: z.string().default('inventory.atp'),
  RECONCILER_GROUP: z.string().default('omnistock-reconciler'),
  LOG_LEVEL: z.string().default('info'),
  EVENT_BACKLOG_LIMIT: z.coerce.number().int().min(0).default(100_000),
  EVENT_LAG_LIMIT_SECONDS: z.coerce.number().min(0).default(30),
  CHANNEL_DRIFT_CRON: z.string().trim().default('*/5 * * * *')
    .refine((v) => v === 'off' || cron.validate(v), 'must be a cron expression (e.g. "*/5 * * * *", seconds allowed as a sixth field first) or "off"'),
});

/** The environment variables this service reads (the docker-compose test checks against it). */
export const CONFIG_ENV_KEYS = Object.keys(envSchema.shape);

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${msg}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    kafkaBrokers: e.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean),
    apiTokens: e.API_TOKENS ? parseApiTokens(e.API_TOKENS) : undefined,
    kafkaEventsTopic: e.KAFKA_EVENTS_TOPIC,
    kafkaAtpTopic: e.KAFKA_ATP_TOPIC,
    consumerGroup: e.RECONCILER_GROUP,
    logLevel: e.LOG_LEVEL,
    eventBacklogLimit: e.EVENT_BACKLOG_LIMIT,
    eventLagLimitSeconds: e.EVENT_LAG_LIMIT_SECONDS,
    channelDriftCron: e.CHANNEL_DRIFT_CRON === 'off' ? null : e.CHANNEL_DRIFT_CRON,
  };
}
