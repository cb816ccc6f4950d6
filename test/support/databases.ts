// Per-test-file databases. PostgreSQL: a fresh database cloned from the migrated template that
// global-setup.ts builds once per run (CREATE DATABASE ... TEMPLATE is a file copy, far faster
// than migrating every time). PGlite: a throwaway data directory.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * The migrated template is `omnistock_template_<pid of the vitest main process>`: one per run, so
 * two runs on one machine (CI and a developer, two engineers) never drop each other's template.
 * Global setup drops templates whose run is gone; workers learn the name via inject().
 */
export const TEMPLATE_DATABASE_PREFIX = 'omnistock_template';

// `inject` exists only inside a test worker (importing 'vitest' in globalSetup's process throws).
const vitestInject = process.env.VITEST_WORKER_ID !== undefined ? (await import('vitest')).inject : undefined;

/** This run's template database (provided by global setup). */
export function templateDatabase(): string {
  const name = vitestInject?.('pgTemplateDatabase');
  if (!name) throw new Error('no template database: is test/support/global-setup.ts configured as vitest globalSetup?');
  return name;
}
/** Test databases are named `${TEST_DATABASE_PREFIX}<pid>_<random>`; global setup drops those whose process is gone. */
export const TEST_DATABASE_PREFIX = 'omnistock_t_';

export function pgAdminUrl(): string {
  return process.env.TEST_PG_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** The admin URL with another database name. */
export function pgUrlFor(database: string, adminUrl: string = pgAdminUrl()): string {
  const u = new URL(adminUrl);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Runs `fn` with one admin connection. */
export async function withAdminClient<T>(fn: (client: pg.Client) => Promise<T>, adminUrl: string = pgAdminUrl()): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {}); // a server-side disconnect after use must not crash the worker
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export interface PgTestDatabase {
  /** postgres:// URL of the new database. */
  url: string;
  /** Drops the database (terminating any connections still open). Idempotent. */
  drop(): Promise<void>;
}

/** A new, migrated database of its own: CREATE DATABASE <unique> TEMPLATE <this run's template>. */
export async function createPgTestDatabase(): Promise<PgTestDatabase> {
  const name = `${TEST_DATABASE_PREFIX}${process.pid}_${randomBytes(5).toString('hex')}`;
  const template = templateDatabase();
  await withAdminClient(async (client) => {
    // A connection to the template (global setup's, just closed) can linger for a moment.
    const deadline = Date.now() + 10_000;
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`);
        return;
      } catch (err) {
        const e = err as { code?: string; message?: string };
        const busy = e.code === '55006' || /being accessed by other users/.test(e.message ?? '');
        if (!busy || Date.now() > deadline) {
          if (e.code === '3D000') throw new Error(`template database ${template} does not exist (dropped by hand?)`);
          throw err;
        }
        await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 500)));
      }
    }
  });
  let dropped = false;
  return {
    url: pgUrlFor(name),
    async drop() {
      if (dropped) return;
      await withAdminClient((client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
      dropped = true;
    },
  };
}

/** A new empty directory under os.tmpdir() for a PGlite data dir. */
export function createPgliteTestDir(): { dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnistock-pglite-'));
  return {
    dir,
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
