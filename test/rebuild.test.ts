// rebuildPositions against the ledger directly, on both databases: positions that exist only in
// the ledger are found, recreated where their location exists, and reported where it does not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildPositions } from '../src/ledger/rebuild.js';
import { openTestDb, type Kind, type TestDatabase } from './support/test-database.js';

describe.each(['pg', 'pglite'] as Kind[])('rebuild on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDb(kind);
    await t.db.query("INSERT INTO locations (id, name, type, lat, lon) VALUES ('rb-ams', 'ams', 'store', 1, 1)");
    // Ledger entries whose position rows were lost: one at a known location, one at a location that no longer exists.
    await t.db.copyIn('ledger_entries', ['event_id', 'kind', 'sku', 'location_id', 'occurred_at', 'on_hand_delta', 'count_quantity'], [
      'rb-1\tstock.received\tRB-1\trb-ams\t2026-11-20T08:00:00Z\t5\t\\N\n',
      'rb-2\tstock.counted\tRB-1\trb-ams\t2026-11-20T09:00:00Z\t0\t7\n',
      'rb-3\tstock.received\tRB-2\trb-gone\t2026-11-20T08:00:00Z\t3\t\\N\n',
    ].join(''));
  });
  afterAll(async () => {
    await t.close();
  });

  const gone = { sku: 'RB-2', locationId: 'rb-gone', field: 'row', stored: null, folded: 'present, at a location that no longer exists' };

  it('verify reports positions that only the ledger knows, and changes nothing', async () => {
    const report = await rebuildPositions(t.db, { verify: true });
    expect(report.differences).toEqual([{ sku: 'RB-1', locationId: 'rb-ams', field: 'row', stored: null, folded: 'present' }, gone]);
    expect(await t.db.query("SELECT 1 FROM positions WHERE sku LIKE 'RB-%'")).toEqual([]);
  });

  it('repair recreates the row at a known location with the count in force, and reports the other', async () => {
    const report = await rebuildPositions(t.db, { verify: false });
    expect(report.repaired).toBe(1);
    const rows = await t.db.query<{ on_hand: number; count_event_id: string; count_quantity: number }>(
      "SELECT on_hand::int4 AS on_hand, count_event_id, count_quantity::int4 AS count_quantity FROM positions WHERE sku = 'RB-1' AND location_id = 'rb-ams'");
    expect(rows).toEqual([{ on_hand: 7, count_event_id: 'rb-2', count_quantity: 7 }]);
    expect((await rebuildPositions(t.db, { verify: true })).differences).toEqual([gone]);
  });
});
