// The database port. Two adapters implement it (pg for a PostgreSQL server, PGlite embedded);
// everything above speaks plain parameterised SQL through it, so one schema and one set of
// queries serve both deployments.
export interface Sql {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
}

export interface Database extends Sql {
  readonly kind: 'pg' | 'pglite';
  /** Runs `fn` in one transaction; a throw rolls everything back. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** SQLSTATEs worth one more try: serialization failure and deadlock (the latter should not occur). */
export function isRetriableDbError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === '40001' || code === '40P01';
}
