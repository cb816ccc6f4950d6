// A dependency (the database or the event log) cannot be reached right now. Clients get 503
// with Retry-After, never 500: nothing was decided, and the same request sent again later is
// safe (event ids and reservation ids are idempotency keys).
import { sqlState } from '../db/database.js';

/** Seconds a client should wait before resending after a 503 or 429. */
export const RETRY_AFTER_SECONDS = 2;

export class DependencyUnavailable extends Error {
  constructor(readonly dependency: 'database' | 'event log', detail: string, opts?: { cause?: unknown }) {
    super(`${dependency} unavailable: ${detail}`, opts);
  }
}

/** Node socket errors: the peer is gone, refusing, or silent. */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** What node-postgres says when a connection cannot be had or was lost mid-query. */
const PG_CONNECTION_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|connection error and is not queryable|Client was closed and is not queryable|Cannot use a pool after calling end/i;

/**
 * True when a database error means "not reachable now" rather than "this request is wrong":
 * SQLSTATE class 08 (connection exception), 53 (insufficient resources: too many connections),
 * 57P01-57P03 (shutting down, crash recovery, cannot connect now), 57014 and 55P03 (a statement or
 * lock timeout gave up on a busy or locked server), 28 (connection refused by
 * pg_hba or authentication), a socket error, or the pool's own connection errors.
 */
export function isDatabaseUnreachable(err: unknown): boolean {
  const state = sqlState(err);
  // 57014: a statement timeout (API role) cancelled a query stuck behind a lock or a slow server.
  if (state) return state.startsWith('08') || state.startsWith('53') || state.startsWith('28') || ['57P01', '57P02', '57P03', '57014', '55P03'].includes(state);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && SOCKET_ERRORS.has(code)) return true;
  return err instanceof Error && PG_CONNECTION_MESSAGES.test(err.message);
}

/** Rejects with `onTimeout()` when `work` has not settled within `ms` (the work itself runs on). */
export async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(onTimeout()), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}
