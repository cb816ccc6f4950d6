// The deployments the spine suite runs on. Each gives a fresh database and log, and the
// environment a child `omnistock serve` needs to join them.
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { createPgTestDatabase } from '../support/databases.js';

export const TOKENS = 'ops:ops-secret:events:write+stock:read+stock:write+reservations+routing+admin,reader:reader-secret:stock:read';
export const OPS = { authorization: 'Bearer ops-secret' };

export interface Deployment {
  name: string;
  /** Several processes can share it (server PostgreSQL); PGlite belongs to one process. */
  multiProcess: boolean;
  kafka: boolean;
  env: Record<string, string>;
  config(overrides?: Record<string, string>): Config;
  cleanup(): Promise<void>;
}

function unique(prefix: string) {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

function make(name: string, env: Record<string, string>, multiProcess: boolean, cleanup: () => Promise<void>): Deployment {
  const full = { API_TOKENS: TOKENS, PORT: '0', LOG_LEVEL: 'warn', ...env };
  return {
    name, multiProcess, kafka: Boolean(env.KAFKA_BROKERS), env: full,
    config: (o = {}) => loadConfig({ ...full, ...o }),
    cleanup,
  };
}

export async function pgKafkaDeployment(): Promise<Deployment> {
  const db = await createPgTestDatabase();
  const brokers = inject('kafkaBrokers');
  return make('postgres+kafka', {
    DATABASE_URL: db.url,
    KAFKA_BROKERS: brokers.join(','),
    KAFKA_EVENTS_TOPIC: unique('events'),
    KAFKA_ATP_TOPIC: unique('atp'),
    RECONCILER_GROUP: unique('reconciler'),
  }, true, db.drop);
}

export async function pgEmbeddedLogDeployment(): Promise<Deployment> {
  const db = await createPgTestDatabase();
  return make('postgres+embedded log', { DATABASE_URL: db.url }, true, db.drop);
}

export async function embeddedDeployment(): Promise<Deployment> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnistock-embedded-'));
  return make('embedded (PGlite)', { DATA_DIR: dir }, false, async () => fs.rmSync(dir, { recursive: true, force: true }));
}
