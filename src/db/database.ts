// The database port. Two adapters implement it (pg for a PostgreSQL server, PGlite embedded);
// everything above speaks plain parameterised SQL through it, so one schema and one set of
// queries serve both deployments.
export interface Sql {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /**
   * Bulk-loads rows with COPY, in its text format (see copy-text.ts). For append-only rows:
   * PostgreSQL writes them a page at a time, about half the server's work of an INSERT.
   * `table` and `columns` are code constants, never input.
   */
  copyIn(table: string, columns: readonly string[], text: string): Promise<void>;
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
