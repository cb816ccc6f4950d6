// The route-batch CLI as a real process: JSONL orders in, one plan or error record per line
// out, holds with --reserve; on PostgreSQL (DATABASE_URL) and on embedded PGlite (DATA_DIR).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
import { openDatabase } from '../src/db/open-database.js';
import { addLocation, applyStock, stockRow } from './routing-support.js';
import { createPgliteTestDir, createPgTestDatabase } from './support/databases.js';

const run = promisify(execFile);

async function seed(db: Database): Promise<void> {
  await addLocation(db, 'utr-02', { lat: 52.091, lon: 5.121 });
  await addLocation(db, 'wh-1', { type: 'warehouse', lat: 52.0, lon: 5.5 });
  await applyStock(db, [stockRow('A-1', 'utr-02', 1), stockRow('A-1', 'wh-1', 5), stockRow('B-7', 'wh-1', 2)]);
}

const ORDERS = [
  JSON.stringify({ orderRef: 'o1', method: 'ship', destination: { lat: 52.09, lon: 5.12 }, lines: [{ sku: 'A-1', quantity: 1 }] }),
  '{ not json',
  JSON.stringify({ orderRef: 'o3', method: 'ship', destination: { lat: 91, lon: 5 }, lines: [{ sku: 'A-1', quantity: 1 }] }),
  '',
  JSON.stringify({ orderRef: 'o5', method: 'ship', destination: { lat: 52.09, lon: 5.12 }, lines: [{ sku: 'A-1', quantity: 1 }, { sku: 'B-7', quantity: 2 }] }),
  JSON.stringify({ orderRef: 'o6', method: 'ship', destination: { lat: 52.09, lon: 5.12 }, lines: [{ sku: 'B-7', quantity: 1 }] }),
  // a marketplace order without coordinates (§7): no distance, equal ranks, so the id decides
  JSON.stringify({ orderRef: 'o7', method: 'ship', lines: [{ sku: 'A-1', quantity: 1 }] }),
];

async function routeBatch(env: Record<string, string>, dir: string, reserve: boolean): Promise<{ records: Array<Record<string, unknown>>; stderr: string }> {
  const inPath = path.join(dir, 'orders.jsonl');
  const outPath = path.join(dir, 'plans.jsonl');
  fs.writeFileSync(inPath, `${ORDERS.join('\n')}\n`);
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'route-batch', '--in', inPath, '--out', outPath, ...(reserve ? ['--reserve'] : [])];
  const { stderr } = await run(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...env }, timeout: 120_000,
  });
  const records = fs.readFileSync(outPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { records, stderr };
}

function checkRecords(records: Array<Record<string, unknown>>, reserve: boolean): void {
  expect(records.map((r) => r.line)).toEqual([1, 2, 3, 5, 6, 7]);
  expect(records[0]).toMatchObject({ line: 1, orderRef: 'o1', feasible: true, shipments: [{ locationId: 'utr-02' }] });
  expect(records[1]!.error).toMatch(/invalid JSON/);
  expect(records[2]).toMatchObject({ line: 3, errors: [{ field: 'body.destination.lat' }] });
  // o5 needs B-7 × 2: only wh-1 has it, and it has A-1 too
  expect(records[3]).toMatchObject({ line: 5, feasible: true, shipments: [{ locationId: 'wh-1', lines: [{ sku: 'A-1', quantity: 1 }, { sku: 'B-7', quantity: 2 }] }] });
  if (reserve) {
    expect(records[0]!.reservationId).toEqual(expect.any(String));
    // o5 held both B-7: o6 is infeasible and not held
    expect(records[4]).toMatchObject({ line: 6, feasible: false, reservationId: null, unassigned: [{ sku: 'B-7', quantity: 1 }] });
    // o1 holds utr-02's only A-1, so o7 ships from wh-1
    expect(records[5]).toMatchObject({ line: 7, feasible: true, shipments: [{ locationId: 'wh-1', distanceKm: null }] });
    expect(records[5]!.reservationId).toEqual(expect.any(String));
  } else {
    expect(records[0]!.reservationId).toBeNull();
    expect(records[4]).toMatchObject({ line: 6, feasible: true });
    expect(records[5]).toMatchObject({ line: 7, feasible: true, shipments: [{ locationId: 'utr-02', distanceKm: null }] });
  }
}

async function reservedTotal(db: Database): Promise<number> {
  return (await db.query<{ n: number }>('SELECT coalesce(sum(reserved), 0)::int8 AS n FROM positions'))[0]!.n;
}

describe('route-batch CLI', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('on PostgreSQL: plans, then holds with --reserve', async () => {
    const t = await createPgTestDatabase();
    cleanups.push(() => t.drop());
    const db = await openDatabase({ databaseUrl: t.url, poolSize: 2 });
    cleanups.push(() => db.close());
    await seed(db);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnistock-route-batch-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));

    const planOnly = await routeBatch({ DATABASE_URL: t.url }, dir, false);
    checkRecords(planOnly.records, false);
    expect(planOnly.stderr).toContain('4 orders planned: 4 feasible, 0 infeasible, 0 reserved; 2 lines with errors');
    expect(await reservedTotal(db)).toBe(0);

    const held = await routeBatch({ DATABASE_URL: t.url }, dir, true);
    checkRecords(held.records, true);
    expect(held.stderr).toContain('4 orders planned: 3 feasible, 1 infeasible, 3 reserved');
    expect(await reservedTotal(db)).toBe(1 + 3 + 1);
    expect((await db.query('SELECT id FROM reservations')).length).toBe(3);
  });

  it('on embedded PGlite (DATA_DIR)', async () => {
    const data = createPgliteTestDir();
    cleanups.push(() => data.cleanup());
    const db = await openDatabase({ dataDir: data.dir });
    await seed(db);
    await db.close();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnistock-route-batch-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));

    const held = await routeBatch({ DATA_DIR: data.dir }, dir, true);
    checkRecords(held.records, true);
    const after = await openDatabase({ dataDir: data.dir });
    try {
      expect(await reservedTotal(after)).toBe(5);
    } finally {
      await after.close();
    }
  });
});
