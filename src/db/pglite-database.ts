// Embedded PostgreSQL adapter (PGlite, WASM). PGlite runs one statement at a time and
// serialises transactions itself, which is what makes the embedded log's order safe.
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { copyChunks, type CopyInput, type Database } from './database.js';

const toNumber = (v: string) => Number(v);

/** PGlite takes COPY data as a blob read from the virtual file /dev/blob. */
async function copyIn(db: PGlite | Transaction, table: string, columns: readonly string[], text: CopyInput): Promise<void> {
  const chunks = copyChunks(text);
  if (chunks.length === 0) return;
  await db.query(`COPY ${table} (${columns.join(', ')}) FROM '/dev/blob'`, [], { blob: new Blob(chunks) });
}

export async function openPgliteDatabase(dataDir: string | undefined): Promise<Database & { pglite: PGlite }> {
  const pglite = await PGlite.create(dataDir ? { dataDir, parsers: { 20: toNumber, 1700: toNumber } } : { parsers: { 20: toNumber, 1700: toNumber } });
  return {
    kind: 'pglite',
    pglite,
    query: async (text, params) => (await pglite.query(text, params as unknown[] | undefined)).rows as never[],
    copyIn: (table, columns, text) => copyIn(pglite, table, columns, text),
    transaction: (fn) => pglite.transaction((tx) => fn({
      query: async (text, params) => (await tx.query(text, params as unknown[] | undefined)).rows as never[],
      copyIn: (table, columns, text) => copyIn(tx, table, columns, text),
    })),
    close: () => pglite.close(),
  };
}
