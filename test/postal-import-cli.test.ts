// `omnistock import-postal-codes FILE` on PostgreSQL with Kafka: through a running service
// (PUT /v1/postal-codes in batches of at most 10,000 rows) and straight into the database; bad
// rows reported by line number without stopping the others; a code repeated in the file keeps
// its last row; the real command's exit code says whether rows were refused.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImportPostalCodes } from '../src/cli/import-postal-codes.js';
import type { RunningService } from '../src/service/service.js';
import { api, startWith } from './channels-harness.js';
import { pgKafkaDeployment, type Deployment } from './spine/deployments.js';
import { killAllServices, spawnService } from './support/service-process.js';

let d: Deployment;
let s: RunningService;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnistock-postal-'));
const quiet = () => new Writable({ write: (_c, _e, done) => done() });
const err = quiet() as unknown as NodeJS.WriteStream;

function file(name: string, lines: string[]): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}

const get = async (country: string, code: string) => {
  const r = await api(s, 'GET', `/v1/postal-codes/${country}/${encodeURIComponent(code)}`);
  return r.status === 200 ? r.json : r.status;
};

beforeAll(async () => {
  d = await pgKafkaDeployment();
  s = await startWith(d);
}, 120_000);

afterAll(async () => {
  await killAllServices();
  await s?.stop();
  await d?.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('import-postal-codes', () => {
  it('through the service: good rows load, bad rows are reported by line, a repeated code keeps its last row', async () => {
    const f = file('nl.csv', [
      'Lat;Lon;PostalCode;Country;note',
      '52.09;5.12;3511 AB;NL;utrecht',
      '91;5.12;3511 AC;NL;too far north',
      '51.0;4.0;3011 AA;NL;first',
      '',
      '52.0;x;1000 AA;NL;no longitude',
      '51.92;4.48;3011aa;nl;replaces the first',
      '52.0;4.0;1000 AA;NLD;three letters',
    ]);
    const summary = await runImportPostalCodes({ file: f, url: s.url!, token: 'ops-secret' }, quiet(), err);
    expect(summary).toEqual({
      created: 2, updated: 0,
      rejected: [
        { line: 3, error: expect.stringContaining('lat') },
        { line: 6, error: 'lon: "x" is not a decimal number' },
        { line: 8, error: expect.stringContaining('country') },
      ],
    });
    expect(await get('NL', '3511AB')).toEqual({ country: 'NL', postalCode: '3511AB', lat: 52.09, lon: 5.12 });
    expect(await get('NL', '3011AA')).toEqual({ country: 'NL', postalCode: '3011AA', lat: 51.92, lon: 4.48 });
    expect(await get('NL', '3511AC')).toBe(404);
  });

  it('a file larger than one request goes in batches; loading it again only updates', async () => {
    const rows = Array.from({ length: 23_456 }, (_, i) => `DE,${String(10_000 + i)},${(47 + (i % 800) / 100).toFixed(2)},${(6 + (i % 900) / 100).toFixed(2)}`);
    const f = file('de.csv', ['country,postalCode,lat,lon', ...rows]);
    expect(await runImportPostalCodes({ file: f, url: s.url!, token: 'ops-secret' }, quiet(), err)).toEqual({ created: 23_456, updated: 0, rejected: [] });
    expect(await get('DE', '33455')).toEqual({ country: 'DE', postalCode: '33455', lat: 47 + (23_455 % 800) / 100, lon: 6 + (23_455 % 900) / 100 });
    // Straight into the database this time (DATABASE_URL of the deployment): every row exists.
    expect(await runImportPostalCodes({ file: f, env: d.env }, quiet(), err)).toEqual({ created: 0, updated: 23_456, rejected: [] });
  }, 60_000);

  it('refuses a header without the columns, and a token without admin', async () => {
    const bad = file('bad.csv', ['country,zip,lat,lon', 'NL,1000AA,52,4']);
    await expect(runImportPostalCodes({ file: bad, url: s.url!, token: 'ops-secret' }, quiet(), err)).rejects.toThrow(/missing postalCode/);
    const good = file('good.csv', ['country,postalCode,lat,lon', 'NL,1000AA,52,4']);
    await expect(runImportPostalCodes({ file: good, url: s.url!, token: 'reader-secret' }, quiet(), err)).rejects.toThrow(/403/);
  });

  it('the real command exits 2 when rows were refused, and loads the rest', async () => {
    const f = file('cli.csv', ['country,postalCode,lat,lon', 'BE,1000,50.85,4.35', 'BE,1050,north,4.37']);
    const proc = spawnService(['import-postal-codes', f, '--url', s.url!, '--token', 'ops-secret'], { ...d.env, LOG_LEVEL: 'warn' });
    const code = await proc.exited;
    expect(proc.output()).toContain('line 3: rejected: lat: "north" is not a decimal number');
    expect(proc.output()).toContain('1 created, 0 updated, 1 rejected');
    expect(code).toBe(2);
    expect(await get('BE', '1000')).toEqual({ country: 'BE', postalCode: '1000', lat: 50.85, lon: 4.35 });
  }, 60_000);
});
