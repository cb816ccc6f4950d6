// A throwaway, migrated PostgreSQL database for the staff app's benchmarks.
import pg from 'pg';
import type { Database } from '../src/db/database.js';
import { openDatabase } from '../src/db/open-database.js';

export async function benchDatabase(prefix: string): Promise<{ db: Database; url: string; drop: () => Promise<void> }> {
  const adminUrl = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `${prefix}_${process.pid}_${Date.now()}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try { await c.query(sql); } finally { await c.end(); }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const db = await openDatabase({ databaseUrl: u.toString() });
  return {
    db, url: u.toString(),
    drop: async () => {
      await db.close().catch(() => {});
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
    },
  };
}
