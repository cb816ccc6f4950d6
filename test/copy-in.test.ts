// COPY text encoding (src/db/copy-text.ts) through both database adapters: every string the
// ledger may hold comes back exactly, nulls stay null, and a failing COPY rolls back with its
// transaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { copyLine } from '../src/db/copy-text.js';
import { isStorableText } from '../src/core/storable-text.js';
import { openTestDb, type Kind, type TestDatabase } from './support/test-database.js';

describe.each<Kind>(['pg', 'pglite'])('copyIn on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await openTestDb(kind);
    await t.db.query('CREATE TABLE copy_probe (n int4 PRIMARY KEY, s text, q int8, at timestamptz)');
  });
  afterAll(async () => t?.close());

  it('round-trips any storable text, with the characters COPY escapes', async () => {
    const tricky = ['a\\b', 'tab\there', 'line\nbreak', 'cr\rhere', '\\N', '\\', 'ünï © 😀', ' lead and trail '];
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof(fc.constantFrom(...tricky), fc.string({ unit: 'grapheme', maxLength: 40 }).filter(isStorableText)), { minLength: 1, maxLength: 30 }),
      async (strings) => {
        await t.db.query('DELETE FROM copy_probe');
        const rows = strings.map((s, n) => [n, s, n % 3 === 0 ? null : n * 1000, '2026-11-23T10:00:00.125Z'] as const);
        await t.db.transaction((tx) => tx.copyIn('copy_probe', ['n', 's', 'q', 'at'], rows.map((r) => copyLine(r)).join('')));
        const back = await t.db.query<{ n: number; s: string; q: number | null; ms: number }>(
          'SELECT n, s, q, (extract(epoch from at) * 1000)::float8 AS ms FROM copy_probe ORDER BY n');
        expect(back).toEqual(rows.map(([n, s, q]) => ({ n, s, q, ms: Date.parse('2026-11-23T10:00:00.125Z') })));
      },
    ), { numRuns: 25 });
  });

  it('rolls back with its transaction when a row is refused', async () => {
    await t.db.query('DELETE FROM copy_probe');
    await expect(t.db.transaction(async (tx) => {
      await tx.copyIn('copy_probe', ['n', 's'], copyLine([1, 'one']) + copyLine([1, 'duplicate key']));
    })).rejects.toThrow(/duplicate key/);
    expect(await t.db.query('SELECT * FROM copy_probe')).toEqual([]);
    // The connection is usable afterwards.
    await t.db.transaction((tx) => tx.copyIn('copy_probe', ['n', 's'], copyLine([2, 'two'])));
    expect(await t.db.query('SELECT n, s FROM copy_probe')).toEqual([{ n: 2, s: 'two' }]);
  });
});
