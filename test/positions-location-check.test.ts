// Migration 0011 replaced the positions → locations foreign key with a statement-level check.
// It must refuse what the foreign key refused, on both databases: a position at an unknown
// location (alone or among valid ones, by plain insert or by the reconciler's upsert), and
// deleting or renaming a location that positions still refer to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlState } from '../src/db/database.js';
import { openTestDb, type Kind, type TestDatabase } from './support/test-database.js';

describe.each<Kind>(['pg', 'pglite'])('positions need an existing location, on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDb(kind);
    for (const id of ['loc-a', 'loc-b', 'loc-empty']) {
      await t.db.query("INSERT INTO locations (id, name, type, lat, lon) VALUES ($1, $1, 'store', 1, 1)", [id]);
    }
  });
  afterAll(async () => t?.close());

  const refusal = async (p: Promise<unknown>) => {
    const err = await p.then(() => null, (e: unknown) => e);
    expect(err, 'the statement should have been refused').not.toBeNull();
    return { state: sqlState(err), message: (err as Error).message };
  };
  const positionsAt = async (sku: string) =>
    (await t.db.query<{ location_id: string }>('SELECT location_id FROM positions WHERE sku = $1 ORDER BY location_id', [sku])).map((r) => r.location_id);

  it('accepts positions at known locations', async () => {
    await t.db.query("INSERT INTO positions (sku, location_id) VALUES ('ok-1', 'loc-a'), ('ok-1', 'loc-b')");
    expect(await positionsAt('ok-1')).toEqual(['loc-a', 'loc-b']);
  });

  it('refuses a whole statement that holds one unknown location, with the foreign-key SQLSTATE', async () => {
    const r = await refusal(t.db.query("INSERT INTO positions (sku, location_id) VALUES ('bad-1', 'loc-a'), ('bad-1', 'loc-nowhere')"));
    expect(r.state).toBe('23503');
    expect(await positionsAt('bad-1')).toEqual([]);
  });

  it('checks the rows an upsert inserts, not only plain inserts', async () => {
    const r = await refusal(t.db.query(
      `INSERT INTO positions AS p (sku, location_id, on_hand) VALUES ('ok-1', 'loc-a', 5), ('bad-2', 'loc-nowhere', 1)
       ON CONFLICT (sku, location_id) DO UPDATE SET on_hand = p.on_hand + EXCLUDED.on_hand`));
    expect(r.state).toBe('23503');
    const [row] = await t.db.query<{ on_hand: number }>("SELECT on_hand FROM positions WHERE sku = 'ok-1' AND location_id = 'loc-a'");
    expect(row?.on_hand).toBe(0);
    expect(await positionsAt('bad-2')).toEqual([]);
  });

  it('refuses deleting or renaming a location with positions, and allows it for one without', async () => {
    expect((await refusal(t.db.query("DELETE FROM locations WHERE id = 'loc-b'"))).state).toBe('23503');
    expect((await refusal(t.db.query("UPDATE locations SET id = 'loc-b2' WHERE id = 'loc-b'"))).state).toBe('23503');
    await t.db.query("UPDATE locations SET name = 'renamed' WHERE id = 'loc-b'");
    await t.db.query("DELETE FROM locations WHERE id = 'loc-empty'");
    const ids = (await t.db.query<{ id: string }>('SELECT id FROM locations ORDER BY id')).map((r) => r.id);
    expect(ids).toEqual(['loc-a', 'loc-b']);
  });
});
