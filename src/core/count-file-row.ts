// One row of a count file (contract §10) → one `stock.counted` event, with no I/O. The event id
// is derived from the row's content (what was counted, where, how many, as of when), so the
// same row imported again, from the same file or a resumed one, is the same event and the
// ledger's dedupe applies it once.
import { createHash } from 'node:crypto';
import { LOCATION_ID_PATTERN, MAX_QUANTITY, SKU_PATTERN } from './ids.js';
import type { StockEvent } from './stock-event.js';

export type CountFileFormat = 'csv' | 'ndjson';
export const COUNT_COLUMNS = ['sku', 'locationId', 'quantity', 'countedAt'] as const;
type Column = (typeof COUNT_COLUMNS)[number];

/** A count may be dated at most this far ahead of the clock (clock skew between tills and us). */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

export type RowResult = { ok: true; event: StockEvent } | { ok: false; error: string };

/** Where each column sits in a CSV file, and its delimiter. */
export interface CsvLayout {
  delimiter: ',' | ';';
  index: Record<Column, number>;
}

/**
 * Reads the header line. Column names match without regard to case or surrounding spaces, in
 * any order; other columns are ignored (a spreadsheet's notes column, say). A header that uses
 * `;` and no `,` is read with `;` (spreadsheets in many European locales export that way).
 */
export function parseCsvHeader(line: string): { ok: true; layout: CsvLayout } | { ok: false; error: string } {
  const text = line.replace(/^\uFEFF/, '');
  const delimiter = text.includes(';') && !text.includes(',') ? ';' : ',';
  const cells = splitCsvLine(text, delimiter);
  if (!cells.ok) return { ok: false, error: `header: ${cells.error}` };
  const names = cells.fields.map((c) => c.trim().toLowerCase());
  const index = {} as Record<Column, number>;
  const missing: string[] = [];
  for (const col of COUNT_COLUMNS) {
    const at = names.indexOf(col.toLowerCase());
    if (at < 0) missing.push(col);
    else if (names.indexOf(col.toLowerCase(), at + 1) >= 0) return { ok: false, error: `header: column ${col} appears twice` };
    else index[col] = at;
  }
  if (missing.length) {
    return { ok: false, error: `header: expected the columns ${COUNT_COLUMNS.join(',')}; missing ${missing.join(', ')} (found "${text.slice(0, 200)}")` };
  }
  return { ok: true, layout: { delimiter, index } };
}

/**
 * Splits one CSV record (RFC 4180 quoting: `"a,b"`, `""` for a quote). A count file's fields
 * never hold a line break, so a record is one line: a broken quote then costs that one row,
 * where a general CSV reader would read on across lines and swallow the rows after it.
 */
export function splitCsvLine(line: string, delimiter: string): { ok: true; fields: string[] } | { ok: false; error: string } {
  if (!line.includes('"')) return { ok: true, fields: line.split(delimiter) };
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i += 1;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return { ok: false, error: 'a quoted field is not closed' };
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      if (i < line.length && line[i] !== delimiter) return { ok: false, error: 'text after a closing quote' };
      fields.push(value);
    } else {
      const d = line.indexOf(delimiter, i);
      const raw = d < 0 ? line.slice(i) : line.slice(i, d);
      if (raw.includes('"')) return { ok: false, error: 'a quote inside an unquoted field' };
      fields.push(raw);
      i = d < 0 ? line.length : d;
    }
    if (i >= line.length) return { ok: true, fields };
    i += 1; // the delimiter
    if (i === line.length) {
      fields.push('');
      return { ok: true, fields };
    }
  }
}

export interface RowContext {
  /** `source` of the events, e.g. `count-import:pos-ams`. */
  source: string;
  /** Epoch ms now: counts dated beyond it (plus the tolerance) are refused. */
  now: number;
}

export function csvRowToEvent(line: string, layout: CsvLayout, ctx: RowContext): RowResult {
  const split = splitCsvLine(line, layout.delimiter);
  if (!split.ok) return { ok: false, error: split.error };
  const need = Math.max(...Object.values(layout.index)) + 1;
  if (split.fields.length < need) return { ok: false, error: `expected at least ${need} fields, found ${split.fields.length}` };
  const f = (c: Column) => (split.fields[layout.index[c]] ?? '').trim();
  return countToEvent({ sku: f('sku'), locationId: f('locationId'), quantity: f('quantity'), countedAt: f('countedAt') }, ctx);
}

export function ndjsonRowToEvent(line: string, ctx: RowContext): RowResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { ok: false, error: `invalid JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'expected a JSON object { sku, locationId, quantity, countedAt }' };
  const o = value as Record<string, unknown>;
  for (const c of COUNT_COLUMNS) if (o[c] === undefined) return { ok: false, error: `${c}: missing` };
  if (typeof o.sku !== 'string') return { ok: false, error: 'sku: expected a string' };
  if (typeof o.locationId !== 'string') return { ok: false, error: 'locationId: expected a string' };
  if (typeof o.countedAt !== 'string') return { ok: false, error: 'countedAt: expected a string' };
  if (typeof o.quantity !== 'number' && typeof o.quantity !== 'string') return { ok: false, error: 'quantity: expected a whole number' };
  return countToEvent({ sku: o.sku, locationId: o.locationId, quantity: o.quantity, countedAt: o.countedAt }, ctx);
}

const WHOLE = /^\+?\d+$/;
// ISO-8601 date-time with an offset (the §3 rule for occurredAt); fractions of a second allowed.
const ISO_WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})$/;

/** Validates one count's fields and builds its event. Errors start with the field they are about. */
export function countToEvent(row: { sku: string; locationId: string; quantity: string | number; countedAt: string }, ctx: RowContext): RowResult {
  if (!SKU_PATTERN.test(row.sku)) return { ok: false, error: `sku: must match ^[A-Za-z0-9._/-]{1,64}$, got ${shown(row.sku)}` };
  if (!LOCATION_ID_PATTERN.test(row.locationId)) return { ok: false, error: `locationId: must match ^[A-Za-z0-9._-]{1,64}$, got ${shown(row.locationId)}` };
  let quantity: number;
  if (typeof row.quantity === 'number') {
    if (!Number.isInteger(row.quantity) || row.quantity < 0) return { ok: false, error: `quantity: must be a whole number ≥ 0, got ${row.quantity}` };
    quantity = row.quantity;
  } else {
    const q = row.quantity.trim();
    if (!WHOLE.test(q)) return { ok: false, error: `quantity: must be a whole number ≥ 0, got ${shown(q)}` };
    quantity = Number(q);
  }
  if (quantity > MAX_QUANTITY) return { ok: false, error: `quantity: at most ${MAX_QUANTITY}, got ${quantity}` };
  const when = parseCountedAt(row.countedAt);
  if (!when.ok) return when;
  if (when.ms > ctx.now + FUTURE_TOLERANCE_MS) return { ok: false, error: `countedAt: ${row.countedAt} is in the future` };
  // Every field is checked above; the ingest path validates the event again against the §3
  // schema, so this one is not parsed twice here.
  const event: StockEvent = { eventId: countEventId(row.sku, row.locationId, quantity, when.ms), type: 'stock.counted', sku: row.sku, locationId: row.locationId, occurredAt: new Date(when.ms).toISOString(), source: ctx.source, quantity };
  return { ok: true, event };
}

function parseCountedAt(text: string): { ok: true; ms: number } | { ok: false; error: string } {
  const m = ISO_WITH_OFFSET.exec(text.trim());
  if (!m) return { ok: false, error: `countedAt: expected an ISO-8601 date-time with offset such as 2026-11-23T10:00:00Z, got ${shown(text)}` };
  const [, y, mo, d, h, mi, s] = m;
  const ms = Date.parse(text.trim().replace(' ', 'T'));
  // Date.parse rolls 2026-02-30 over into March; a date that does not exist is a typo.
  const probe = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  const realDay = probe.getUTCFullYear() === Number(y) && probe.getUTCMonth() === Number(mo) - 1 && probe.getUTCDate() === Number(d);
  if (!realDay || Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59 || Number.isNaN(ms)) {
    return { ok: false, error: `countedAt: ${shown(text)} is not a real date and time` };
  }
  return { ok: true, ms };
}

/**
 * The event id of a count: a digest of what it says, with the time normalised to the instant
 * (so `10:00:00Z` and `11:00:00+01:00` are the same count). The source is left out on purpose:
 * the same count sent again by another user or file is still one fact.
 */
export function countEventId(sku: string, locationId: string, quantity: number, countedAtMs: number): string {
  const digest = createHash('sha256').update(`${sku}\n${locationId}\n${quantity}\n${countedAtMs}`).digest('base64url');
  return `count:${digest.slice(0, 32)}`;
}

function shown(v: string): string {
  return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
}
