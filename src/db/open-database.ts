// Picks the adapter from the configuration and brings the schema up to date.
import fs from 'node:fs';
import type { Database } from './database.js';
import { openPgDatabase } from './pg-database.js';
import { openPgliteDatabase } from './pglite-database.js';
import { migratePgPool, migratePglite } from './migrate.js';

export async function openDatabase(opts: { databaseUrl?: string | undefined; dataDir?: string | undefined; poolSize?: number; statementTimeoutMs?: number }): Promise<Database> {
  if (opts.databaseUrl) {
    const db = openPgDatabase(opts.databaseUrl, { max: opts.poolSize ?? 10, statementTimeoutMs: opts.statementTimeoutMs });
    await migratePgPool(db.pool);
    return db;
  }
  if (opts.dataDir) fs.mkdirSync(opts.dataDir, { recursive: true });
  const db = await openPgliteDatabase(opts.dataDir);
  await migratePglite(db.pglite);
  return db;
}
