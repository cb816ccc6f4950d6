// Applies drizzle-kit's migrations from ./drizzle. On a server, an advisory lock keeps two
// processes that start together (api and reconciler) from migrating at once.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as runPgliteMigrations } from 'drizzle-orm/pglite/migrator';
import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';

export const MIGRATIONS_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');
const MIGRATION_LOCK = 727_001;

/** `folder` is for tests of upgrades; the service always migrates from MIGRATIONS_FOLDER. */
export async function migratePgPool(pool: pg.Pool, folder: string = MIGRATIONS_FOLDER): Promise<void> {
  const client = await pool.connect();
  try {
    // A migration may take its time whatever the pool's statement timeout (API role).
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migratePg(drizzlePg(client), { migrationsFolder: folder });
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    await client.query('RESET statement_timeout').catch(() => {});
    client.release();
  }
}

export async function migratePglite(db: PGlite, folder: string = MIGRATIONS_FOLDER): Promise<void> {
  await runPgliteMigrations(drizzlePglite(db), { migrationsFolder: folder });
}
