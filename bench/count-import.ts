// Count file import benchmark (issue 15, contract §10): a 1,000,000-row CSV streamed through
// POST /v1/imports/counts into a real `omnistock serve --role api` process on PostgreSQL and
// the Kafka wire-protocol broker. Targets: ≥ 20,000 rows/s into the log, and the service's
// memory flat as the file grows (its RSS, from /proc, when the upload passes 100k, 250k, 500k,
// 750k and 1M rows, and its peak).
// Baseline, in the same run and on the same broker, just before and just after the import
// (300,000 rows each; the import is compared with their mean): the same rows as ready-made events,
// appended by KafkaEventLog.append in the import's batch size and concurrency from this process
// (no HTTP, no
// parsing, no validation, no dedupe lookup): what the log alone takes. Each service gets a
// 20,000-row warm-up import first (a running service is warm). Then 200,000 rows into
// the embedded deployment (PGlite, embedded log), for information.
//
// Run: npx tsx bench/count-import.ts (BENCH_PG_ADMIN_URL, BENCH_IMPORT_ROWS)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { postFile } from '../src/cli/import-counts.js';
import { countEventId } from '../src/core/count-file-row.js';
import { openDatabase } from '../src/db/open-database.js';
import { KafkaEventLog } from '../src/eventlog/kafka-event-log.js';
import { IMPORT_BATCH_ROWS, MAX_BATCHES_IN_FLIGHT } from '../src/ingest/import-counts.js';
import { upsertLocation } from '../src/locations/location-store.js';
import { createLogger } from '../src/logger.js';
import { startMockKafka } from '../test/support/kafka-broker.js';
import { round } from './stats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const LOCATIONS = Array.from({ length: 50 }, (_, i) => `loc-${i}`);
const TOKEN = 'bench-secret';
const COUNTED_AT = '2026-11-23T10:00:00Z';

function rowAt(i: number): { sku: string; locationId: string; quantity: number } {
  return { sku: `SKU-${Math.floor(i / LOCATIONS.length)}`, locationId: LOCATIONS[i % LOCATIONS.length]!, quantity: (i * 7) % 101 };
}

function writeCsv(file: string, rows: number, countedAt = COUNTED_AT): void {
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, 'sku,locationId,quantity,countedAt\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    const r = rowAt(i);
    chunk += `${r.sku},${r.locationId},${r.quantity},${countedAt}\n`;
    if (chunk.length > 1 << 20) {
      fs.writeSync(fd, chunk);
      chunk = '';
    }
  }
  fs.writeSync(fd, chunk);
  fs.closeSync(fd);
}

async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `omnistock_bench_import_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    drop: async () => {
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
    },
  };
}

async function seed(env: { DATABASE_URL?: string; DATA_DIR?: string }): Promise<void> {
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR });
  for (const id of LOCATIONS) {
    await upsertLocation(db, id, { name: id, type: 'store', lat: 52, lon: 5, shipFromStore: true, pickup: false, rank: 100, dailyCapacity: null, safetyStock: 0, active: true });
  }
  await db.close();
}

/** `omnistock serve --role api` as its own process (its RSS is the service's alone). */
async function serve(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', 'src/cli/main.ts', 'serve', '--role', 'api'], {
    cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', LOG_LEVEL: 'info', API_TOKENS: `bench:${TOKEN}:stock:write`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"msg":"omnistock started"/.test(out) ? /"url":"([^"]+)"/.exec(out) : null;
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', () => reject(new Error(`service exited:\n${out}`)));
  });
  return {
    url, child,
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? round(Number(m[1]) / 1024) : NaN;
}

/** Streams the file to the service, noting its RSS as the upload passes each mark (rows sent). */
/** A long-running service is warm: one small import first (other rows), unmeasured, so that JIT, module loading and the producer's connection are not in the figures. */
async function warmUp(url: string, dir: string): Promise<void> {
  const file = path.join(dir, 'warm-up.csv');
  writeCsv(file, 20_000, '2026-11-22T10:00:00Z');
  await postFile(url, TOKEN, 'text/csv', fs.createReadStream(file));
}

async function importFile(url: string, pid: number, file: string, rows: number, marks: number[]) {
  const atMark: Record<string, number> = {};
  let sent = 0;
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, rssMiB(pid)); }, 100);
  const pending = [...marks];
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) sent += 1;
      while (pending.length && sent - 1 >= pending[0]!) atMark[String(pending.shift())] = rssMiB(pid);
      done(null, chunk);
    },
  });
  const before = rssMiB(pid);
  const t0 = performance.now();
  const summary = await postFile(url, TOKEN, 'text/csv', fs.createReadStream(file, { highWaterMark: 256 * 1024 }).pipe(counter));
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, rssMiB(pid));
  if (summary.accepted + summary.duplicates !== rows || summary.rejectedCount !== 0) throw new Error(`import answered ${JSON.stringify(summary).slice(0, 300)}`);
  return { rows, seconds: round(seconds, 2), rowsPerSec: Math.round(rows / seconds), accepted: summary.accepted, rssMiB: { before, ...atMark, peak, after: rssMiB(pid) } };
}

/** The log alone: the same rows as events, appended in the import's batch size with as many batches in flight. */
async function rawAppend(brokers: string[], topic: string, rows: number) {
  const log = new KafkaEventLog({ brokers, logger: createLogger('warn') });
  const ms = Date.parse(COUNTED_AT);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: MAX_BATCHES_IN_FLIGHT }, async () => {
    while (next < rows) {
      const start = next;
      next += IMPORT_BATCH_ROWS;
      const batch = [];
      for (let i = start; i < Math.min(rows, start + IMPORT_BATCH_ROWS); i++) {
        const r = rowAt(i);
        const event = { eventId: countEventId(r.sku, r.locationId, r.quantity, ms), type: 'stock.counted', sku: r.sku, locationId: r.locationId, occurredAt: COUNTED_AT, source: 'bench', quantity: r.quantity };
        batch.push({ key: r.sku, value: JSON.stringify(event) });
      }
      await log.append(topic, batch);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  await log.close();
  return { rows, seconds: round(seconds, 2), rowsPerSec: Math.round(rows / seconds) };
}

export async function benchCountImport(opts: { rows?: number; embeddedRows?: number } = {}) {
  const rows = opts.rows ?? Number(process.env.BENCH_IMPORT_ROWS ?? 1_000_000);
  const embeddedRows = opts.embeddedRows ?? Math.min(rows, 200_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnistock-bench-import-'));
  const file = path.join(dir, 'counts.csv');
  writeCsv(file, rows);
  const marks = [100_000, 250_000, 500_000, 750_000, 1_000_000].filter((m) => m <= rows);
  const topic = `bench.import.${randomBytes(3).toString('hex')}`;
  const broker = await startMockKafka({ topics: [{ name: topic, partitions: 12 }, { name: `${topic}.raw`, partitions: 12 }] });
  const db = await freshDatabase();
  try {
    await seed({ DATABASE_URL: db.url });
    const svc = await serve({ DATABASE_URL: db.url, KAFKA_BROKERS: broker.brokers.join(','), KAFKA_EVENTS_TOPIC: topic });
    let kafka;
    // The baseline right before and right after the import (a shared machine's speed drifts
    // within minutes): the import is compared with their mean.
    const baselineRows = Math.min(rows, 300_000);
    let before;
    let after;
    try {
      await warmUp(svc.url, dir);
      before = await rawAppend(broker.brokers, `${topic}.raw`, baselineRows);
      kafka = await importFile(svc.url, svc.child.pid!, file, rows, marks);
      after = await rawAppend(broker.brokers, `${topic}.raw`, baselineRows);
    } finally {
      await svc.stop();
    }
    const baseline = { before, after, meanRowsPerSec: Math.round((before.rowsPerSec + after.rowsPerSec) / 2) };

    const embeddedFile = path.join(dir, 'counts-embedded.csv');
    writeCsv(embeddedFile, embeddedRows);
    const dataDir = path.join(dir, 'pglite');
    await seed({ DATA_DIR: dataDir });
    const emb = await serve({ DATA_DIR: dataDir });
    let embedded;
    try {
      await warmUp(emb.url, dir);
      embedded = await importFile(emb.url, emb.child.pid!, embeddedFile, embeddedRows, marks.filter((m) => m <= embeddedRows));
    } finally {
      await emb.stop();
    }
    return {
      fileMiB: round(fs.statSync(file).size / 2 ** 20),
      postgresKafka: { ...kafka, baselineRawAppend: baseline, ratioToRawAppend: round(kafka.rowsPerSec / baseline.meanRowsPerSec, 2), targetRowsPerSec: 20_000, met: kafka.rowsPerSec >= 20_000 },
      embedded,
    };
  } finally {
    await db.drop();
    await broker.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchCountImport(), null, 2));
  process.exit(0);
}
