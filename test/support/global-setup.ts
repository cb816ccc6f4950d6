// vitest globalSetup: runs once per `vitest run`, before any test file.
// 1. PostgreSQL at TEST_PG_ADMIN_URL (default 127.0.0.1:5432) is up (starting the local cluster if not);
// 2. a migrated template database, omnistock_template_<pid>, built from scratch for this run
//    (and dropped at teardown) for createPgTestDatabase() to clone — per run, so concurrent
//    runs on one machine do not drop each other's template;
// 3. one shared Kafka for the run: KAFKA_BROKERS if set, else a librdkafka mock broker,
//    exposed as inject('kafkaBrokers') (see kafkaBrokersForTests()).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { TestProject } from 'vitest/node';
import type pg from 'pg';
import { openDatabase } from '../../src/db/open-database.js';
import { pgAdminUrl, pgUrlFor, quoteIdent, TEMPLATE_DATABASE_PREFIX, TEST_DATABASE_PREFIX, withAdminClient } from './databases.js';
import { parseBrokerList, startMockKafka, type MockKafka } from './kafka-broker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port list of the run's shared Kafka (real if KAFKA_BROKERS is set, else the mock). */
    kafkaBrokers: string[];
    /** Name of this run's migrated template database. */
    pgTemplateDatabase: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await ensurePostgres();
  const template = `${TEMPLATE_DATABASE_PREFIX}_${process.pid}`;
  await buildTemplateDatabase(template);
  project.provide('pgTemplateDatabase', template);

  let mock: MockKafka | null = null;
  const fromEnv = parseBrokerList(process.env.KAFKA_BROKERS);
  if (fromEnv.length > 0) {
    project.provide('kafkaBrokers', fromEnv);
  } else {
    try {
      mock = await startMockKafka();
    } catch (err) {
      await withAdminClient((client) => dropTemplate(client, template)).catch(() => {});
      throw err;
    }
    project.provide('kafkaBrokers', mock.brokers);
  }

  return async () => {
    await mock?.stop();
    await withAdminClient((client) => dropTemplate(client, template));
  };
}

async function canConnect(): Promise<boolean> {
  try {
    await withAdminClient((c) => c.query('SELECT 1'));
    return true;
  } catch {
    return false;
  }
}

async function ensurePostgres(): Promise<void> {
  if (await canConnect()) return;
  const versions = fs.existsSync('/etc/postgresql') ? fs.readdirSync('/etc/postgresql').sort() : [];
  if (versions.length === 0) {
    throw new Error(`PostgreSQL is not reachable at ${redact(pgAdminUrl())} and none is installed (apt-get install -y postgresql, or set TEST_PG_ADMIN_URL)`);
  }
  for (const v of versions) {
    try {
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', v, 'main', 'start'], { stdio: 'pipe', timeout: 60_000 });
    } catch {
      // Already running, or another version's cluster: the connection check below decides.
    }
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await canConnect()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`PostgreSQL is not reachable at ${redact(pgAdminUrl())} (tried pg_ctlcluster start for ${versions.join(', ')})`);
}

/** Creates this run's template and migrates it, after dropping leftovers of runs that are gone. */
async function buildTemplateDatabase(template: string): Promise<void> {
  await withAdminClient(async (client) => {
    await dropStaleDatabases(client);
    await dropTemplate(client, template); // same pid as a dead earlier run: start clean
    await client.query(`CREATE DATABASE ${quoteIdent(template)}`);
  });
  try {
    const db = await openDatabase({ databaseUrl: pgUrlFor(template), poolSize: 1 });
    await db.close();
    await withAdminClient((client) => client.query(`ALTER DATABASE ${quoteIdent(template)} IS_TEMPLATE true`));
  } catch (err) {
    await withAdminClient((client) => dropTemplate(client, template)).catch(() => {});
    throw err;
  }
}

/** A template is marked IS_TEMPLATE, which DROP DATABASE refuses: unmark it first. */
async function dropTemplate(client: pg.Client, name: string): Promise<void> {
  const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [name]);
  if ((rows[0]?.n ?? 0) === 0) return;
  await client.query(`ALTER DATABASE ${quoteIdent(name)} IS_TEMPLATE false`);
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/**
 * Drops templates and test databases of earlier runs that died before cleaning up. Their names
 * carry the pid of the process that made them, so this is only done (and only meaningful) when
 * the server is on this machine; a live pid's databases are left alone.
 */
async function dropStaleDatabases(client: pg.Client): Promise<void> {
  if (!['127.0.0.1', 'localhost', '[::1]', ''].includes(new URL(pgAdminUrl()).hostname)) return;
  const { rows } = await client.query<{ datname: string }>(
    'SELECT datname FROM pg_database WHERE starts_with(datname, $1) OR starts_with(datname, $2)',
    [TEST_DATABASE_PREFIX, TEMPLATE_DATABASE_PREFIX],
  );
  for (const { datname } of rows) {
    const pid = Number(/^(?:omnistock_t_|omnistock_template_)(\d+)(?:_[0-9a-f]+)?$/.exec(datname)?.[1]);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) continue;
    await dropTemplate(client, datname).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
