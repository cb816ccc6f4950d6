// `omnistock import-counts FILE`: a count file (contract §10) into the ledger, either through a
// running service (`--url` and `--token`: POST /v1/imports/counts, the file streamed as the
// body) or straight into the database and event log the service uses (its own environment).
// Either way the rows' event ids come from their content, so running it again after a crash
// or a kill appends only what is missing and applies nothing twice.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import cliProgress from 'cli-progress';
import { loadConfig, type Config } from '../config.js';
import type { CountFileFormat } from '../core/count-file-row.js';
import { openDatabase } from '../db/open-database.js';
import { importCounts, type ImportSummary, type RowStatus } from '../ingest/import-counts.js';
import { EventIngest } from '../ingest/ingest-events.js';
import { createLogger } from '../logger.js';
import { createEventLog } from '../service/event-log-factory.js';

export interface ImportCountsCliOptions {
  file: string;
  url?: string;
  token?: string;
  format?: CountFileFormat;
  /** One JSON line per row: { line, status, error? } (through a service: rejected rows only). */
  report?: string;
  /** Straight into the embedded database: the caller says the service is not running on it. */
  offline?: boolean;
}

const CONTENT_TYPES: Record<CountFileFormat, string> = { csv: 'text/csv', ndjson: 'application/x-ndjson' };

export function formatOf(file: string, given?: CountFileFormat): CountFileFormat {
  if (given) return given;
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'ndjson';
  throw new Error(`cannot tell the format of ${path.basename(file)} from its name: pass --format csv or --format ndjson`);
}

/** Runs the import; resolves with the summary (the caller decides the exit code). */
export async function runImportCounts(o: ImportCountsCliOptions, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WriteStream = process.stderr): Promise<ImportSummary> {
  const format = formatOf(o.file, o.format);
  const size = (await fs.promises.stat(o.file)).size;
  const progress = progressFor(size, err);
  const report = o.report ? fs.createWriteStream(o.report) : null;
  const counter = countingStream(progress.update);
  const file = fs.createReadStream(o.file, { highWaterMark: 256 * 1024 });
  // Rejected rows go to stdout as they are known; `--report` gets every row the mode can tell.
  const onRow = (line: number, status: RowStatus, error?: string) => {
    if (status === 'rejected') out.write(`line ${line}: rejected: ${error}\n`);
    report?.write(`${JSON.stringify(error === undefined ? { line, status } : { line, status, error })}\n`);
  };
  try {
    let summary: ImportSummary;
    if (o.url) {
      if (!o.token) throw new Error('--url needs --token (a bearer token with scope stock:write)');
      summary = await postFile(o.url, o.token, CONTENT_TYPES[format], file.pipe(counter));
      for (const r of summary.rejected) onRow(r.line, 'rejected', r.error);
      if (summary.rejectedCount > summary.rejected.length) out.write(`… and ${summary.rejectedCount - summary.rejected.length} more rejected rows the service did not list\n`);
    } else {
      summary = await importDirect(format, file.pipe(counter), onRow, path.basename(o.file), Boolean(o.offline));
    }
    progress.stop();
    out.write(`${summary.accepted} accepted, ${summary.duplicates} duplicates, ${summary.rejectedCount} rejected (${summary.lines} lines)\n`);
    return summary;
  } finally {
    progress.stop();
    file.destroy();
    if (report) await new Promise<void>((resolve) => report.end(resolve));
  }
}

async function importDirect(format: CountFileFormat, stream: Readable, onRow: (line: number, status: RowStatus, error?: string) => void, fileName: string, offline: boolean): Promise<ImportSummary> {
  const config = loadConfig();
  assertDirectWriteAllowed(config, offline);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const log = createEventLog(config, db, logger);
  try {
    return await importCounts(stream, { format, source: `count-import:${fileName}`.slice(0, 256), ingest: new EventIngest(db, log, config.kafkaEventsTopic), onRow });
  } finally {
    await log.close();
    await db.close();
  }
}

/**
 * The embedded database (PGlite) belongs to one process; a second one writing beside a running
 * service would corrupt it, and nothing on disk says whether one runs. So the caller says so.
 */
export function assertDirectWriteAllowed(config: Config, offline: boolean): void {
  if (!config.databaseUrl && !offline) {
    throw new Error(`DATABASE_URL is unset, so the database is the embedded one in ${config.dataDir}, which only one process may open: import through the running service with --url and --token, or pass --offline if no service is running on it`);
  }
}

/** POST the stream to the service; the answer comes once every row is appended. No client timeout: a large file takes a while. */
export function postFile(base: string, token: string, contentType: string, body: Readable): Promise<ImportSummary> {
  const url = new URL('/v1/imports/counts', base);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          return reject(new Error(`the service answered ${res.statusCode} with: ${text.slice(0, 300)}`));
        }
        if (res.statusCode !== 200) return reject(new Error(`the service answered ${res.statusCode}: ${String(parsed.detail ?? parsed.title ?? text)}`));
        const s = parsed as unknown as Omit<ImportSummary, 'lines'>;
        resolve({ ...s, rejectedCount: s.rejectedCount ?? s.rejected.length, lines: 0 });
      });
    });
    req.on('error', reject);
    pipeline(body, req).catch(reject);
  });
}

interface Bar {
  update(bytes: number, rows: number): void;
  stop(): void;
}

/** Counts bytes and line breaks as the file goes by (progress in rows without reading the file twice). */
function countingStream(update: (bytes: number, rows: number) => void): Transform {
  let bytes = 0;
  let rows = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) rows += 1;
      update(bytes, rows);
      done(null, chunk);
    },
  });
}

/** A bar over the file's bytes showing rows read; on a pipe, a line every 10%. */
function progressFor(size: number, stream: NodeJS.WriteStream): Bar {
  if (!stream.isTTY) {
    let next = 10;
    return {
      update(bytes, rows) {
        const pct = size ? Math.floor((bytes / size) * 100) : 100;
        if (pct >= next) {
          next = Math.floor(pct / 10) * 10 + 10;
          stream.write(`importing counts: ${pct}% (${rows} rows read)\n`);
        }
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar({ format: 'importing counts [{bar}] {percentage}% | {rows} rows | eta {eta_formatted}', stream }, cliProgress.Presets.shades_classic);
  bar.start(size, 0, { rows: 0 });
  let stopped = false;
  return {
    update(bytes, rows) { if (!stopped) bar.update(bytes, { rows }); },
    stop() { if (!stopped) { stopped = true; bar.stop(); } },
  };
}
