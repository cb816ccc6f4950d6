// COPY text encoding (src/db/copy-text.ts) through both database adapters: every string the
// ledger may hold comes back exactly, nulls stay null, and a failing COPY rolls back with its
// transaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CopyText, copyLine, copyTimestamp } from '../src/db/copy-text.js';
import { isStorableText } from '../src/core/storable-text.js';
import { openTestDb, type Kind, type TestDatabase } from './support/test-database.js';

describe('copyTimestamp', () => {
  it('writes what toISOString writes for years 1 to 9999, whichever second it formatted last', () => {
    const min = Date.parse('0001-01-01T00:00:00Z');
    const max = Date.parse('9999-12-31T23:59:59.999Z');
    // Runs of nearby instants (the cached second reused, and left) and jumps anywhere.
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min, max }), fc.array(fc.integer({ min: -2_500, max: 2_500 }), { maxLength: 8 })), { minLength: 1, maxLength: 20 }),
      (runs) => {
        for (const [start, steps] of runs) {
          for (const ms of [start, ...steps.map((d) => Math.min(max, Math.max(min, start + d)))]) {
            expect(copyTimestamp(ms)).toBe(new Date(ms).toISOString());
          }
        }
      },
    ), { numRuns: 200 });
  });
});

describe('CopyText', () => {
  it('chunks whole rows in order: joined they are the rows, each chunk but the last at least CHUNK_CHARS long', () => {
    fc.assert(fc.property(fc.array(fc.string({ maxLength: 20_000 }).map((x) => `${x}\n`), { maxLength: 40 }), (rows) => {
      const text = new CopyText();
      for (const r of rows) text.add(r);
      const chunks = text.done();
      expect(chunks.join('')).toBe(rows.join(''));
      chunks.slice(0, -1).forEach((c) => expect(c.length).toBeGreaterThanOrEqual(CopyText.CHUNK_CHARS));
      chunks.forEach((c) => expect(c.endsWith('\n')).toBe(true));
    }), { numRuns: 100 });
  });
});

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

  it('loads rows given as CopyText chunks exactly as from one string', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.string({ unit: 'grapheme', maxLength: 6_000 }).filter(isStorableText), { minLength: 1, maxLength: 30 }),
      async (strings) => {
        const text = new CopyText();
        strings.forEach((s, n) => text.add(copyLine([n, s])));
        const chunks = text.done();
        await t.db.query('DELETE FROM copy_probe');
        await t.db.transaction((tx) => tx.copyIn('copy_probe', ['n', 's'], chunks));
        const back = await t.db.query<{ n: number; s: string }>('SELECT n, s FROM copy_probe ORDER BY n');
        expect(back).toEqual(strings.map((s, n) => ({ n, s })));
      },
    ), { numRuns: 15 });
  });

  it('round-trips every instant an event may carry, year 0000 (1 BC to PostgreSQL) to 9999', async () => {
    // The contract's occurredAt: ISO-8601 with offset, years 0000-9999, so UTC reaches into year -1.
    const min = Date.parse('0000-01-01T00:00:00+23:59');
    const max = Date.parse('9999-12-31T23:59:59.999-23:59');
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max, Date.parse('0000-01-01T00:00:00Z'), Date.parse('0001-01-01T00:00:00Z') - 1, 0)), { minLength: 1, maxLength: 20 }),
      async (instants) => {
        await t.db.query('DELETE FROM copy_probe');
        await t.db.transaction((tx) => tx.copyIn('copy_probe', ['n', 'at'], instants.map((ms, n) => copyLine([n, copyTimestamp(ms)])).join('')));
        const back = await t.db.query<{ ms: number }>('SELECT (extract(epoch from at) * 1000)::float8 AS ms FROM copy_probe ORDER BY n');
        expect(back.map((r) => Math.round(r.ms))).toEqual(instants);
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
