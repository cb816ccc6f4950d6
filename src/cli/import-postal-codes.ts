// `omnistock import-postal-codes FILE`: postal-code coordinates (docs/API.md, "Postal-code
// coordinates") from a CSV with the header `country,postalCode,lat,lon` (any order and case,
// other columns ignored), through a running service (`--url`, `--token`: PUT /v1/postal-codes in
// batches) or straight into the database. The file streams; a bad row is reported with its line
// number and never stops the others; a key repeated in the file keeps its last row. Loading is
// an upsert, so running it again after a kill is harmless.
import fs from 'node:fs';
import { loadConfig } from '../config.js';
import { splitCsvLine } from '../core/count-file-row.js';
import { openDatabase } from '../db/open-database.js';
import { readLines } from '../ingest/line-stream.js';
import { MAX_POSTAL_ROWS, postalRowSchema, type PostalRow } from '../routing/postal-code.js';
import { upsertPostalCodes } from '../routing/postal-code-store.js';
import { assertDirectWriteAllowed } from './import-counts.js';
import { progressBar } from './progress.js';

export interface ImportPostalCodesOptions {
  file: string;
  url?: string;
  token?: string;
  offline?: boolean;
  /** The environment for the direct mode (default process.env). */
  env?: Record<string, string | undefined>;
}

export interface PostalImportSummary {
  created: number;
  updated: number;
  rejected: Array<{ line: number; error: string }>;
}

const COLUMNS = ['country', 'postalCode', 'lat', 'lon'] as const;
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$/;

type Load = (rows: PostalRow[]) => Promise<{ created: number; updated: number }>;

export async function runImportPostalCodes(o: ImportPostalCodesOptions, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WriteStream = process.stderr): Promise<PostalImportSummary> {
  if (o.url) {
    if (!o.token) throw new Error('--url needs --token (a bearer token with scope admin)');
    return importFile(o.file, putRows(o.url, o.token), out, err);
  }
  const config = loadConfig(o.env);
  assertDirectWriteAllowed(config, Boolean(o.offline));
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return await importFile(o.file, (rows) => upsertPostalCodes(db, rows), out, err);
  } finally {
    await db.close();
  }
}

async function importFile(file: string, load: Load, out: NodeJS.WritableStream, err: NodeJS.WriteStream): Promise<PostalImportSummary> {
  const size = (await fs.promises.stat(file)).size;
  const bar = progressBar('loading postal codes', err);
  const summary: PostalImportSummary = { created: 0, updated: 0, rejected: [] };
  const reject = (line: number, error: string) => {
    summary.rejected.push({ line, error });
    out.write(`line ${line}: rejected: ${error}\n`);
  };
  // Keyed by (country, postal code): a later row of the same code replaces the earlier one.
  let batch = new Map<string, PostalRow>();
  const flush = async () => {
    if (batch.size === 0) return;
    const r = await load([...batch.values()]);
    summary.created += r.created;
    summary.updated += r.updated;
    batch = new Map();
  };
  let bytes = 0;
  let layout: { delimiter: string; index: number[] } | null = null;
  const stream = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
  try {
    for await (const { number, text } of readLines(stream, (n) => { bytes += n; bar.update(bytes, size); })) {
      if (!layout) {
        layout = header(text);
        continue;
      }
      if (text.trim() === '') continue;
      const row = parseRow(text, layout);
      if (!row.ok) reject(number, row.error);
      else batch.set(`${row.row.country}\u0000${row.row.postalCode}`, row.row);
      if (batch.size >= MAX_POSTAL_ROWS) await flush();
    }
    if (!layout) throw new Error(`${file} is empty: expected the header ${COLUMNS.join(',')}`);
    await flush();
  } finally {
    bar.stop();
    stream.destroy();
  }
  out.write(`${summary.created} created, ${summary.updated} updated, ${summary.rejected.length} rejected\n`);
  return summary;
}

function header(line: string): { delimiter: string; index: number[] } {
  const text = line.replace(/^\uFEFF/, '');
  const delimiter = text.includes(';') && !text.includes(',') ? ';' : ',';
  const cells = splitCsvLine(text, delimiter);
  const names = cells.ok ? cells.fields.map((c) => c.trim().toLowerCase()) : [];
  const index = COLUMNS.map((c) => names.indexOf(c.toLowerCase()));
  const missing = COLUMNS.filter((_, i) => index[i]! < 0);
  if (missing.length) throw new Error(`header: expected the columns ${COLUMNS.join(',')}; missing ${missing.join(', ')} (found "${text.slice(0, 200)}")`);
  return { delimiter, index };
}

function parseRow(text: string, layout: { delimiter: string; index: number[] }): { ok: true; row: PostalRow } | { ok: false; error: string } {
  const cells = splitCsvLine(text, layout.delimiter);
  if (!cells.ok) return cells;
  const [country, postalCode, lat, lon] = layout.index.map((i) => cells.fields[i]?.trim() ?? '');
  for (const [name, v] of [['lat', lat], ['lon', lon]] as const) {
    if (!DECIMAL.test(v ?? '')) return { ok: false, error: `${name}: ${JSON.stringify(v)} is not a decimal number` };
  }
  const parsed = postalRowSchema.safeParse({ country, postalCode, lat: Number(lat), lon: Number(lon) });
  if (!parsed.success) return { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  return { ok: true, row: parsed.data };
}

function putRows(base: string, token: string): Load {
  return async (rows) => {
    const res = await fetch(new URL('/v1/postal-codes', base), {
      method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ rows }),
    });
    const body = (await res.json().catch(() => null)) as { created?: number; updated?: number; detail?: string } | null;
    if (res.status !== 200 || typeof body?.created !== 'number' || typeof body.updated !== 'number') {
      throw new Error(`the service answered ${res.status}: ${body?.detail ?? JSON.stringify(body)}`);
    }
    return { created: body.created, updated: body.updated };
  };
}
