// Issue 17, overload: with no reconciler running, the backlog passes EVENT_BACKLOG_LIMIT and
// POST /v1/events answers 429 with Retry-After while reads and reservations still answer; once a
// reconciler drains the backlog, events are accepted again, and the ledger holds every accepted
// event exactly once and nothing of a refused batch. On PostgreSQL with the embedded log and with
// Kafka (the mock broker).
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startService, type RunningService } from '../src/service/service.js';
import type { StockEvent } from '../src/core/stock-event.js';
import { positionKey } from '../src/core/ids.js';
import { kafkaBrokersForTests } from './support/kafka-broker.js';
import { createPgTestDatabase } from './support/databases.js';
import { expectedPositions, randomHistory } from './support/stock-history.js';

const AUTH = { authorization: 'Bearer ops-secret', 'content-type': 'application/json' };
const TOKENS = 'ops:ops-secret:events:write+stock:read+stock:write+reservations+routing+admin';
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function call(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, { method, headers: AUTH, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000) });
  const json = JSON.parse(await res.text()) as Record<string, unknown>;
  return { status: res.status, type: res.headers.get('content-type') ?? '', retryAfter: res.headers.get('retry-after'), json };
}

for (const kafka of [false, true]) {
  describe(`overload shedding on PostgreSQL + ${kafka ? 'Kafka' : 'the embedded log'}`, () => {
    it('429 with Retry-After past the bound, reads and reservations unaffected, accepted events applied once after the drain', async () => {
      const pg = await createPgTestDatabase();
      cleanups.push(pg.drop);
      const env: Record<string, string> = {
        DATABASE_URL: pg.url, API_TOKENS: TOKENS, PORT: '0', LOG_LEVEL: 'fatal',
        EVENT_BACKLOG_LIMIT: '400', EVENT_LAG_LIMIT_SECONDS: '0',
        RECONCILER_GROUP: `shed-${randomBytes(3).toString('hex')}`,
      };
      if (kafka) Object.assign(env, { KAFKA_BROKERS: kafkaBrokersForTests().join(','), KAFKA_EVENTS_TOPIC: `shed-${randomBytes(4).toString('hex')}` });
      const api: RunningService = await startService({ roles: ['api'], config: loadConfig(env) });
      cleanups.push(() => api.stop());
      const url = api.url!;
      expect((await call(url, 'PUT', '/v1/locations/ams-01', { name: 'A', type: 'store', lat: 52, lon: 4.9 })).status).toBeLessThan(300);

      const history = randomHistory({ n: 3_000, skus: ['SH-1', 'SH-2', 'SH-3', 'SH-4'], locations: ['ams-01'], seed: 4, prefix: `shed${kafka ? 'k' : 'e'}` });
      const accepted: StockEvent[] = [];
      let shed: Awaited<ReturnType<typeof call>> | null = null;
      // No reconciler runs: the backlog only grows. Post 100-event batches until one is shed.
      for (let i = 0; i * 100 < history.length && !shed; i++) {
        const batch = history.slice(i * 100, i * 100 + 100);
        const r = await call(url, 'POST', '/v1/events', { events: batch });
        if (r.status === 202) accepted.push(...batch);
        else if (r.status === 429) shed = r;
        else throw new Error(`unexpected ${r.status}: ${JSON.stringify(r.json)}`);
        if (accepted.length >= 500) await new Promise((res) => setTimeout(res, 300)); // let a reading see it
      }
      expect(shed, 'a batch was shed before the history ran out').not.toBeNull();
      expect(shed!.type).toContain('application/problem+json');
      expect(Number(shed!.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(String(shed!.json.detail)).toMatch(/events wait to be applied \(limit 400\)/);
      // The bound held up to the reading interval's worth of posts.
      expect(accepted.length).toBeLessThan(3_000);

      // Reads and reservations do not shed.
      expect((await call(url, 'GET', '/v1/availability/SH-1')).status).toBe(200);
      expect([201, 409]).toContain((await call(url, 'POST', '/v1/reservations', { lines: [{ sku: 'SH-1', locationId: 'ams-01', quantity: 1 }] })).status);
      expect((await call(url, 'POST', '/v1/events', { events: history.slice(2_900) })).status).toBe(429);

      // A reconciler drains the backlog; then events are accepted again.
      const reconciler = await startService({ roles: ['reconciler'], config: loadConfig({ ...env }) });
      cleanups.push(() => reconciler.stop());
      const rest = history.slice(accepted.length, accepted.length + 200);
      const deadline = Date.now() + 90_000;
      for (;;) {
        const r = await call(url, 'POST', '/v1/events', { events: rest });
        if (r.status === 202) break;
        expect(r.status).toBe(429);
        if (Date.now() > deadline) throw new Error('still shedding after 90 s');
        await new Promise((res) => setTimeout(res, 1_000));
      }
      accepted.push(...rest);

      const ids = accepted.map((e) => e.eventId);
      while ((await api.db.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_events WHERE event_id = ANY($1::text[])', [ids]))[0]!.n < ids.length) {
        if (Date.now() > deadline) throw new Error('accepted events not applied');
        await new Promise((res) => setTimeout(res, 200));
      }
      const skus = ['SH-1', 'SH-2', 'SH-3', 'SH-4'];
      const rows = await api.db.query<{ sku: string; location_id: string; on_hand: number; unavailable: number }>('SELECT sku, location_id, on_hand, unavailable FROM positions WHERE sku = ANY($1::text[])', [skus]);
      expect(Object.fromEntries(rows.map((r) => [positionKey(r.sku, r.location_id), { onHand: r.on_hand, unavailable: r.unavailable }])))
        .toEqual(Object.fromEntries([...expectedPositions(accepted)].map(([k, s]) => [k, { onHand: s.onHand, unavailable: s.unavailable }])));
      const entries = (await api.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger_entries WHERE sku = ANY($1::text[]) AND reservation_id IS NULL', [skus]))[0]!.n;
      expect(entries).toBe(accepted.length);
    }, 180_000);
  });
}
