// POST /v1/imports/counts (contract §10) on the production shape: PostgreSQL and the Kafka
// wire-protocol broker, the service in this process with its reconciler.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { startService, type RunningService } from '../src/service/service.js';
import { OPS, pgKafkaDeployment, type Deployment } from './spine/deployments.js';

let d: Deployment;
let s: RunningService;

async function post(body: string, contentType = 'text/csv', headers: Record<string, string> = OPS) {
  const res = await fetch(`${s.url}/v1/imports/counts`, { method: 'POST', headers: { ...headers, 'content-type': contentType }, body });
  return { status: res.status, body: (await res.json()) as any };
}

async function appliedCounts(): Promise<number> {
  return (await s.db.query<{ n: number }>("SELECT count(*)::int AS n FROM processed_events WHERE event_id LIKE 'count:%'"))[0]!.n;
}

async function waitApplied(n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await appliedCounts()) < n) {
    if (Date.now() > deadline) throw new Error(`only ${await appliedCounts()} of ${n} counts applied`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function onHand(sku: string, locationId: string): Promise<number | undefined> {
  const res = await fetch(`${s.url}/v1/availability/${sku}`, { headers: OPS });
  const body = (await res.json()) as { locations: Array<{ locationId: string; onHand: number }> };
  return body.locations.find((l) => l.locationId === locationId)?.onHand;
}

beforeAll(async () => {
  d = await pgKafkaDeployment();
  s = await startService({ config: d.config(), roles: ['api', 'reconciler'], logger: createLogger('warn') });
  for (const id of ['ams-01', 'utr-02']) {
    const res = await fetch(`${s.url}/v1/locations/${id}`, { method: 'PUT', headers: { ...OPS, 'content-type': 'application/json' }, body: JSON.stringify({ name: id, type: 'store', lat: 52.37, lon: 4.89 }) });
    expect(res.status).toBeLessThan(300);
  }
});
afterAll(async () => {
  await s?.stop();
  await d?.cleanup();
});

const CSV = [
  '\uFEFFsku,locationId,quantity,countedAt',
  'A-1,ams-01,12,2026-11-23T10:00:00Z',
  'A-1,nowhere,3,2026-11-23T10:00:00Z',
  'A 1,ams-01,3,2026-11-23T10:00:00Z',
  'B-7,ams-01,1.5,2026-11-23T10:00:00Z',
  '',
  'B-7,utr-02,4,23/11/2026',
  '"B-7","utr-02","5","2026-11-23T11:00:00+01:00"',
  'A-1,ams-01,12,2026-11-23T10:00:00Z',
  'C-3,utr-02,0,2026-11-24T08:00:00Z',
].join('\r\n');

describe('POST /v1/imports/counts', () => {
  it('appends every good row, rejects each bad one by line, and applies them as counts', async () => {
    const r = await post(CSV);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      accepted: 3, duplicates: 1, rejectedCount: 4,
      rejected: [
        { line: 3, error: 'locationId: unknown location "nowhere"' },
        { line: 4, error: expect.stringMatching(/^sku: must match/) },
        { line: 5, error: 'quantity: must be a whole number ≥ 0, got "1.5"' },
        { line: 7, error: expect.stringMatching(/^countedAt: expected an ISO-8601 date-time/) },
      ],
    });
    await waitApplied(3);
    expect(await onHand('A-1', 'ams-01')).toBe(12);
    expect(await onHand('B-7', 'utr-02')).toBe(5);
    expect(await onHand('C-3', 'utr-02')).toBe(0);
    const ledger = (await (await fetch(`${s.url}/v1/ledger/B-7?locationId=utr-02`, { headers: OPS })).json()) as { items: Array<{ kind: string; occurredAt: string; source: string }> };
    expect(ledger.items).toEqual([expect.objectContaining({ kind: 'stock.counted', occurredAt: '2026-11-23T10:00:00.000Z', source: 'count-import:ops' })]);
  });

  it('applies nothing the second time the same file comes', async () => {
    const before = await appliedCounts();
    const r = await post(CSV);
    expect(r.body).toMatchObject({ accepted: 0, duplicates: 4, rejectedCount: 4 });
    expect(await appliedCounts()).toBe(before);
  });

  it('reads NDJSON, and the same count written either way is one event', async () => {
    const lines = [
      JSON.stringify({ sku: 'A-1', locationId: 'ams-01', quantity: 12, countedAt: '2026-11-23T11:00:00+01:00' }),
      JSON.stringify({ sku: 'D-4', locationId: 'ams-01', quantity: 9, countedAt: '2026-11-23T10:00:00Z' }),
      '{"sku":"D-4"',
    ].join('\n');
    const r = await post(`${lines}\n`, 'application/x-ndjson');
    expect(r.body).toEqual({ accepted: 1, duplicates: 1, rejectedCount: 1, rejected: [{ line: 3, error: expect.stringMatching(/^invalid JSON/) }] });
    await waitApplied(4);
    expect(await onHand('D-4', 'ams-01')).toBe(9);
  });

  it('streams a file far above the 1 MiB limit, which still holds for POST /v1/events', async () => {
    const rows = ['sku,locationId,quantity,countedAt'];
    for (let i = 0; i < 40_000; i++) rows.push(`BULK-${i},${i % 2 ? 'ams-01' : 'utr-02'},${i % 50},2026-11-20T09:00:00Z`);
    const body = rows.join('\n');
    expect(body.length).toBeGreaterThan(1.5 * 1024 * 1024);
    const r = await post(body);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ accepted: 40_000, duplicates: 0, rejected: [], rejectedCount: 0 });
    const big = JSON.stringify({ events: [{ pad: 'x'.repeat(1.1 * 1024 * 1024) }] });
    const res = await fetch(`${s.url}/v1/events`, { method: 'POST', headers: { ...OPS, 'content-type': 'application/json' }, body: big });
    expect(res.status).toBe(413);
    await waitApplied(40_004);
    expect(await onHand('BULK-39999', 'ams-01')).toBe(39_999 % 50);
  });

  it('refuses a file whose header lacks a column, appending nothing', async () => {
    const before = await appliedCounts();
    const r = await post('sku,location,quantity,countedAt\nZ-1,ams-01,1,2026-11-23T10:00:00Z\n');
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ status: 400, errors: [{ field: 'body' }], detail: expect.stringMatching(/line 1: header: .*missing locationId/) });
    // a marker count through the same path, so "nothing appended" is checked after the log drained
    expect((await post('sku,locationId,quantity,countedAt\nMARK-1,ams-01,1,2026-11-23T10:00:00Z\n')).body.accepted).toBe(1);
    await waitApplied(before + 1);
    expect(await onHand('Z-1', 'ams-01')).toBeUndefined();
  });

  it('needs stock:write, and CSV or NDJSON; CSV elsewhere is still a 415', async () => {
    expect((await post(CSV, 'text/csv', { authorization: 'Bearer reader-secret' })).status).toBe(403);
    expect((await post(CSV, 'text/csv', {})).status).toBe(401);
    const json = await post('{"rows":[]}', 'application/json');
    expect(json.status).toBe(415);
    expect(json.body.detail).toMatch(/^content-type: send text\/csv or application\/x-ndjson/);
    const res = await fetch(`${s.url}/v1/events`, { method: 'POST', headers: { ...OPS, 'content-type': 'text/csv' }, body: CSV });
    expect(res.status).toBe(415);
  });

  it('is described in /docs', async () => {
    const doc = (await (await fetch(`${s.url}/docs`)).json()) as any;
    const op = doc.paths['/v1/imports/counts'].post;
    expect(Object.keys(op.requestBody.content)).toEqual(expect.arrayContaining(['text/csv', 'application/x-ndjson']));
    expect(op.responses['200']).toBeDefined();
  });
});
