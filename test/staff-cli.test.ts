// `omnistock users add` as a real process on PostgreSQL: the password comes from stdin, the
// user can then sign in; a short password and an unknown location are refused with a message.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
import { openDatabase } from '../src/db/open-database.js';
import { upsertLocation } from '../src/locations/location-store.js';
import { UserStore } from '../src/staff/user-store.js';
import { createPgTestDatabase } from './support/databases.js';

function cli(args: string[], env: Record<string, string>, stdin: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...env }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', (code) => resolve({ code, out }));
    child.stdin.end(stdin);
  });
}

describe('omnistock users add', () => {
  let db: Database;
  let url: string;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const t = await createPgTestDatabase();
    url = t.url;
    drop = t.drop;
    db = await openDatabase({ databaseUrl: url });
    await upsertLocation(db, 'ams-01', { name: 'Amsterdam', type: 'store', lat: 52.37, lon: 4.89, shipFromStore: true, pickup: true, rank: 100, dailyCapacity: null, safetyStock: 0, active: true });
  });
  afterAll(async () => {
    await db?.close();
    await drop?.();
  });

  it('creates a user whose password is read from stdin, who can then sign in', async () => {
    const r = await cli(['users', 'add', 'alice', '--name', 'Alice de Vries', '--role', 'manager', '--location', 'ams-01'], { DATABASE_URL: url }, 'correct horse battery\n');
    expect(r.out).toContain('created alice (manager) at ams-01');
    expect(r.code).toBe(0);
    const users = new UserStore(db);
    expect((await users.signIn('alice', 'correct horse battery')).kind).toBe('ok');
    const list = await cli(['users', 'list'], { DATABASE_URL: url }, '');
    expect(list.out).toMatch(/^alice\tmanager\tams-01\tAlice de Vries$/m);
  });

  it('refuses a short password and an unknown location, saying which', async () => {
    const short = await cli(['users', 'add', 'bob', '--name', 'Bob', '--role', 'staff', '--location', 'ams-01'], { DATABASE_URL: url }, 'short\n');
    expect(short.code).toBe(1);
    expect(short.out).toContain('at least 10 characters');
    const unknown = await cli(['users', 'add', 'bob', '--name', 'Bob', '--role', 'staff', '--location', 'nowhere'], { DATABASE_URL: url }, 'long enough password\n');
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain('unknown location "nowhere"');
    expect(await new UserStore(db).get('bob')).toBeNull();
  });
});
