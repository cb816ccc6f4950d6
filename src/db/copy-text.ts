// COPY's text format: one line per row, fields separated by a tab, `\N` for null; a backslash,
// tab, newline or carriage return inside a value is escaped. (NUL cannot be stored at all and
// is refused earlier, at validation.)
const SPECIAL = /[\\\t\n\r]/;
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

export type CopyValue = string | number | boolean | null;

export function copyField(v: CopyValue): string {
  if (v === null) return '\\N';
  if (typeof v !== 'string') return String(v);
  return SPECIAL.test(v) ? v.replace(SPECIAL_ALL, (c) => ESCAPES[c]!) : v;
}

/**
 * COPY input built row by row into chunks of about CHUNK_CHARS. One string for a whole batch
 * (~150 bytes a row, 1 MB or more for thousands of rows) is a large object to V8 and a large
 * malloc for its UTF-8 copy: each gets fresh pages from the kernel, and a page fault costs
 * ~14 µs on this kind of VM. Built in chunks, the same rows cost a fifth of the CPU
 * (BENCHMARKS.md, spine, session of 2026-11-30).
 */
export class CopyText {
  static readonly CHUNK_CHARS = 32 * 1024;
  private readonly chunks: string[] = [];
  private current = '';

  /** Appends one or more whole rows (newlines included). */
  add(rows: string): void {
    this.current += rows;
    if (this.current.length >= CopyText.CHUNK_CHARS) {
      this.chunks.push(this.current);
      this.current = '';
    }
  }

  /** The chunks so far, the last partial one included. */
  done(): string[] {
    if (this.current.length > 0) {
      this.chunks.push(this.current);
      this.current = '';
    }
    return this.chunks;
  }
}

/** One row, newline included. */
export function copyLine(values: readonly CopyValue[]): string {
  let line = copyField(values[0] ?? null);
  for (let i = 1; i < values.length; i++) line += '\t' + copyField(values[i]!);
  return line + '\n';
}

/** The first instant of year 1 AD, and of year 10000: outside them ISO years need translating. */
const YEAR_1_MS = -62_135_596_800_000;
const YEAR_10000_MS = 253_402_300_800_000;
/** The last second formatted, "YYYY-MM-DDTHH:MM:SS." (see copyTimestamp). */
let cachedSecond = NaN;
let cachedPrefix = '';

/**
 * A timestamp (ms since the epoch) as COPY input. The contract's timestamps (years 0000–9999
 * with an offset) reach both ends of what ISO-8601 writes plainly in UTC: PostgreSQL refuses
 * year "0000" (it counts 1 BC, 2 BC, … for ISO years 0, -1, …) and the six-digit "+010000".
 */
export function copyTimestamp(ms: number): string {
  if (ms >= YEAR_1_MS && ms < YEAR_10000_MS && Number.isInteger(ms)) {
    // Events of one batch mostly fall within a few seconds: the formatted second is reused and
    // only the milliseconds appended (toISOString per row was a tenth of the ledger's COPY text).
    const second = Math.floor(ms / 1000);
    if (second !== cachedSecond) {
      cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
      cachedSecond = second;
    }
    const frac = ms - second * 1000;
    return cachedPrefix + (frac < 10 ? '00' : frac < 100 ? '0' : '') + frac + 'Z';
  }
  const iso = new Date(ms).toISOString();
  if (ms >= YEAR_1_MS && ms < YEAR_10000_MS) return iso;
  const m = /^([+-]?\d+)-(.*)Z$/.exec(iso);
  if (!m) throw new RangeError(`unrepresentable timestamp ${ms}`);
  const year = Number(m[1]);
  return year >= 1 ? `${year}-${m[2]}Z` : `${String(1 - year).padStart(4, '0')}-${m[2]}Z BC`;
}
