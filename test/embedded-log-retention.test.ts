// The embedded log's retention, on both databases: old messages go, unless a consumer group
// with stored offsets has not applied them yet; recent ones stay.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneEmbeddedLog } from '../src/eventlog/embedded-log-retention.js';
import { EmbeddedEventLog } from '../src/eventlog/embedded-event-log.js';
import { openTestDb, type Kind, type TestDatabase } from './support/test-database.js';

describe.each(['pg', 'pglite'] as Kind[])('embedded log retention on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDb(kind);
  });
  afterAll(async () => {
    await t.close();
  });

  it('deletes what is past retention and applied, keeps the unapplied and the recent', async () => {
    const log = new EmbeddedEventLog(t.db);
    const rec = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `K-${i}`, value: `{"i":${i}}` }));
    await log.append('ret.events', rec(30));
    await log.append('ret.atp', rec(5));
    const seqs = (topic: string) => t.db.query<{ seq: number }>('SELECT seq::int8 AS seq FROM log_messages WHERE topic = $1 ORDER BY seq', [topic]).then((r) => r.map((x) => Number(x.seq)));
    const events = await seqs('ret.events');
    // The reconciler got through the first 20 events; all of these are ten days old.
    await t.db.query("UPDATE log_messages SET appended_at = now() - interval '10 days' WHERE topic LIKE 'ret.%'");
    await t.db.query("INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) VALUES ('ret-group', 'ret.events', 0, $1)", [events[20]]);
    // Fresh messages, a minute old.
    await log.append('ret.atp', rec(3));

    // Small windows, so the walk crosses several of them and ends at the recent messages.
    // Stock events go only once applied: before any group stored an offset, none of them.
    await t.db.query("DELETE FROM consumer_offsets WHERE consumer_group = 'ret-group'");
    expect(await pruneEmbeddedLog(t.db, { appliedOnly: ['ret.events'], window: 7 })).toBe(5);
    await t.db.query("INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) VALUES ('ret-group', 'ret.events', 0, $1)", [events[20]]);
    const deleted = 5 + await pruneEmbeddedLog(t.db, { appliedOnly: ['ret.events'], window: 7 });
    expect(deleted).toBe(20 + 5);
    expect(await seqs('ret.events')).toEqual(events.slice(20));
    expect((await seqs('ret.atp')).length).toBe(3);
    expect(await pruneEmbeddedLog(t.db, { appliedOnly: ['ret.events'] })).toBe(0);
    // Once applied, old events go too.
    await t.db.query("UPDATE consumer_offsets SET next_offset = $1 WHERE consumer_group = 'ret-group'", [events[29]! + 1]);
    expect(await pruneEmbeddedLog(t.db, { appliedOnly: ['ret.events'] })).toBe(10);
  });
});
