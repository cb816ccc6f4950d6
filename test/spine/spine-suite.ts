// One suite for the spine (issue 2), run on every deployment: events in through HTTP and
// availability out, duplicates, poison messages, bad input, a consumer group of two
// reconciler processes, a reconciler killed with SIGKILL mid-stream, rebuild --verify.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type RunningService } from '../../src/service/service.js';
import { openDatabase } from '../../src/db/open-database.js';
import type { Database } from '../../src/db/database.js';
import { createEventLog } from '../../src/service/event-log-factory.js';
import { createLogger } from '../../src/logger.js';
import { positionKey } from '../../src/core/ids.js';
import type { StockEvent } from '../../src/core/stock-event.js';
import { expectedPositions, randomHistory } from '../support/stock-history.js';
import { killAllServices, spawnService } from '../support/service-process.js';
import { OPS, type Deployment } from './deployments.js';
import { parseChanges } from '../../src/reconciler/change-announcement.js';
import { readConsumerLag, type LagReading } from '../../src/reconciler/consumer-lag.js';
import { createMetrics } from '../../src/metrics.js';
import { loadConfig } from '../../src/config.js';

const LOCATIONS = ['ams-01', 'utr-02', 'wh-1'];

async function api(s: RunningService, method: string, url: string, body?: unknown, headers: Record<string, string> = OPS) {
  const res = await fetch(`${s.url}${url}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, type: res.headers.get('content-type') ?? '' };
}

async function putLocations(s: RunningService) {
  for (const [i, id] of LOCATIONS.entries()) {
    const r = await api(s, 'PUT', `/v1/locations/${id}`, { name: id, type: id.startsWith('wh') ? 'warehouse' : 'store', lat: 52 + i / 10, lon: 4.9 + i / 10, safetyStock: i === 0 ? 1 : 0 });
    expect([200, 201]).toContain(r.status);
  }
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 60_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function processedCount(db: Database, ids: readonly string[]) {
  return (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_events WHERE event_id = ANY($1::text[])', [ids]))[0]!.n;
}

/** Every position equals the fold of the events sent, and nothing else moved. */
async function expectLedgerEquals(db: Database, events: readonly StockEvent[]) {
  const expected = expectedPositions(events);
  const skus = [...new Set(events.map((e) => e.sku))];
  const rows = await db.query<{ sku: string; location_id: string; on_hand: number; unavailable: number; missing: number }>(
    'SELECT sku, location_id, on_hand, unavailable, missing FROM positions WHERE sku = ANY($1::text[])', [skus]);
  const actual = new Map(rows.map((r) => [positionKey(r.sku, r.location_id), { onHand: r.on_hand, unavailable: r.unavailable }]));
  const want = new Map([...expected].map(([k, s]) => [k, { onHand: s.onHand, unavailable: s.unavailable }]));
  expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(want));
  const ledgerRows = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger_entries WHERE sku = ANY($1::text[])', [skus]))[0]!.n;
  expect(ledgerRows).toBe(new Set(events.map((e) => e.eventId)).size);
}

export interface SuiteShape {
  /** Server PostgreSQL: several processes can share it. PGlite belongs to one process. */
  multiProcess: boolean;
  /** Kafka: reconcilers scale as a consumer group. */
  kafka: boolean;
}

export function defineSpineSuite(makeDeployment: () => Promise<Deployment>, shape: SuiteShape) {
  let d: Deployment;
  let s: RunningService;

  describe('in one process', () => {
    beforeAll(async () => {
      d = await makeDeployment();
      s = await startService({ config: d.config(), roles: ['api', 'reconciler'], logger: createLogger('warn') });
      await putLocations(s);
    });
    afterAll(async () => {
      await s?.stop();
      await d?.cleanup();
    });

    it('takes events over HTTP and answers availability as the fold of them (§3, §4, §6)', async () => {
      const events = randomHistory({ n: 300, skus: ['A-1', 'B-2', 'C-3'], locations: LOCATIONS, seed: 7, prefix: 'http' });
      const r = await api(s, 'POST', '/v1/events?wait=true', { events });
      expect(r.status).toBe(202);
      expect(r.json).toEqual({ accepted: 300, duplicates: 0, rejected: [] });
      await expectLedgerEquals(s.db, events);
      const expected = expectedPositions(events);
      const a = await api(s, 'GET', '/v1/availability/A-1');
      expect(a.status).toBe(200);
      let networkAtp = 0;
      for (const loc of a.json.locations) {
        const st = expected.get(positionKey('A-1', loc.locationId))!;
        const safety = loc.locationId === 'ams-01' ? 1 : 0;
        expect(loc).toMatchObject({ onHand: st.onHand, unavailable: st.unavailable, reserved: 0, safetyStock: safety, atp: Math.max(0, st.onHand - st.unavailable - safety) });
        networkAtp += loc.atp;
      }
      expect(a.json.network.atp).toBe(networkAtp);
      const q = await api(s, 'POST', '/v1/availability/query', { skus: ['A-1', 'B-2', 'NEVER-SEEN'], locationIds: ['ams-01'] });
      expect(q.status).toBe(200);
      expect(q.json.items.map((i: any) => i.sku)).toEqual(['A-1', 'B-2', 'NEVER-SEEN']);
      expect(q.json.items[2]).toEqual({ sku: 'NEVER-SEEN', network: { onHand: 0, reserved: 0, unavailable: 0, atp: 0 }, locations: [] });
      expect(q.json.items[0].locations.every((l: any) => l.locationId === 'ams-01')).toBe(true);
      const h = await api(s, 'GET', '/v1/ledger/A-1?locationId=ams-01&limit=5');
      expect(h.status).toBe(200);
      expect(h.json.items.length).toBeGreaterThan(0);
      const times = h.json.items.map((i: any) => Date.parse(i.occurredAt));
      expect([...times].sort((x, y) => y - x)).toEqual(times);
    });

    it('answers the contract\'s smaller promises: location list and ids, SKU limits, unseen SKUs, inactive locations', async () => {
      const list = await api(s, 'GET', '/v1/locations');
      expect(list.status).toBe(200);
      const listed = (Array.isArray(list.json) ? list.json : list.json.items) as Array<{ id: string }>;
      expect(listed.map((l) => l.id)).toEqual(expect.arrayContaining(LOCATIONS));
      const badId = await api(s, 'PUT', '/v1/locations/has%20space', { name: 'x', type: 'store', lat: 1, lon: 1 });
      expect(badId.status).toBe(400);
      expect(badId.json.detail).toMatch(/id/);
      expect((await api(s, 'PUT', `/v1/locations/${'x'.repeat(65)}`, { name: 'x', type: 'store', lat: 1, lon: 1 })).status).toBe(400);
      // A SKU never seen: 200 with zeros, not 404.
      const unseen = await api(s, 'GET', '/v1/availability/NEVER-1');
      expect(unseen.status).toBe(200);
      expect(unseen.json.network).toEqual({ onHand: 0, reserved: 0, unavailable: 0, atp: 0 });
      const tooMany = await api(s, 'POST', '/v1/availability/query', { skus: Array.from({ length: 501 }, (_, i) => `Q-${i}`) });
      expect(tooMany.status).toBe(400);
      expect(tooMany.json.detail).toMatch(/skus/);
      expect((await api(s, 'POST', '/v1/availability/query', { skus: Array.from({ length: 500 }, (_, i) => `Q-${i}`) })).status).toBe(200);
      // An inactive location keeps its stock but promises none of it, and the network figures leave it out.
      const at = '2026-11-20T08:00:00Z';
      await api(s, 'PUT', '/v1/locations/closed-1', { name: 'closed', type: 'store', lat: 52, lon: 5, active: true });
      const r = await api(s, 'POST', '/v1/events?wait=true', { events: [
        { eventId: 'inact-1', type: 'stock.received', sku: 'INACT-1', locationId: 'closed-1', occurredAt: at, source: 't', quantity: 5 },
        { eventId: 'inact-2', type: 'stock.received', sku: 'INACT-1', locationId: 'utr-02', occurredAt: at, source: 't', quantity: 3 },
      ] });
      expect(r.json.accepted).toBe(2);
      expect((await api(s, 'GET', '/v1/availability/INACT-1')).json.network.atp).toBe(8);
      await api(s, 'PUT', '/v1/locations/closed-1', { name: 'closed', type: 'store', lat: 52, lon: 5, active: false });
      const after = await api(s, 'GET', '/v1/availability/INACT-1');
      const closed = after.json.locations.find((l: any) => l.locationId === 'closed-1');
      expect(closed).toMatchObject({ onHand: 5, atp: 0, active: false });
      expect(after.json.network).toMatchObject({ onHand: 3, atp: 3 });
    });

    it('without API_TOKENS prints one dev token with every scope; ?wait=true gives 504 when nothing applies; /readyz tells', async () => {
      // A deployment of its own with the API alone: nothing applies what it accepts.
      const lone = await makeDeployment();
      const lines: string[] = [];
      const svc = await startService({ config: loadConfig({ ...lone.env, API_TOKENS: undefined }), roles: ['api'], logger: createLogger('warn'), announce: (l) => lines.push(l) });
      try {
        expect(lines).toHaveLength(1);
        const secret = /dev token with every scope: (\S+)/.exec(lines[0]!)?.[1];
        expect(secret).toMatch(/^dev_/);
        const dev = { authorization: `Bearer ${secret}` };
        expect((await api(svc, 'PUT', '/v1/locations/ams-01', { name: 'a', type: 'store', lat: 1, lon: 1 }, dev)).status).toBe(201);
        const started = Date.now();
        const late = await api(svc, 'POST', '/v1/events?wait=true', { events: [
          { eventId: 'never-applied', type: 'stock.received', sku: 'W-1', locationId: 'ams-01', occurredAt: '2026-11-20T08:00:00Z', source: 't', quantity: 1 },
        ] }, dev);
        expect(late.status).toBe(504);
        expect(Date.now() - started).toBeGreaterThanOrEqual(9_500);
        expect(late.json).toMatchObject({ status: 504, accepted: 1 });
        expect((await api(svc, 'GET', '/readyz', undefined, {})).status).toBe(200);
        if (lone.env.DATABASE_URL) {
          // The database gone: still alive, no longer ready.
          await lone.cleanup();
          const ready = await api(svc, 'GET', '/readyz', undefined, {});
          expect(ready.status).toBe(503);
          expect(ready.json).toMatchObject({ database: false });
          expect((await api(svc, 'GET', '/healthz', undefined, {})).status).toBe(200);
        }
      } finally {
        await svc.stop().catch(() => {});
        await lone.cleanup().catch(() => {});
      }
    }, 60_000);

    it('reads consumer lag from the log and the stored offsets, at scrape time', async () => {
      const topic = `lag-${Math.random().toString(36).slice(2, 8)}`;
      const group = `${topic}-group`;
      await s.log.append(topic, Array.from({ length: 5 }, (_, i) => ({ key: `L-${i}`, value: `{"n":${i}}` })));
      const total = (r: LagReading[]) => r.reduce((n, x) => n + x.messages, 0);
      const before = await readConsumerLag(s.db, s.log, group, topic);
      expect(total(before)).toBe(5);
      // The group applied everything: its stored offsets reach each partition's high watermark.
      const highs = await s.log.backlog(topic, new Map());
      for (const h of highs) {
        await s.db.query('INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) VALUES ($1, $2, $3, $4)', [group, topic, h.partition, h.high]);
      }
      expect(total(await readConsumerLag(s.db, s.log, group, topic))).toBe(0);
      // As /metrics shows it: read on each scrape; a failed read keeps the last figures and is counted.
      const metrics = createMetrics();
      let fail = false;
      metrics.setConsumerLagSource(async () => {
        if (fail) throw new Error('log unreachable');
        return readConsumerLag(s.db, s.log, group, topic);
      });
      await s.db.query('UPDATE consumer_offsets SET next_offset = next_offset - 1 WHERE consumer_group = $1 AND next_offset > 0 AND partition = $2', [group, highs.find((h) => h.high > 0)!.partition]);
      const lagLines = (text: string) => text.split('\n').filter((l) => l.startsWith(`omnistock_consumer_lag_messages{topic="${topic}"`));
      const first = await metrics.registry.metrics();
      expect(lagLines(first).map((l) => Number(l.split(' ').at(-1))).reduce((a, b) => a + b, 0)).toBe(1);
      fail = true;
      const second = await metrics.registry.metrics();
      expect(lagLines(second)).toEqual(lagLines(first));
      expect((await metrics.lagReadFailures.get()).values[0]?.value).toBe(1);
    });

    it('applies the §6 count example through the whole pipeline', async () => {
      const ev = (id: string, type: string, at: string, extra: object) => ({ eventId: id, type, sku: 'CNT-1', locationId: 'utr-02', occurredAt: at, source: 'pos-utr', ...extra });
      await api(s, 'POST', '/v1/events?wait=true', { events: [ev('c10', 'stock.counted', '2026-11-23T10:00:00Z', { quantity: 10 })] });
      await api(s, 'POST', '/v1/events?wait=true', { events: [ev('s0959', 'stock.sold', '2026-11-23T09:59:00Z', { quantity: 1 })] });
      expect((await api(s, 'GET', '/v1/availability/CNT-1')).json.network.onHand).toBe(10);
      await api(s, 'POST', '/v1/events?wait=true', { events: [ev('s0959b', 'stock.sold', '2026-11-23T10:59:00+01:00', { quantity: 1 })] });
      expect((await api(s, 'GET', '/v1/availability/CNT-1')).json.network.onHand).toBe(10);
      await api(s, 'POST', '/v1/events?wait=true', { events: [ev('s1001b', 'stock.sold', '2026-11-23T10:01:00Z', { quantity: 1 })] });
      expect((await api(s, 'GET', '/v1/availability/CNT-1')).json.network.onHand).toBe(9);
    });

    it('counts duplicates and applies them once, through HTTP and straight from the log', async () => {
      const events = randomHistory({ n: 50, skus: ['DUP-1'], locations: LOCATIONS, seed: 11, prefix: 'dup' });
      const first = await api(s, 'POST', '/v1/events?wait=true', { events: [...events, events[0]] });
      expect(first.json).toEqual({ accepted: 50, duplicates: 1, rejected: [] });
      const again = await api(s, 'POST', '/v1/events?wait=true', { events });
      expect(again.json).toEqual({ accepted: 0, duplicates: 50, rejected: [] });
      // Redelivery straight into the log (a producer retry) is deduplicated by the reconciler.
      await s.log.append(d.config().kafkaEventsTopic, events.map((e) => ({ key: e.sku, value: JSON.stringify(e) })));
      const marker = { eventId: 'dup-marker', type: 'stock.received', sku: 'DUP-1', locationId: 'ams-01', occurredAt: '2026-11-02T00:00:00Z', source: 't', quantity: 1 };
      await api(s, 'POST', '/v1/events?wait=true', { events: [marker] });
      await expectLedgerEquals(s.db, [...events, marker as StockEvent]);
    });

    it('announces the positions each batch changed on the atp topic, many SKUs to a message', async () => {
      const seen = new Map<string, Set<string>>();
      let messages = 0;
      const sub = await s.log.subscribe({
        topic: d.config().kafkaAtpTopic,
        groupId: `atp-reader-${Date.now()}`,
        handler: async (batch) => {
          for (const m of batch.messages) {
            messages += 1;
            for (const c of parseChanges(m.value)) {
              const set = seen.get(c.sku) ?? new Set<string>();
              c.locationIds.forEach((l) => set.add(l));
              seen.set(c.sku, set);
            }
          }
        },
      });
      try {
        const at = '2026-11-23T12:00:00Z';
        const events = Array.from({ length: 40 }, (_, i) => ({
          eventId: `atp-${i}`, type: 'stock.received', sku: `ATP-${i % 20}`, locationId: LOCATIONS[i % 2]!, occurredAt: at, source: 't', quantity: 1,
        }));
        expect((await api(s, 'POST', '/v1/events?wait=true', { events })).status).toBe(202);
        const want = new Map(Array.from({ length: 20 }, (_, k) => [`ATP-${k}`, new Set(events.filter((e) => e.sku === `ATP-${k}`).map((e) => e.locationId))]));
        await waitUntil(async () => [...want].every(([sku, locs]) => [...locs].every((l) => seen.get(sku)?.has(l))), 30_000, 'atp announcements');
        // Twenty SKUs changed by one request arrive in far fewer messages than one per SKU.
        expect(messages).toBeLessThan(20);
        for (const [sku, locs] of want) expect([...seen.get(sku)!].sort()).toEqual([...locs].sort());
      } finally {
        await sub.stop();
      }
    });

    it('quarantines poison messages with a reason and keeps the partition flowing', async () => {
      const topic = d.config().kafkaEventsTopic;
      const good = randomHistory({ n: 20, skus: ['PSN-1'], locations: LOCATIONS, seed: 5, prefix: 'psn' });
      await s.log.append(topic, [
        { key: 'PSN-1', value: 'this is not json {' },
        ...good.slice(0, 10).map((e) => ({ key: e.sku, value: JSON.stringify(e) })),
        { key: 'PSN-1', value: JSON.stringify({ ...good[0], eventId: 'psn-bad-qty', quantity: -4, type: 'stock.received' }) },
        { key: 'PSN-1', value: JSON.stringify({ ...good[0], eventId: 'psn-bad-loc', locationId: 'nowhere' }) },
        // Valid JSON that PostgreSQL cannot store as text: NUL, and a lone surrogate.
        { key: 'PSN-1', value: JSON.stringify({ ...good[0], eventId: 'psn-nul\u0000' }) },
        { key: 'PSN-1', value: JSON.stringify({ ...good[0], eventId: 'psn-surrogate', source: 'pos\ud800' }) },
        ...good.slice(10).map((e) => ({ key: e.sku, value: JSON.stringify(e) })),
      ]);
      await waitUntil(async () => (await processedCount(s.db, good.map((e) => e.eventId))) === good.length, 30_000, 'good events applied');
      await expectLedgerEquals(s.db, good);
      const dead = await s.db.query<{ reason: string; payload: string }>("SELECT reason, payload FROM dead_letters WHERE key = 'PSN-1' ORDER BY id");
      expect(dead.map((x) => x.reason)).toEqual([
        // Within one batch, messages that fail to decode are quarantined before unknown locations.
        'not JSON', expect.stringMatching(/^invalid event: quantity/),
        'invalid event: eventId: must be well-formed Unicode without NUL characters',
        'invalid event: source: must be well-formed Unicode without NUL characters',
        'unknown locationId: nowhere',
      ]);
      expect(dead[0]!.payload).toBe('this is not json {');
      // Operators see the same through the API (admin scope), newest first.
      const listed = await api(s, 'GET', '/v1/dead-letters?key=PSN-1');
      expect(listed.status).toBe(200);
      expect((listed.json as { items: Array<{ reason: string }> }).items.map((x) => x.reason).reverse()).toEqual(dead.map((x) => x.reason));
      expect((await api(s, 'GET', '/v1/dead-letters', undefined, { authorization: 'Bearer reader-secret' })).status).toBe(403);
    });

    it('quarantines a message the database itself refuses, with its reason, and applies the rest', async () => {
      // Validation should stop such data; this is the net under it. A trigger stands in for
      // whatever the database might refuse, for one marked event id.
      const topic = d.config().kafkaEventsTopic;
      await s.db.query(`CREATE OR REPLACE FUNCTION refuse_marked_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.event_id = 'ref-refuse-me' THEN RAISE EXCEPTION 'test refuses %', NEW.event_id USING ERRCODE = '22023'; END IF;
          RETURN NEW;
        END $$`);
      await s.db.query('CREATE TRIGGER refuse_marked BEFORE INSERT ON ledger_entries FOR EACH ROW EXECUTE FUNCTION refuse_marked_event()');
      try {
        const good = randomHistory({ n: 30, skus: ['REF-1', 'REF-2'], locations: LOCATIONS, seed: 21, prefix: 'ref' });
        const refused = { ...good[0]!, eventId: 'ref-refuse-me', sku: 'REF-1' };
        await s.log.append(topic, [
          ...good.slice(0, 15).map((e) => ({ key: e.sku, value: JSON.stringify(e) })),
          { key: 'REF-1', value: JSON.stringify(refused) },
          ...good.slice(15).map((e) => ({ key: e.sku, value: JSON.stringify(e) })),
        ]);
        // A raw NUL byte is not JSON; on Kafka it must reach dead_letters (PostgreSQL text cannot
        // hold NUL), while the embedded log, itself a PostgreSQL table, refuses it at append.
        const raw = { key: 'REF-1', value: 'raw\u0000bytes' };
        if (s.log.kind === 'kafka') await s.log.append(topic, [raw]);
        else await expect(s.log.append(topic, [raw])).rejects.toThrow();
        await waitUntil(async () => (await processedCount(s.db, good.map((e) => e.eventId))) === good.length, 30_000, 'good events applied');
        await expectLedgerEquals(s.db, good);
        const want = ['refused by the database: test refuses ref-refuse-me', ...(s.log.kind === 'kafka' ? ['not JSON'] : [])];
        await waitUntil(async () => (await s.db.query("SELECT 1 FROM dead_letters WHERE key = 'REF-1'")).length === want.length, 30_000, 'dead letters');
        const dead = await s.db.query<{ reason: string; payload: string }>("SELECT reason, payload FROM dead_letters WHERE key = 'REF-1' ORDER BY id");
        expect(dead.map((x) => x.reason)).toEqual(want);
        expect(JSON.parse(dead[0]!.payload)).toEqual(refused);
        if (s.log.kind === 'kafka') expect(dead[1]!.payload).toBe('raw\uFFFDbytes');
        expect(await processedCount(s.db, ['ref-refuse-me'])).toBe(0);
      } finally {
        await s.db.query('DROP TRIGGER refuse_marked ON ledger_entries');
      }
    });

    it('rejects bad input with 4xx problems naming the field and keeps valid events', async () => {
      const ok = { eventId: 'bad-ok-1', type: 'stock.received', sku: 'BAD-1', locationId: 'ams-01', occurredAt: '2026-11-02T00:00:00Z', source: 't', quantity: 3 };
      const r = await api(s, 'POST', '/v1/events?wait=true', {
        events: [
          ok,
          { ...ok, eventId: 'bad-2', quantity: -1 },
          { ...ok, eventId: 'bad-3', quantity: 1.5 },
          { ...ok, eventId: 'bad-4', quantity: '3' },
          { ...ok, eventId: 'bad-5', locationId: 'nowhere' },
          { ...ok, eventId: 'x'.repeat(129) },
          { ...ok, eventId: 'bad-7', sku: 'has space' },
          { ...ok, eventId: 'bad-8', occurredAt: '2026-11-02T00:00:00' },
          { ...ok, eventId: 'bad-9', type: 'stock.teleported' },
          'not an object',
          { ...ok, eventId: 'bad-11\u0000' },
          { ...ok, eventId: 'bad-12', reason: 'r', type: 'stock.adjusted', delta: 1, source: 'pos\udc00' },
        ],
      });
      expect(r.status).toBe(202);
      expect(r.json.accepted).toBe(1);
      expect(r.json.rejected.map((x: any) => x.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(r.json.rejected[9].error).toMatch(/eventId: must be well-formed Unicode/);
      expect(r.json.rejected[10].error).toMatch(/source: must be well-formed Unicode/);
      expect(r.json.rejected[0].error).toMatch(/quantity/);
      expect(r.json.rejected[3].error).toMatch(/locationId/);
      expect(r.json.rejected[4].error).toMatch(/eventId/);
      expect((await api(s, 'GET', '/v1/availability/BAD-1')).json.network.onHand).toBe(3);
      // The earliest instant the contract's timestamps allow (year 0000, which PostgreSQL calls
      // 1 BC) is stored and applied like any other.
      const ancient = await api(s, 'POST', '/v1/events?wait=true', { events: [{ ...ok, eventId: 'bad-ancient', occurredAt: '0000-01-01T00:00:00+01:00' }] });
      expect(ancient.json.accepted).toBe(1);
      expect((await api(s, 'GET', '/v1/availability/BAD-1')).json.network.onHand).toBe(6);

      const malformed = await api(s, 'POST', '/v1/events', '{"events": [');
      expect(malformed.status).toBe(400);
      expect(malformed.type).toContain('application/problem+json');
      const tooMany = await api(s, 'POST', '/v1/events', { events: Array.from({ length: 1001 }, (_, i) => ({ ...ok, eventId: `m${i}` })) });
      expect(tooMany.status).toBe(400);
      expect(tooMany.json.detail).toMatch(/events/);
      const huge = await api(s, 'POST', '/v1/events', { events: [{ ...ok, source: 'x'.repeat(1024 * 1024) }] });
      expect(huge.status).toBe(413);
      expect(huge.json).toMatchObject({ status: 413, title: expect.any(String) });
      expect((await api(s, 'GET', '/v1/availability/bad%20sku')).status).toBe(400);
      expect((await api(s, 'PUT', '/v1/locations/x', { name: 'x', type: 'shed', lat: 100, lon: 0 })).json.errors.map((e: any) => e.field)).toEqual(expect.arrayContaining(['body.type', 'body.lat']));
      // A value PostgreSQL cannot store (NUL) is the request's fault: a 400 that says so, not a 500.
      const nul = await api(s, 'PUT', '/v1/locations/nul-1', { name: 'a\u0000b', type: 'store', lat: 1, lon: 1 });
      expect(nul.status).toBe(400);
      expect(nul.json.detail).toMatch(/cannot be stored/);
      expect((await api(s, 'GET', '/v1/availability/A-1', undefined, {})).status).toBe(401);
      expect((await api(s, 'GET', '/v1/availability/A-1', undefined, { authorization: 'Bearer nope' })).status).toBe(401);
      expect((await api(s, 'POST', '/v1/events', { events: [] }, { authorization: 'Bearer reader-secret' })).status).toBe(403);
      // The router decodes the path before it matches a route: an encoded /v1 is still /v1.
      for (const path of ['/%761/availability/A-1', '/v%31/availability/A-1', '/%76%31/locations', '//v1/locations', '/v1/no-such-route']) {
        expect((await api(s, 'GET', path, undefined, {})).status, path).toBe(401);
      }
      expect((await api(s, 'PUT', '/%761/locations/sneaky', { name: 'x', type: 'store', lat: 1, lon: 1 }, {})).status).toBe(401);
      expect((await api(s, 'POST', '/v%31/events', { events: [] }, { authorization: 'Bearer reader-secret' })).status).toBe(403);
      // Still alive and serving.
      expect((await api(s, 'GET', '/healthz', undefined, {})).status).toBe(200);
    });

    it('serves readiness, metrics and the OpenAPI document without a token', async () => {
      expect((await api(s, 'GET', '/readyz', undefined, {})).status).toBe(200);
      const m = await fetch(`${s.url}/metrics`);
      const text = await m.text();
      expect(text).toMatch(/omnistock_events_applied_total \d+/);
      expect(text).toContain('omnistock_reconciler_batch_seconds_bucket');
      expect(text).toContain('omnistock_consumer_lag_messages');
      const docs = await api(s, 'GET', '/docs', undefined, {});
      expect(docs.json.openapi).toMatch(/^3\./);
      expect(Object.keys(docs.json.paths)).toEqual(expect.arrayContaining(['/v1/events', '/v1/availability/{sku}', '/v1/availability/query', '/v1/ledger/{sku}', '/v1/locations/{id}', '/v1/locations']));
      // The operator endpoints are in it too, marked as needing no token.
      for (const p of ['/healthz', '/readyz', '/metrics', '/docs']) expect(docs.json.paths[p]?.get?.security, p).toEqual([]);
      // Responses are documented from the schemas that serialise them.
      expect(docs.json.paths['/v1/ledger/{sku}'].get.responses['200'].content['application/json'].schema.properties.items.items.properties).toHaveProperty('occurredAt');
    });
  });

  describe('as separate processes', () => {
    let dep: Deployment;
    let db: Database;
    beforeAll(async () => {
      dep = await makeDeployment();
      db = await openDatabase({ databaseUrl: dep.env.DATABASE_URL, dataDir: dep.env.DATA_DIR });
      for (const [i, id] of LOCATIONS.entries()) {
        await db.query("INSERT INTO locations (id, name, type, lat, lon) VALUES ($1, $1, 'store', $2, 5)", [id, 50 + i]);
      }
      if (!dep.multiProcess) await db.close();
    });
    afterAll(async () => {
      await killAllServices();
      if (dep.multiProcess) await db.close();
      await dep.cleanup();
    });

    if (shape.kafka) {
      it('splits the work between two reconciler processes in one consumer group', async () => {
        const env = { ...dep.env, LOG_LEVEL: 'debug' };
        const a = spawnService(['serve', '--role', 'reconciler'], env);
        await a.waitFor(/partitions assigned/, 60_000);
        const b = spawnService(['serve', '--role', 'reconciler'], env);
        await b.waitFor(/partitions assigned/, 60_000);
        // The first member is reassigned when the second joins.
        await waitUntil(async () => (a.output().match(/partitions assigned/g) ?? []).length >= 2, 60_000, 'rebalance');
        const events = randomHistory({ n: 4000, skus: Array.from({ length: 40 }, (_, i) => `G-${i}`), locations: LOCATIONS, seed: 3, prefix: 'group' });
        const log = createEventLog(dep.config(), db, createLogger('warn'));
        await log.append(dep.config().kafkaEventsTopic, events.map((e) => ({ key: e.sku, value: JSON.stringify(e) })));
        await waitUntil(async () => (await processedCount(db, events.map((e) => e.eventId))) === events.length, 60_000, 'all applied');
        await log.close();
        await expectLedgerEquals(db, events);
        // Both members applied batches of their own partitions.
        expect(a.output()).toMatch(/batch applied/);
        expect(b.output()).toMatch(/batch applied/);
        await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')]);
      }, 180_000);
    } else if (shape.multiProcess) {
      it('runs two reconciler processes on the embedded log without applying anything twice', async () => {
        // One partition, no group assignment: both read the same messages, and the offsets locked
        // and stored with each batch decide which of them applies a message (the other finds it done).
        const env = { ...dep.env, LOG_LEVEL: 'debug' };
        const a = spawnService(['serve', '--role', 'reconciler'], env);
        const b = spawnService(['serve', '--role', 'reconciler'], env);
        await Promise.all([a.waitFor(/omnistock started/, 60_000), b.waitFor(/omnistock started/, 60_000)]);
        const events = randomHistory({ n: 4000, skus: Array.from({ length: 40 }, (_, i) => `E-${i}`), locations: LOCATIONS, seed: 4, prefix: 'twin' });
        const log = createEventLog(dep.config(), db, createLogger('warn'));
        for (let i = 0; i < events.length; i += 250) {
          await log.append(dep.config().kafkaEventsTopic, events.slice(i, i + 250).map((e) => ({ key: e.sku, value: JSON.stringify(e) })));
        }
        await waitUntil(async () => (await processedCount(db, events.map((e) => e.eventId))) === events.length, 60_000, 'all applied');
        await log.close();
        await expectLedgerEquals(db, events);
        await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')]);
      }, 180_000);
    }

    if (shape.multiProcess) {
      it('runs a reconciler alone that answers /healthz, /readyz and /metrics, and no API', async () => {
        const r = spawnService(['serve', '--role', 'reconciler'], { ...dep.env, LOG_LEVEL: 'info' });
        const url = /http:\/\/127\.0\.0\.1:\d+/.exec(await r.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/, 60_000))![0];
        expect((await fetch(`${url}/healthz`)).status).toBe(200);
        expect((await fetch(`${url}/readyz`)).status).toBe(200);
        // No API here: a /v1 path still needs a token (none is valid), and has no route behind it.
        expect((await fetch(`${url}/v1/availability/A-1`, { headers: OPS })).status).toBe(401);
        const events = randomHistory({ n: 200, skus: ['R-1', 'R-2'], locations: LOCATIONS, seed: 8, prefix: 'ops-only' });
        const log = createEventLog(dep.config(), db, createLogger('warn'));
        await log.append(dep.config().kafkaEventsTopic, events.map((e) => ({ key: e.sku, value: JSON.stringify(e) })));
        await waitUntil(async () => (await processedCount(db, events.map((e) => e.eventId))) === events.length, 60_000, 'all applied');
        await log.close();
        // This process's own figures: what it applied, and its batches' latency.
        const metrics = await (await fetch(`${url}/metrics`)).text();
        expect(Number(/^omnistock_events_applied_total (\d+)/m.exec(metrics)?.[1])).toBe(events.length);
        expect(metrics).toMatch(/^omnistock_reconciler_batch_seconds_count [1-9]/m);
        // Its group's lag, read at the scrape: everything applied.
        const lag = metrics.split('\n').filter((l) => l.startsWith(`omnistock_consumer_lag_messages{topic="${dep.config().kafkaEventsTopic}"`));
        expect(lag.length).toBeGreaterThan(0);
        expect(lag.every((l) => l.endsWith(' 0'))).toBe(true);
        await r.kill('SIGTERM');
        // A port already taken: it says so and exits, with nothing left running.
        const taken = net.createServer();
        await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
        const port = (taken.address() as net.AddressInfo).port;
        const clash = spawnService(['serve', '--role', 'reconciler'], { ...dep.env, PORT: String(port) });
        const code = await new Promise<number | null>((resolve) => clash.child.on('exit', resolve));
        taken.close();
        expect(code).not.toBe(0);
        expect(clash.output()).toContain(`cannot listen on 127.0.0.1:${port} for the operator endpoints`);
      }, 120_000);
    }

    it('survives SIGKILL mid-stream: after restart the ledger equals the reference fold', async () => {
      const events = randomHistory({ n: dep.multiProcess ? 3000 : 6000, skus: ['K-1', 'K-2', 'K-3', 'K-4', 'K-5'], locations: LOCATIONS, seed: 99, prefix: 'kill' });
      if (dep.multiProcess) {
        const log = createEventLog(dep.config(), db, createLogger('warn'));
        const env = { ...dep.env, LOG_LEVEL: 'info' };
        let reconciler = spawnService(['serve', '--role', 'reconciler'], env);
        await reconciler.waitFor(/omnistock started/);
        const topic = dep.config().kafkaEventsTopic;
        for (let i = 0; i < events.length; i += 100) {
          await log.append(topic, events.slice(i, i + 100).map((e) => ({ key: e.sku, value: JSON.stringify(e) })));
          if (i === 1500) {
            await waitUntil(async () => (await processedCount(db, events.map((e) => e.eventId))) > 0, 30_000, 'some progress');
            await reconciler.kill('SIGKILL');
            reconciler = spawnService(['serve', '--role', 'reconciler'], env);
          }
        }
        await waitUntil(async () => (await processedCount(db, events.map((e) => e.eventId))) === events.length, 90_000, 'all applied after restart');
        await reconciler.kill('SIGTERM');
        await log.close();
        await expectLedgerEquals(db, events);
      } else {
        // Embedded: the whole service is one process; the client retries what was in flight.
        const env = { ...dep.env, PORT: '0', LOG_LEVEL: 'info' };
        let svc = spawnService(['serve'], env);
        const base = async () => /http:\/\/127\.0\.0\.1:\d+/.exec(await svc.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/, 60_000))![0];
        let url = await base();
        let killed = false;
        const post = async (chunk: StockEvent[]) => {
          for (;;) {
            try {
              const r = await fetch(`${url}/v1/events`, { method: 'POST', headers: { ...OPS, 'content-type': 'application/json' }, body: JSON.stringify({ events: chunk }) });
              if (r.status === 202) return;
            } catch { /* connection refused while restarting: retry */ }
            await new Promise((r) => setTimeout(r, 200));
          }
        };
        // 100 events a request; at 1,500 a burst of 4,000 in four requests at once (a third of a
        // second's work for the embedded reconciler), and the kill right after their 202s, while
        // the burst is being applied.
        for (let i = 0, size = 100; i < events.length; i += size, size = i === 1500 ? 4000 : 100) {
          const chunk = events.slice(i, i + size);
          await Promise.all(Array.from({ length: Math.ceil(chunk.length / 1000) }, (_, k) => post(chunk.slice(k * 1000, (k + 1) * 1000))));
          if (i === 1500 && !killed) {
            killed = true;
            await svc.kill('SIGKILL');
            svc = spawnService(['serve'], env);
            url = await base();
            // The kill was mid-stream: the new process applies what the old one had accepted but not applied.
            const applied = async () => Number(/^omnistock_events_applied_total (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
            await waitUntil(async () => (await applied()) > 0, 30_000, 'the restarted service applying the backlog');
          }
        }
        const marker = { eventId: 'kill-marker', type: 'stock.received', sku: 'K-1', locationId: 'ams-01', occurredAt: '2026-11-03T00:00:00Z', source: 't', quantity: 1 };
        const done = await fetch(`${url}/v1/events?wait=true`, { method: 'POST', headers: { ...OPS, 'content-type': 'application/json' }, body: JSON.stringify({ events: [marker] }) });
        expect(done.status).toBe(202);
        await svc.kill('SIGTERM');
        db = await openDatabase({ dataDir: dep.env.DATA_DIR });
        await waitUntil(async () => (await processedCount(db, events.map((e) => e.eventId))) === events.length, 5_000, 'all applied');
        await expectLedgerEquals(db, [...events, marker as StockEvent]);
        await db.close();
      }
    }, 180_000);

    it('rebuild --verify finds no difference, and finds and repairs tampered positions', async () => {
      const run = async (args: string[]) => {
        const p = spawnService(args, dep.env);
        const code = await new Promise<number | null>((resolve) => p.child.on('exit', resolve));
        return { code, out: p.output() };
      };
      const clean = await run(['rebuild', '--verify']);
      expect(clean.out).toMatch(/\d+ positions checked, 0 differences/);
      // Progress as it goes (plain lines when not on a terminal), ending at 100%.
      expect(clean.out).toMatch(/verifying positions: (\d+)\/\1 \(100%\)/);
      expect(clean.code).toBe(0);
      const tamper = await openDatabase({ databaseUrl: dep.env.DATABASE_URL, dataDir: dep.env.DATA_DIR });
      await tamper.query("UPDATE positions SET on_hand = on_hand + 7 WHERE sku = 'K-1' AND location_id = 'ams-01'");
      // A row lost altogether (its ledger entries remain), and a count in force that is not the ledger's.
      const [lost] = await tamper.query<{ location_id: string }>("SELECT location_id FROM positions WHERE sku = 'K-2' ORDER BY location_id LIMIT 1");
      await tamper.query("DELETE FROM positions WHERE sku = 'K-2' AND location_id = $1", [lost!.location_id]);
      const [counted] = await tamper.query<{ sku: string; location_id: string }>(
        "SELECT sku, location_id FROM positions WHERE sku IN ('K-3', 'K-4', 'K-5') AND count_event_id IS NOT NULL ORDER BY sku, location_id LIMIT 1");
      await tamper.query("UPDATE positions SET count_event_id = 'bogus' WHERE sku = $1 AND location_id = $2", [counted!.sku, counted!.location_id]);
      await tamper.close();
      const dirty = await run(['rebuild', '--verify']);
      expect(dirty.code).toBe(1);
      expect(dirty.out).toMatch(/K-1\tams-01\tonHand\tstored=-?\d+\tledger=-?\d+/);
      expect(dirty.out).toContain(`K-2\t${lost!.location_id}\trow\tstored=absent\tledger=present`);
      expect(dirty.out).toMatch(new RegExp(`${counted!.sku}\t${counted!.location_id}\tcountEntryId\tstored=bogus\tledger=\\S+`));
      expect(dirty.out).toMatch(/ 3 differences/);
      const fixed = await run(['rebuild']);
      expect(fixed.out).toMatch(/3 differences, 3 positions repaired/);
      expect((await run(['rebuild', '--verify'])).code).toBe(0);
    }, 120_000);
  });
}
