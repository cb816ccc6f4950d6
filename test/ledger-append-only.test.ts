// Contract §6: the ledger is append-only. The database refuses to change or remove entries, on
// both kinds of database; appending (INSERT and COPY, as the writer does) still works.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type Kind, type TestDatabase } from './support/test-database.js';

describe.each(['pg', 'pglite'] as Kind[])('ledger_entries on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDb(kind);
  });
  afterAll(async () => {
    await t.close();
  });

  const insert = (id: string) =>
    t.db.query("INSERT INTO ledger_entries (event_id, kind, sku, location_id, occurred_at, on_hand_delta) VALUES ($1, 'stock.received', 'AO-1', 'ams-01', now(), 3)", [id]);

  it('takes new entries, by INSERT and by COPY', async () => {
    await insert('ao-1');
    await t.db.copyIn('ledger_entries', ['event_id', 'kind', 'sku', 'location_id', 'occurred_at', 'on_hand_delta'], 'ao-2\tstock.sold\tAO-1\tams-01\t2026-11-20T08:00:00Z\t-1\n');
    expect((await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM ledger_entries WHERE sku = 'AO-1'"))[0]!.n).toBe(2);
  });

  it.each([
    ['UPDATE', "UPDATE ledger_entries SET on_hand_delta = 100 WHERE event_id = 'ao-1'"],
    ['DELETE', "DELETE FROM ledger_entries WHERE event_id = 'ao-1'"],
    ['TRUNCATE', 'TRUNCATE ledger_entries'],
  ])('refuses %s', async (op, sql) => {
    await expect(t.db.query(sql)).rejects.toMatchObject({ code: '55000', message: expect.stringContaining(`append-only: ${op} refused`) });
    const rows = await t.db.query<{ on_hand_delta: number }>("SELECT on_hand_delta::int AS on_hand_delta FROM ledger_entries WHERE sku = 'AO-1' ORDER BY id");
    expect(rows.map((r) => r.on_hand_delta)).toEqual([3, -1]);
  });
});
