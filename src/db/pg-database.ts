// PostgreSQL server adapter (node-postgres pool).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyChunks, type CopyInput, type Database, type Sql } from './database.js';

// bigint and numeric columns come back as JS numbers: quantities stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

export function openPgDatabase(connectionString: string, opts: { max?: number; statementTimeoutMs?: number } = {}): Database & { pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString, max: opts.max ?? 10, application_name: 'omnistock',
    // A connection that cannot be had (server refusing, restarting, or every client busy) fails
    // within 5 s instead of queueing the request without end: the API answers 503 and the
    // client resends (src/http/unavailable.ts).
    connectionTimeoutMillis: 5_000,
    // A process stopped or hung inside a transaction (SIGSTOP, a stalled event loop) would hold
    // its row locks, and every hold on those positions would wait behind it; the server ends
    // such a session after a minute instead.
    idle_in_transaction_session_timeout: 60_000,
    // Where the caller asks (the API role): no statement waits longer than this, on a lock or
    // otherwise; the request answers 503 and is resent.
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const run = async <R>(client: pg.Pool | pg.PoolClient, text: string, params?: readonly unknown[]) =>
    (await client.query(text, params as unknown[] | undefined)).rows as R[];
  const copyThrough = async (client: pg.PoolClient, table: string, columns: readonly string[], text: CopyInput) => {
    const chunks = copyChunks(text);
    if (chunks.length === 0) return;
    // Each chunk becomes bytes only when the stream asks for it: no second copy of the whole.
    const bytes = function* () {
      for (const c of chunks) yield Buffer.from(c);
    };
    await pipeline(Readable.from(bytes()), client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`)));
  };
  return {
    kind: 'pg',
    pool,
    query: (text, params) => run(pool, text, params),
    async copyIn(table, columns, text) {
      const client = await pool.connect();
      try {
        await copyThrough(client, table, columns, text);
      } finally {
        client.release();
      }
    },
    async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      // pg-pool drops its own listener while a client is checked out: a connection the server
      // ends mid-transaction (failover, admin kill, idle timeout) would otherwise emit an
      // 'error' nobody hears and crash the process. The failing query rejects on its own; the
      // broken client is destroyed on release instead of going back to the pool.
      let broken: Error | undefined;
      const onError = (err: Error) => { broken = err; };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn({
          query: (text, params) => run(client, text, params),
          copyIn: (table, columns, text) => copyThrough(client, table, columns, text),
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        if (!broken) await client.query('ROLLBACK').catch((e: Error) => { broken = e; });
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken ?? false);
      }
    },
    close: () => pool.end(),
  };
}
