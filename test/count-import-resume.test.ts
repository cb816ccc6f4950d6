// `omnistock import-counts` killed with SIGKILL mid-file and run again: every count ends up in
// the ledger exactly once. Straight into PostgreSQL + the Kafka broker, and through a running
// service, and straight into the embedded database and log (PGlite).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
import { openDatabase } from '../src/db/open-database.js';
import { upsertLocation } from '../src/locations/location-store.js';
import { createLogger } from '../src/logger.js';
import { startService, type RunningService } from '../src/service/service.js';
import { embeddedDeployment, pgKafkaDeployment } from './spine/deployments.js';

const ROWS = 120_000;
const LOCATIONS = ['ams-01', 'utr-02', 'wh-1'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'omnistock-count-resume-'));
const cleanups: Array<() => Promise<void> | void> = [() => fs.rmSync(tmp, { recursive: true, force: true })];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** ROWS good rows (one per position) and one bad row every 10,000 lines. */
function writeFile(rows = ROWS): { file: string; good: number; bad: number } {
  const file = path.join(tmp, `counts-${Math.random().toString(36).slice(2)}.csv`);
  const lines = ['sku,locationId,quantity,countedAt'];
  let bad = 0;
  for (let i = 0; i < rows; i++) {
    if (i % 10_000 === 5000) {
      lines.push(`BAD-${i},${LOCATIONS[0]},1.5,2026-11-23T10:00:00Z`);
      bad += 1;
    }
    lines.push(`S-${Math.floor(i / LOCATIONS.length)},${LOCATIONS[i % LOCATIONS.length]},${i % 97},2026-11-23T10:00:00Z`);
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return { file, good: rows, bad };
}

function runCli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'import-counts', ...args], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => { child.kill('SIGKILL'); });
  return {
    exited,
    output: () => out,
    /** SIGKILL once progress reaches `pct`% of the file. */
    async killAt(pct: number): Promise<void> {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const seen = [...out.matchAll(/importing counts: (\d+)%/g)].map((m) => Number(m[1]));
        if (seen.some((p) => p >= pct)) break;
        if (child.exitCode !== null) throw new Error(`the import finished before ${pct}%:\n${out}`);
        if (Date.now() > deadline) throw new Error(`no progress to ${pct}%:\n${out}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function countsApplied(db: Database): Promise<number> {
  return (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM processed_events WHERE event_id LIKE 'count:%'"))[0]!.n;
}

/**
 * After a kill: waits until something was applied and the figure has stopped moving for 5 s
 * (the killed run's last appends drained). Before a final check: waits for `target` exactly.
 */
async function settle(db: Database, target: number, mode: 'stable' | 'target' = 'target'): Promise<number> {
  let last = -1;
  let stableSince = Date.now();
  const deadline = Date.now() + 150_000;
  for (;;) {
    const n = await countsApplied(db);
    if (n === target) return n;
    if (n !== last) {
      last = n;
      stableSince = Date.now();
    } else if (mode === 'stable' && n > 0 && Date.now() - stableSince > 5000) return n;
    if (Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every good row applied once: one ledger entry per position, on hand = its count. */
async function expectEachCountOnce(db: Database, good: number): Promise<void> {
  const [row] = await db.query<{ entries: number; distinct_events: number; positions: number; wrong: number }>(`
    SELECT (SELECT count(*)::int FROM ledger_entries WHERE kind = 'stock.counted') AS entries,
           (SELECT count(DISTINCT event_id)::int FROM ledger_entries WHERE kind = 'stock.counted') AS distinct_events,
           (SELECT count(*)::int FROM positions WHERE sku LIKE 'S-%') AS positions,
           (SELECT count(*)::int FROM ledger_entries WHERE kind = 'stock.counted' AND sku LIKE 'BAD-%') AS wrong`);
  expect(row).toEqual({ entries: good, distinct_events: good, positions: good, wrong: 0 });
  // on hand = the row's quantity, for every position (row i: S-floor(i/3) at LOCATIONS[i%3], i%97)
  const off = await db.query<{ n: number }>(`
    SELECT count(*)::int AS n FROM positions p
    WHERE p.sku LIKE 'S-%' AND p.on_hand <> ((substr(p.sku, 3)::int * 3 + CASE p.location_id WHEN 'ams-01' THEN 0 WHEN 'utr-02' THEN 1 ELSE 2 END) % 97)`);
  expect(off[0]!.n).toBe(0);
}

function summaryOf(out: string) {
  const m = /(\d+) accepted, (\d+) duplicates, (\d+) rejected/.exec(out);
  if (!m) throw new Error(`no summary in:\n${out}`);
  return { accepted: Number(m[1]), duplicates: Number(m[2]), rejected: Number(m[3]) };
}

async function seedLocations(db: Database): Promise<void> {
  for (const id of LOCATIONS) {
    await upsertLocation(db, id, { name: id, type: id.startsWith('wh') ? 'warehouse' : 'store', lat: 52, lon: 5, shipFromStore: true, pickup: false, rank: 100, dailyCapacity: null, safetyStock: 0, active: true });
  }
}

async function killAndResume(args: (file: string) => string[], env: Record<string, string>, db: () => Database) {
  const { file, good, bad } = writeFile();
  const first = runCli(args(file), env);
  // Half the file read (or sent): well past the rows that can still be in flight (up to four
  // batches of 5,000 and the read-ahead buffer), well short of the end.
  await first.killAt(50);
  const afterKill = await settle(db(), good, 'stable');
  // killed mid-file: some counts got in, not all
  expect(afterKill).toBeGreaterThan(0);
  expect(afterKill).toBeLessThan(good);

  const second = runCli(args(file), env);
  expect(await second.exited).toBe(2); // finished, with the bad rows refused
  const s2 = summaryOf(second.output());
  expect(s2.accepted + s2.duplicates).toBe(good);
  expect(s2.duplicates).toBeGreaterThanOrEqual(afterKill);
  expect(s2.rejected).toBe(bad);
  expect(second.output()).toMatch(/line 5002: rejected: quantity: must be a whole number ≥ 0, got "1.5"/);
  return { file, good, bad };
}

describe('import-counts resumes after SIGKILL without applying anything twice', () => {
  it('straight into PostgreSQL and the Kafka broker', async () => {
    const d = await pgKafkaDeployment();
    cleanups.push(() => d.cleanup());
    const s: RunningService = await startService({ config: d.config(), roles: ['reconciler'], logger: createLogger('warn') });
    cleanups.push(() => s.stop());
    await seedLocations(s.db);
    const { file, good, bad } = await killAndResume((f) => [f], d.env, () => s.db);
    expect(await settle(s.db, good)).toBe(good);
    await expectEachCountOnce(s.db, good);

    // a third run finds every row applied
    const third = runCli([file], d.env);
    expect(await third.exited).toBe(2);
    expect(summaryOf(third.output())).toEqual({ accepted: 0, duplicates: good, rejected: bad });
    await expectEachCountOnce(s.db, good);
  }, 200_000);

  it('through a running service (--url) on PostgreSQL and the Kafka broker', async () => {
    const d = await pgKafkaDeployment();
    cleanups.push(() => d.cleanup());
    const s: RunningService = await startService({ config: d.config(), roles: ['api', 'reconciler'], logger: createLogger('warn') });
    cleanups.push(() => s.stop());
    await seedLocations(s.db);
    const { good } = await killAndResume((f) => [f, '--url', s.url!, '--token', 'ops-secret'], {}, () => s.db);
    expect(await settle(s.db, good)).toBe(good);
    await expectEachCountOnce(s.db, good);
  }, 200_000);

  it('straight into the embedded database and log (PGlite)', async () => {
    const d = await embeddedDeployment();
    cleanups.push(() => d.cleanup());
    // PGlite belongs to one process at a time: seed, close, let the CLI have it, then apply.
    let db = await openDatabase({ dataDir: d.env.DATA_DIR });
    await seedLocations(db);
    const appendedToLog = async () => (await db.query<{ n: number }>("SELECT count(DISTINCT payload::jsonb->>'eventId')::int AS n FROM log_messages WHERE payload LIKE '%count:%'"))[0]!.n;
    await db.close();
    // PGlite appends and applies several times slower than PostgreSQL: a smaller file, killed
    // at 60% (36,000 rows read, beyond the up to 27,000 that can be in flight or read ahead)
    const { file, good, bad } = writeFile(60_000);
    const first = runCli([file, '--offline'], d.env);
    await first.killAt(60);
    db = await openDatabase({ dataDir: d.env.DATA_DIR });
    const inLog = await appendedToLog();
    await db.close();
    // killed mid-file: some counts are in the log, not all
    expect(inLog).toBeGreaterThan(0);
    expect(inLog).toBeLessThan(good);
    const refused = runCli([file], d.env);
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toMatch(/only one process may open: import through the running service with --url and --token, or pass --offline/);
    const second = runCli([file, '--offline'], d.env);
    expect(await second.exited).toBe(2);
    const s2 = summaryOf(second.output());
    expect(s2.accepted + s2.duplicates).toBe(good);
    expect(s2.rejected).toBe(bad);
    // now the reconciler applies the log: each count once, the killed run's rows included
    const s = await startService({ config: d.config(), roles: ['reconciler'], logger: createLogger('warn') });
    cleanups.push(() => s.stop());
    expect(await settle(s.db, good)).toBe(good);
    await expectEachCountOnce(s.db, good);
  }, 240_000);
});
