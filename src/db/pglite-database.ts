// Embedded PostgreSQL adapter (PGlite, WASM). PGlite runs one statement at a time and
// serialises transactions itself, which is what makes the embedded log's order safe.
import { PGlite } from '@electric-sql/pglite';
import type { Database } from './database.js';

const toNumber = (v: string) => Number(v);

export async function openPgliteDatabase(dataDir: string | undefined): Promise<Database & { pglite: PGlite }> {
  const pglite = await PGlite.create(dataDir ? { dataDir, parsers: { 20: toNumber, 1700: toNumber } } : { parsers: { 20: toNumber, 1700: toNumber } });
  return {
    kind: 'pglite',
    pglite,
    query: async (text, params) => (await pglite.query(text, params as unknown[] | undefined)).rows as never[],
    transaction: (fn) => pglite.transaction((tx) => fn({ query: async (text, params) => (await tx.query(text, params as unknown[] | undefined)).rows as never[] })),
    close: () => pglite.close(),
  };
}
