// One database per test file, of either kind the service runs on: a PostgreSQL database cloned
// from the run's migrated template, or PGlite (in memory, or in a throwaway data directory).
import type { Database } from '../../src/db/database.js';
import { openDatabase } from '../../src/db/open-database.js';
import { createPgTestDatabase, createPgliteTestDir } from './databases.js';

export type Kind = 'pg' | 'pglite';

export interface TestDatabase {
  db: Database;
  /** The PostgreSQL URL (for child processes); null for PGlite. */
  url: string | null;
  close(): Promise<void>;
}

export async function openTestDb(kind: Kind, opts: { poolSize?: number; pgliteOnDisk?: boolean } = {}): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const dir = opts.pgliteOnDisk ? createPgliteTestDir() : null;
    const db = await openDatabase({ dataDir: dir?.dir });
    return { db, url: null, close: async () => { await db.close(); dir?.cleanup(); } };
  }
  const t = await createPgTestDatabase();
  const db = await openDatabase({ databaseUrl: t.url, poolSize: opts.poolSize ?? 10 });
  return { db, url: t.url, close: async () => { await db.close(); await t.drop(); } };
}
