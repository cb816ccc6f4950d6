// Array literals built by src/db/array-literal.ts: whatever text the ledger may hold, and the
// numbers the writer sends, come back from both databases exactly as sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { numberArrayLiteral, textArrayLiteral } from '../src/db/array-literal.js';
import { isStorableText } from '../src/core/storable-text.js';
import { openTestDb, type Kind, type TestDatabase } from './support/test-database.js';

describe('numberArrayLiteral', () => {
  it('refuses what no numeric array can hold', () => {
    expect(() => numberArrayLiteral([1, Number.NaN])).toThrow(RangeError);
    expect(() => numberArrayLiteral([Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });
});

describe.each<Kind>(['pg', 'pglite'])('array literals on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => { t = await openTestDb(kind); });
  afterAll(async () => t?.close());

  it('round-trips any storable strings, including quotes, backslashes, braces, commas, blanks and "NULL", and SQL nulls', async () => {
    const tricky = ['', ' ', 'NULL', 'null', '"', '\\', '\\"', '{a,b}', 'a,b', '  padded  ', 'tab\there', 'ünï © 😀'];
    await fc.assert(fc.asyncProperty(
      fc.array(fc.option(fc.oneof(fc.constantFrom(...tricky), fc.string({ unit: 'grapheme', maxLength: 30 }).filter(isStorableText)), { nil: null, freq: 8 }), { maxLength: 25 }),
      async (values) => {
        const [row] = await t.db.query<{ a: string[]; n: number }>('SELECT $1::text[] AS a, cardinality($1::text[]) AS n', [textArrayLiteral(values)]);
        expect(row?.n).toBe(values.length);
        expect(row?.a ?? []).toEqual(values);
      },
    ), { numRuns: 40 });
  });

  it('round-trips int8 values with nulls', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.option(fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }), { nil: null, freq: 3 }), { maxLength: 20 }),
      async (values) => {
        const [row] = await t.db.query<{ a: Array<number | null> }>('SELECT array_to_json($1::int8[]) AS a', [numberArrayLiteral(values)]);
        expect(row?.a ?? []).toEqual(values);
      },
    ), { numRuns: 40 });
  });

  it('round-trips int8 and float8 values the ledger writer sends', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }), { maxLength: 20 }),
      fc.array(fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }), { maxLength: 20 }),
      async (ints, instants) => {
        const [row] = await t.db.query<{ i: string; f: string }>(
          "SELECT array_to_string($1::int8[], ',') AS i, array_to_string($2::float8[], ',') AS f", [numberArrayLiteral(ints), numberArrayLiteral(instants)]);
        expect(row?.i).toBe(ints.join(','));
        expect((row?.f ?? '').split(',').filter((x) => x !== '').map(Number)).toEqual(instants);
      },
    ), { numRuns: 40 });
  });
});
