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
  copyIn(table: string, columns: readonly string[], text: CopyInput): Promise<void>;
}

/** COPY text as one string, or as consecutive chunks of it (CopyText in copy-text.ts). */
export type CopyInput = string | readonly string[];

/** The non-empty chunks of COPY input; none means there is nothing to copy. */
export function copyChunks(text: CopyInput): string[] {
  return (typeof text === 'string' ? [text] : text).filter((c) => c.length > 0);
}

export interface Database extends Sql {
  readonly kind: 'pg' | 'pglite';
  /** Runs `fn` in one transaction; a throw rolls everything back. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The SQLSTATE of a database error (five characters), or undefined for anything else. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** SQLSTATEs worth one more try: serialization failure and deadlock (the latter should not occur). */
export function isRetriableDbError(err: unknown): boolean {
  const code = sqlState(err);
  return code === '40001' || code === '40P01';
}

/** SQLSTATE class 22, data exception: the database refused a value (text with NUL, say). */
export function isDataException(err: unknown): boolean {
  return sqlState(err)?.startsWith('22') ?? false;
}

/** SQLSTATE classes 22 and 23 (integrity constraint violation): the data is at fault, not the moment. */
export function isDataError(err: unknown): boolean {
  return isDataException(err) || (sqlState(err)?.startsWith('23') ?? false);
}

/** SQLSTATE 23505: a unique index already holds the key. */
export function isUniqueViolation(err: unknown): boolean {
  return sqlState(err) === '23505';
}
