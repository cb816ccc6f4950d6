// Count file import (contract §10): a streamed CSV or NDJSON file becomes `stock.counted`
// events, appended in batches through the same ingest path as POST /v1/events. Memory stays
// flat whatever the file's size: a few batches are appended while the next one is read,
// and rejections beyond a cap are counted rather than listed.
import { csvRowToEvent, ndjsonRowToEvent, parseCsvHeader, type CountFileFormat, type CsvLayout, type RowContext } from '../core/count-file-row.js';
import type { StockEvent } from '../core/stock-event.js';
import type { EventIngest } from './ingest-events.js';
import { readLines } from './line-stream.js';

/** Rows per append: large enough to amortise the log's round trip, small enough to stay light. */
export const IMPORT_BATCH_ROWS = 5000;
/** Appends in flight at once (see flush). */
export const MAX_BATCHES_IN_FLIGHT = 4;
/** Rejections listed in the answer; the rest are only counted (a million bad rows must not fill memory). */
export const MAX_LISTED_REJECTIONS = 10_000;

export type RowStatus = 'accepted' | 'duplicate' | 'rejected';

export interface ImportSummary {
  accepted: number;
  duplicates: number;
  rejected: Array<{ line: number; error: string }>;
  /** Every rejected row, including those beyond the listed cap. */
  rejectedCount: number;
  /** Lines read, header and blank lines included. */
  lines: number;
}

export interface ImportOptions {
  format: CountFileFormat;
  source: string;
  ingest: EventIngest;
  now?: () => number;
  /** Each row's outcome, in line order within a batch (for per-row reports). */
  onRow?: (line: number, status: RowStatus, error?: string) => void;
  /** After each batch is durably appended: lines read so far, and bytes read. */
  onProgress?: (p: { lines: number; bytes: number; accepted: number; duplicates: number; rejected: number }) => void;
  batchRows?: number;
  maxInFlight?: number;
}

/** The file cannot be read as a count file at all (its header); nothing was appended. */
export class CountFileError extends Error {}

interface Pending {
  lines: number[];
  events: StockEvent[];
}

export async function importCounts(stream: AsyncIterable<Buffer | string>, opts: ImportOptions): Promise<ImportSummary> {
  const summary: ImportSummary = { accepted: 0, duplicates: 0, rejected: [], rejectedCount: 0, lines: 0 };
  const batchRows = opts.batchRows ?? IMPORT_BATCH_ROWS;
  const maxInFlight = opts.maxInFlight ?? MAX_BATCHES_IN_FLIGHT;
  const now = opts.now ?? Date.now;
  let bytes = 0;
  let layout: CsvLayout | null = null;
  let batch: Pending = { lines: [], events: [] };

  const reject = (line: number, error: string) => {
    summary.rejectedCount += 1;
    if (summary.rejected.length < MAX_LISTED_REJECTIONS) summary.rejected.push({ line, error });
    opts.onRow?.(line, 'rejected', error);
  };

  const append = async (b: Pending) => {
    const r = await opts.ingest.ingest(b.events);
    // Map the ingest's per-event answer back to lines: rejected by index, accepted by id (first
    // occurrence; a repeat of the same row in one batch is a duplicate, as in POST /v1/events).
    const rejectedAt = new Map(r.rejected.map((x) => [x.index, x.error]));
    const acceptedIds = new Set(r.acceptedIds);
    b.events.forEach((e, i) => {
      const line = b.lines[i]!;
      const error = rejectedAt.get(i);
      if (error !== undefined) reject(line, error);
      else if (acceptedIds.delete(e.eventId)) opts.onRow?.(line, 'accepted');
      else opts.onRow?.(line, 'duplicate');
    });
    summary.accepted += r.accepted;
    summary.duplicates += r.duplicates;
    opts.onProgress?.({ lines: summary.lines, bytes, accepted: summary.accepted, duplicates: summary.duplicates, rejected: summary.rejectedCount });
  };
  // Several batches in flight while the next is parsed: the log's round trip, not parsing, is
  // what limits an import. Their order does not matter: every row is a count, and counts fold by
  // their own countedAt whatever order they arrive in (§6), so a later batch landing first
  // changes nothing. Memory stays bounded by MAX_BATCHES_IN_FLIGHT batches.
  const inFlight = new Set<Promise<void>>();
  let appendError: { error: unknown } | null = null;
  const flush = async () => {
    if (batch.events.length === 0) return;
    const b = batch;
    batch = { lines: [], events: [] };
    const p: Promise<void> = append(b).then(
      () => { inFlight.delete(p); },
      (error: unknown) => { inFlight.delete(p); appendError ??= { error }; },
    );
    inFlight.add(p);
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    if (appendError) throw appendError.error;
  };
  const drain = async () => {
    await Promise.all(inFlight);
    if (appendError) throw appendError.error;
  };

  let failure: unknown = null;
  try {
    for await (const { number, text } of readLines(stream, (n) => { bytes += n; })) {
      summary.lines = number;
      if (opts.format === 'csv' && layout === null) {
        const header = parseCsvHeader(text);
        if (!header.ok) throw new CountFileError(`line ${number}: ${header.error}`);
        layout = header.layout;
        continue;
      }
      if (text.trim() === '') continue;
      const ctx: RowContext = { source: opts.source, now: now() };
      const r = opts.format === 'csv' ? csvRowToEvent(text, layout!, ctx) : ndjsonRowToEvent(text, ctx);
      if (!r.ok) {
        reject(number, r.error);
        continue;
      }
      batch.lines.push(number);
      batch.events.push(r.event);
      if (batch.events.length >= batchRows) await flush();
    }
  } catch (err) {
    failure = err;
  }
  // Complete rows read before the stream failed are appended too: each is a whole, valid count
  // and a resumed import finds them as duplicates. The cut-off line never got this far.
  if (!appendError) await flush().catch(() => {});
  await drain();
  if (failure !== null) throw failure;
  if (opts.format === 'csv' && layout === null) throw new CountFileError('the file is empty: expected the header sku,locationId,quantity,countedAt');
  summary.rejected.sort((a, b) => a.line - b.line);
  return summary;
}
