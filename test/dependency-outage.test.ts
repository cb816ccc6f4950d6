// Issue 17: while the event log or the database is unreachable the API answers 503 with
// Retry-After (never 500, never a long hang), /readyz answers 503 promptly, and both are ready
// again by themselves within 10 s of the fault ending. Events a client resends after its 503
// are applied exactly once. Real components: the Kafka wire-protocol mock broker (taken down and
// brought back) and PostgreSQL behind a loopback proxy the test cuts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startService, type RunningService } from '../src/service/service.js';
import type { StockEvent } from '../src/core/stock-event.js';
import { positionKey } from '../src/core/ids.js';
import { startMockKafka, type MockKafka } from './support/kafka-broker.js';
import { createPgTestDatabase, type PgTestDatabase } from './support/databases.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { expectedPositions, randomHistory } from './support/stock-history.js';

const AUTH = { authorization: 'Bearer ops-secret' };
const TOKENS = 'ops:ops-secret:events:write+stock:read+stock:write+reservations+routing+admin';
const LOCATIONS = ['ams-01', 'wh-1'];
const SKUS = ['OUT-1', 'OUT-2', 'OUT-3'];

let kafka: MockKafka;
let proxy: TcpProxy;
let pgdb: PgTestDatabase;
let svc: RunningService;

async function call(method: string, path: string, body?: unknown, timeoutMs = 30_000) {
  const started = Date.now();
  const res = await fetch(`${svc.url}${path}`, {
    method,
    headers: { ...AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', retryAfter: res.headers.get('retry-after'), json: JSON.parse(text) as Record<string, unknown>, ms: Date.now() - started };
}

/** A client that resends until 202, as the contract asks of connectors; returns the statuses seen. */
async function sendUntilAccepted(events: readonly StockEvent[]): Promise<number[]> {
  const seen: number[] = [];
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await call('POST', '/v1/events', { events }).catch(() => ({ status: 0 }) as const);
    seen.push(r.status);
    if (r.status === 202) return seen;
    expect([0, 429, 503]).toContain(r.status);
    if (Date.now() > deadline) throw new Error(`never accepted: ${seen.join(',')}`);
    await new Promise((r2) => setTimeout(r2, 500));
  }
}

/** Milliseconds until /readyz answers 200 (polled every 250 ms, up to 60 s). */
async function msUntilReady(): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < 60_000) {
    const r = await fetch(`${svc.url}/readyz`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
    if (r?.status === 200) return Date.now() - started;
    await new Promise((res) => setTimeout(res, 250));
  }
  throw new Error('/readyz never answered 200 again');
}

async function expectLedgerIs(events: readonly StockEvent[]) {
  const ids = [...new Set(events.map((e) => e.eventId))];
  const deadline = Date.now() + 60_000;
  while ((await svc.db.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_events WHERE event_id = ANY($1::text[])', [ids]))[0]!.n < ids.length) {
    if (Date.now() > deadline) throw new Error('events not applied within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  const rows = await svc.db.query<{ sku: string; location_id: string; on_hand: number; unavailable: number }>(
    'SELECT sku, location_id, on_hand, unavailable FROM positions WHERE sku = ANY($1::text[])', [SKUS]);
  const actual = Object.fromEntries(rows.map((r) => [positionKey(r.sku, r.location_id), { onHand: r.on_hand, unavailable: r.unavailable }]));
  const want = Object.fromEntries([...expectedPositions(events)].map(([k, s]) => [k, { onHand: s.onHand, unavailable: s.unavailable }]));
  expect(actual).toEqual(want);
  const entries = (await svc.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger_entries WHERE sku = ANY($1::text[])', [SKUS]))[0]!.n;
  expect(entries).toBe(ids.length);
}

beforeAll(async () => {
  kafka = await startMockKafka();
  pgdb = await createPgTestDatabase();
  const target = new URL(pgdb.url);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const proxied = new URL(pgdb.url);
  proxied.port = String(proxy.port);
  svc = await startService({
    roles: ['api', 'reconciler'],
    config: loadConfig({ DATABASE_URL: proxied.toString(), KAFKA_BROKERS: kafka.brokers.join(','), API_TOKENS: TOKENS, PORT: '0', LOG_LEVEL: 'fatal' }),
  });
  for (const id of LOCATIONS) {
    expect((await call('PUT', `/v1/locations/${id}`, { name: id, type: id.startsWith('wh') ? 'warehouse' : 'store', lat: 52, lon: 4.9 })).status).toBeLessThan(300);
  }
});

afterAll(async () => {
  await svc?.stop().catch(() => {});
  await proxy?.close();
  await kafka?.stop();
  await pgdb?.drop();
});

describe('dependency outages (issue 17)', () => {
  const history = randomHistory({ n: 90, skus: SKUS, locations: LOCATIONS, seed: 17, prefix: 'outage' });
  const [before, duringBroker, duringDb] = [history.slice(0, 30), history.slice(30, 60), history.slice(60)];

  it('broker down: 503 with Retry-After within the append deadline, /readyz 503 promptly, ready within 10 s of the broker returning, resent events applied once', async () => {
    expect((await call('POST', '/v1/events?wait=true', { events: before })).status).toBe(202);
    await kafka.command('down -1');
    try {
      const ready = await call('GET', '/readyz', undefined, 10_000);
      expect(ready.status).toBe(503);
      expect(ready.json.eventLog).toBe(false);
      expect(ready.retryAfter).toMatch(/^\d+$/);
      const r = await call('POST', '/v1/events', { events: duringBroker }, 20_000);
      expect(r.status).toBe(503);
      expect(r.type).toContain('application/problem+json');
      expect(r.retryAfter).toMatch(/^\d+$/);
      expect(String(r.json.detail)).toMatch(/event log unavailable/);
      // Reads do not need the log.
      expect((await call('GET', '/v1/availability/OUT-1')).status).toBe(200);
    } finally {
      await kafka.command('up -1');
    }
    expect(await msUntilReady()).toBeLessThanOrEqual(10_000);
    // The 503'd batch may still have landed (a send outliving its deadline); resending it is safe.
    await sendUntilAccepted(duringBroker);
    await sendUntilAccepted(duringBroker);
    await expectLedgerIs([...before, ...duringBroker]);
  }, 180_000);

  it('database unreachable: reads, writes and events answer 503 with Retry-After (never 500), /readyz 503, ready within 10 s of it returning', async () => {
    proxy.refuse();
    try {
      const ready = await call('GET', '/readyz', undefined, 10_000);
      expect(ready.status).toBe(503);
      expect(ready.json.database).toBe(false);
      for (const [method, path, body] of [
        ['GET', '/v1/availability/OUT-1', undefined],
        ['POST', '/v1/events', { events: duringDb }],
        ['POST', '/v1/reservations', { lines: [{ sku: 'OUT-1', locationId: 'ams-01', quantity: 1 }] }],
        ['GET', '/v1/locations', undefined],
      ] as const) {
        const r = await call(method, path, body, 20_000);
        expect({ path, status: r.status }).toEqual({ path, status: 503 });
        expect(r.type).toContain('application/problem+json');
        expect(r.retryAfter).toMatch(/^\d+$/);
      }
    } finally {
      proxy.restore();
    }
    expect(await msUntilReady()).toBeLessThanOrEqual(10_000);
    await sendUntilAccepted(duringDb);
    await expectLedgerIs(history);
  }, 180_000);
});
