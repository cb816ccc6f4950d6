// Upgrades, not just fresh databases: drizzle's migrator applies only the journal's migrations
// newer (by their `when`) than the newest one a database has recorded. 0011 was once dated
// before 0010, so a database migrated up to 0010 never got it. These tests migrate a database
// with an older migrations folder first, then with the real one, on both kinds of database.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, migratePglite, migratePgPool } from '../src/db/migrate.js';
import { pgUrlFor, quoteIdent, TEST_DATABASE_PREFIX, withAdminClient } from './support/databases.js';

interface JournalEntry { idx: number; tag: string; when: number }
const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: JournalEntry[] };

const folders: string[] = [];
afterAll(() => { for (const f of folders) fs.rmSync(f, { recursive: true, force: true }); });

/** A migrations folder holding the journal's entries up to `lastTag`, with `when` rewritten by `when`. */
function olderFolder(lastTag: string, when: (e: JournalEntry) => number = (e) => e.when): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnistock-migrations-'));
  folders.push(dir);
  fs.mkdirSync(path.join(dir, 'meta'));
  const last = journal.entries.findIndex((e) => e.tag === lastTag);
  if (last < 0) throw new Error(`no migration ${lastTag}`);
  const entries = journal.entries.slice(0, last + 1).map((e) => ({ ...e, when: when(e) }));
  fs.writeFileSync(path.join(dir, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries }));
  for (const e of entries) fs.copyFileSync(path.join(MIGRATIONS_FOLDER, `${e.tag}.sql`), path.join(dir, `${e.tag}.sql`));
  return dir;
}

interface Target {
  migrate(folder?: string): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

const targets: Record<'pg' | 'pglite', () => Promise<Target>> = {
  pglite: async () => {
    const db = new PGlite();
    return {
      migrate: (folder) => migratePglite(db, folder),
      query: async (sql, params) => (await db.query<Record<string, unknown>>(sql, params)).rows,
      close: () => db.close(),
    };
  },
  pg: async () => {
    // An empty database (the per-file helper clones an already migrated template).
    const name = `${TEST_DATABASE_PREFIX}${process.pid}_${randomBytes(5).toString('hex')}`;
    await withAdminClient((c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
    const pool = new pg.Pool({ connectionString: pgUrlFor(name), max: 2 });
    return {
      migrate: (folder) => migratePgPool(pool, folder),
      query: async (sql, params) => (await pool.query(sql, params)).rows as Array<Record<string, unknown>>,
      close: async () => {
        await pool.end();
        await withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
      },
    };
  },
};

/** What 0011 makes: the statement-level location check in place of the foreign key. */
async function expectLocationCheck(t: Target) {
  const triggers = await t.query("SELECT tgname FROM pg_trigger WHERE tgname IN ('positions_locations_exist', 'locations_keep_referenced') ORDER BY tgname");
  expect(triggers.map((r) => r.tgname)).toEqual(['locations_keep_referenced', 'positions_locations_exist']);
  expect(await t.query("SELECT 1 FROM pg_constraint WHERE conname = 'positions_location_id_locations_id_fk'")).toEqual([]);
  await expect(t.query("INSERT INTO positions (sku, location_id) VALUES ('A-1', 'nowhere')")).rejects.toMatchObject({ code: '23503' });
}

describe('the migrations journal', () => {
  it('dates every migration after the one before it', () => {
    const whens = journal.entries.map((e) => e.when);
    for (let i = 1; i < whens.length; i++) expect(whens[i], journal.entries[i]!.tag).toBeGreaterThan(whens[i - 1]!);
  });
});

describe.each(['pg', 'pglite'] as const)('migrating an existing %s database', (kind) => {
  it('takes 0011 when upgraded from 0010', async () => {
    const t = await targets[kind]();
    try {
      await t.migrate(olderFolder('0010_byte_order_keys'));
      expect(await t.query("SELECT 1 FROM pg_constraint WHERE conname = 'positions_location_id_locations_id_fk'")).toHaveLength(1);
      await t.migrate();
      await expectLocationCheck(t);
    } finally {
      await t.close();
    }
  });

  it('runs 0011 again harmlessly where it was applied under its old date', async () => {
    const t = await targets[kind]();
    try {
      // As a fresh database migrated before the fix recorded it: 0011 dated before 0010.
      await t.migrate(olderFolder('0011_positions_location_check', (e) => (e.tag.startsWith('0011') ? 1795458944294 : e.when)));
      await t.query("INSERT INTO locations (id, name, type, lat, lon) VALUES ('ams-01', 'ams', 'store', 1, 1)");
      await t.query("INSERT INTO positions (sku, location_id, on_hand) VALUES ('A-1', 'ams-01', 4)");
      await t.migrate();
      await expectLocationCheck(t);
      expect(await t.query("SELECT on_hand::int4 AS on_hand FROM positions WHERE sku = 'A-1'")).toEqual([{ on_hand: 4 }]);
      // 0011 is recorded again under its corrected date, the newest, so it will not run a third time.
      const newest = await t.query('SELECT max(created_at)::text AS at FROM drizzle.__drizzle_migrations');
      expect(newest[0]!.at).toBe(String(journal.entries.at(-1)!.when));
    } finally {
      await t.close();
    }
  });
});
