// The Square Inventory stand-in itself: counts and adjustments applied in occurred_at order,
// decimal quantities per state, cursor paging, idempotency keys, the 100-change limit, signed
// webhooks with duplicate and reorder controls, and refusal of requests off api.json.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { SquareSpec } from './standins/square/openapi.js';
import { SquareStandIn } from './standins/square/square-standin.js';

let square: SquareStandIn;
let receiver: http.Server | null = null;
const received: Array<{ body: string; signature: string }> = [];

afterEach(async () => {
  await square?.stop();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  receiver = null;
  received.length = 0;
});

async function start(webhooks = false): Promise<SquareStandIn> {
  let notificationUrl: string | undefined;
  if (webhooks) {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: String(req.headers['x-square-hmacsha256-signature']) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver!.listen(0, '127.0.0.1', r));
    notificationUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/webhooks/square/sq-1`;
  }
  square = await new SquareStandIn({ notificationUrl }).start();
  square.addLocation('LOC-AMS');
  square.addLocation('LOC-UTR');
  square.addVariation('VAR-A', 'A-1');
  square.addVariation('VAR-B', 'B-7');
  square.addVariation('VAR-C', 'CHEESE-KG', { measured: true });
  return square;
}

async function api(path: string, body?: unknown, method = 'POST', token = square.accessToken) {
  const res = await fetch(`${square.url}${path}`, {
    method, headers: { authorization: `Bearer ${token}`, 'square-version': '2025-08-20', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const count = (id: string, loc: string, quantity: string, occurredAt: string) => ({
  type: 'PHYSICAL_COUNT', physical_count: { catalog_object_id: id, location_id: loc, state: 'IN_STOCK', quantity, occurred_at: occurredAt, reference_id: `ref-${id}-${occurredAt}` },
});
const adjustment = (id: string, loc: string, from: string, to: string, quantity: string, occurredAt: string) => ({
  type: 'ADJUSTMENT', adjustment: { catalog_object_id: id, location_id: loc, from_state: from, to_state: to, quantity, occurred_at: occurredAt },
});

describe('Square Inventory stand-in', () => {
  it('checks answers against api.json (a wrong one is caught, the repaired nullable refs accept null)', () => {
    const spec = new SquareSpec(['BatchRetrieveInventoryCounts']);
    const op = spec.match('POST', '/v2/inventory/counts/batch-retrieve')!;
    expect(spec.validateResponse(op, 200, { counts: [{ catalog_object_id: 'V', quantity: 5 }] })).toEqual([expect.stringMatching(/counts\/0\/quantity: must be string/)]);
    expect(spec.validateResponse(op, 200, { counts: [{ catalog_object_id: 'V', state: null, quantity: '5' }], cursor: 'c' })).toEqual([]);
  });

  it('needs the access token', async () => {
    await start();
    const r = await api('/v2/inventory/counts/batch-retrieve', {}, 'POST', 'wrong');
    expect(r.status).toBe(401);
    expect(r.body.errors).toEqual([{ category: 'AUTHENTICATION_ERROR', code: 'UNAUTHORIZED', detail: expect.any(String) }]);
  });

  it('applies counts and adjustments in occurred_at order, whatever order they arrive in', async () => {
    await start();
    const r = await api('/v2/inventory/changes/batch-create', { idempotency_key: 'k1', changes: [count('VAR-A', 'LOC-AMS', '10', '2026-12-01T10:00:00Z'), adjustment('VAR-A', 'LOC-AMS', 'IN_STOCK', 'SOLD', '1', '2026-12-01T10:05:00Z')] });
    expect(r.status).toBe(200);
    expect(r.body.counts).toEqual([expect.objectContaining({ catalog_object_id: 'VAR-A', location_id: 'LOC-AMS', state: 'IN_STOCK', quantity: '9', catalog_object_type: 'ITEM_VARIATION' })]);
    expect(r.body.changes).toHaveLength(2);
    // late arrivals: an older count and a sale before the count change nothing now
    await api('/v2/inventory/changes/batch-create', { idempotency_key: 'k2', changes: [count('VAR-A', 'LOC-AMS', '50', '2026-12-01T09:00:00Z'), adjustment('VAR-A', 'LOC-AMS', 'IN_STOCK', 'SOLD', '3', '2026-12-01T09:30:00Z')] });
    expect(square.quantity('VAR-A', 'LOC-AMS')).toBe('9');
    // a sale after the count that arrives late still applies
    square.sell('VAR-A', 'LOC-AMS', '2', '2026-12-01T10:01:00Z');
    expect(square.quantity('VAR-A', 'LOC-AMS')).toBe('7');
    square.adjust('VAR-A', 'LOC-AMS', 'IN_STOCK', 'WASTE', '1', '2026-12-01T10:10:00Z');
    const counts = (await api('/v2/inventory/counts/batch-retrieve', { catalog_object_ids: ['VAR-A'] })).body.counts;
    expect(counts.map((c: any) => [c.state, c.quantity])).toEqual([['IN_STOCK', '6'], ['WASTE', '1']]);
    expect(square.violations).toEqual([]);
  });

  it('keeps decimal strings exact, for measured items too', async () => {
    await start();
    await api('/v2/inventory/changes/batch-create', { idempotency_key: 'd1', changes: [count('VAR-C', 'LOC-AMS', '2.5', '2026-12-01T10:00:00Z'), adjustment('VAR-C', 'LOC-AMS', 'IN_STOCK', 'SOLD', '0.1', '2026-12-01T10:01:00Z'), adjustment('VAR-C', 'LOC-AMS', 'IN_STOCK', 'SOLD', '0.2', '2026-12-01T10:02:00Z')] });
    expect(square.quantity('VAR-C', 'LOC-AMS')).toBe('2.2');
    const bad = await api('/v2/inventory/changes/batch-create', { idempotency_key: 'd2', changes: [count('VAR-C', 'LOC-AMS', '1,5', '2026-12-01T11:00:00Z')] });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ code: 'INVALID_VALUE', field: 'changes[0].quantity' })]);
  });

  it('honours idempotency keys and refuses a reused key with another body, and more than 100 changes', async () => {
    await start();
    const body = { idempotency_key: 'same', changes: [adjustment('VAR-B', 'LOC-UTR', 'NONE', 'IN_STOCK', '5', '2026-12-01T10:00:00Z')] };
    const first = await api('/v2/inventory/changes/batch-create', body);
    const again = await api('/v2/inventory/changes/batch-create', body);
    expect(again.body).toEqual(first.body);
    expect(square.quantity('VAR-B', 'LOC-UTR')).toBe('5');
    const reused = await api('/v2/inventory/changes/batch-create', { ...body, changes: [adjustment('VAR-B', 'LOC-UTR', 'NONE', 'IN_STOCK', '6', '2026-12-01T10:00:00Z')] });
    expect(reused.status).toBe(400);
    expect(reused.body.errors[0].code).toBe('IDEMPOTENCY_KEY_REUSED');
    const many = Array.from({ length: 101 }, (_, i) => count('VAR-B', 'LOC-UTR', String(i), `2026-12-01T11:${String(i % 60).padStart(2, '0')}:00Z`));
    const tooMany = await api('/v2/inventory/changes/batch-create', { idempotency_key: 'many', changes: many });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors.map((e: any) => e.code)).toContain('ARRAY_LENGTH_TOO_LONG');
    expect(square.quantity('VAR-B', 'LOC-UTR')).toBe('5');
    const unknown = await api('/v2/inventory/changes/batch-create', { idempotency_key: 'u', changes: [count('VAR-ZZ', 'LOC-UTR', '1', '2026-12-01T10:00:00Z')] });
    expect(unknown.body.errors[0]).toMatchObject({ code: 'NOT_FOUND', field: 'changes[0].catalog_object_id' });
  });

  it('pages counts with a cursor and filters by location and state', async () => {
    await start();
    for (const [id, loc] of [['VAR-A', 'LOC-AMS'], ['VAR-A', 'LOC-UTR'], ['VAR-B', 'LOC-AMS'], ['VAR-B', 'LOC-UTR'], ['VAR-C', 'LOC-AMS']] as const) square.count(id, loc, '3', '2026-12-01T10:00:00Z');
    square.adjust('VAR-B', 'LOC-UTR', 'IN_STOCK', 'WASTE', '1', '2026-12-01T10:30:00Z');
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await api('/v2/inventory/counts/batch-retrieve', { limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...r.body.counts.map((c: any) => `${c.catalog_object_id}@${c.location_id}:${c.state}=${c.quantity}`));
      cursor = r.body.cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(['VAR-A@LOC-AMS:IN_STOCK=3', 'VAR-A@LOC-UTR:IN_STOCK=3', 'VAR-B@LOC-AMS:IN_STOCK=3', 'VAR-B@LOC-UTR:IN_STOCK=2', 'VAR-B@LOC-UTR:WASTE=1', 'VAR-C@LOC-AMS:IN_STOCK=3']);
    const filtered = await api('/v2/inventory/counts/batch-retrieve', { location_ids: ['LOC-UTR'], states: ['IN_STOCK'] });
    expect(filtered.body.counts.map((c: any) => c.catalog_object_id)).toEqual(['VAR-A', 'VAR-B']);
    expect((await api('/v2/inventory/counts/batch-retrieve', { cursor: 'garbage' })).body.errors[0].code).toBe('INVALID_CURSOR');
  });

  it('lists the changes behind the counts, late offline sales with their own occurred_at, paged', async () => {
    let now = Date.parse('2026-12-01T12:00:00Z');
    square = await new SquareStandIn({ now: () => now }).start();
    square.addLocation('LOC-AMS');
    square.addVariation('VAR-A', 'A-1');
    square.count('VAR-A', 'LOC-AMS', '10', '2026-12-01T10:00:00Z');
    now += 60_000;
    const mark = new Date(now).toISOString();
    now += 1;
    square.sell('VAR-A', 'LOC-AMS', '1', '2026-12-01T11:30:00Z'); // an offline till's sale, reported now
    square.sell('VAR-A', 'LOC-AMS', '2', '2026-12-01T12:00:30Z');
    const first = await api('/v2/inventory/changes/batch-retrieve', { updated_after: mark, limit: 1 });
    expect(first.body.changes).toEqual([{ type: 'ADJUSTMENT', adjustment: expect.objectContaining({ from_state: 'IN_STOCK', to_state: 'SOLD', quantity: '1', occurred_at: '2026-12-01T11:30:00Z', created_at: '2026-12-01T12:01:00.001Z' }) }]);
    const second = await api('/v2/inventory/changes/batch-retrieve', { updated_after: mark, limit: 1, cursor: first.body.cursor });
    expect(second.body.changes[0].adjustment.quantity).toBe('2');
    expect(second.body.cursor).toBeUndefined();
    expect((await api('/v2/inventory/changes/batch-retrieve', { types: ['PHYSICAL_COUNT'] })).body.changes).toHaveLength(1);
    expect(square.quantity('VAR-A', 'LOC-AMS')).toBe('7');
    expect(square.violations).toEqual([]);
  });

  it('lists item variations with their SKUs, paged', async () => {
    await start();
    const r = await fetch(`${square.url}/v2/catalog/list?types=ITEM_VARIATION`, { headers: { authorization: `Bearer ${square.accessToken}` } });
    const body = (await r.json()) as any;
    expect(body.objects.map((o: any) => [o.id, o.item_variation_data.sku])).toEqual([['VAR-A', 'A-1'], ['VAR-B', 'B-7'], ['VAR-C', 'CHEESE-KG']]);
    expect(body.objects[2].item_variation_data.measurement_unit_id).toBe('KG');
    expect(square.violations).toEqual([]);
  });

  it('signs inventory.count.updated webhooks over notification URL + body, and can duplicate and reorder them', async () => {
    await start(true);
    square.count('VAR-A', 'LOC-AMS', '4', '2026-12-01T10:00:00Z');
    await square.settled();
    expect(received).toHaveLength(1);
    const url = square.notificationUrl!;
    const expected = createHmac('sha256', square.signatureKey).update(url + received[0]!.body).digest('base64');
    expect(received[0]!.signature).toBe(expected);
    const event = JSON.parse(received[0]!.body);
    expect(event).toMatchObject({ type: 'inventory.count.updated', merchant_id: square.merchantId, data: { type: 'inventory_counts', object: { inventory_counts: [{ catalog_object_id: 'VAR-A', location_id: 'LOC-AMS', state: 'IN_STOCK', quantity: '4' }] } } });

    square.duplicateNextWebhooks(1);
    square.sell('VAR-A', 'LOC-AMS', '1', '2026-12-01T10:05:00Z');
    await square.settled();
    expect(received).toHaveLength(3);
    expect(JSON.parse(received[1]!.body).event_id).toBe(JSON.parse(received[2]!.body).event_id);

    square.holdWebhooks();
    square.sell('VAR-A', 'LOC-AMS', '1', '2026-12-01T10:06:00Z');
    square.sell('VAR-A', 'LOC-AMS', '1', '2026-12-01T10:07:00Z');
    expect(received).toHaveLength(3);
    await square.releaseWebhooks('reverse');
    expect(received.slice(3).map((r) => JSON.parse(r.body).data.object.inventory_counts[0].quantity)).toEqual(['1', '2']);
    await square.redeliver(JSON.parse(received[0]!.body).event_id);
    expect(received[5]!.body).toBe(received[0]!.body);
    expect(square.violations).toEqual([]);
  });

  it('refuses requests off api.json, naming the field', async () => {
    await start();
    const typo = await api('/v2/inventory/counts/batch-retrieve', { catalog_object_idz: ['VAR-A'] });
    expect(typo.status).toBe(400);
    expect(typo.body.errors[0]).toMatchObject({ category: 'INVALID_REQUEST_ERROR', code: 'BAD_REQUEST', detail: expect.stringMatching(/catalog_object_idz/) });
    expect((await api('/v2/inventory/counts/batch-retrieve', { limit: '2' })).status).toBe(400);
    expect((await api('/v2/inventory/counts/batch-retrieve', { limit: 5000 })).status).toBe(400);
    const noKey = await api('/v2/inventory/changes/batch-create', { changes: [] });
    expect(noKey.status).toBe(400);
    expect(noKey.body.errors[0].detail).toMatch(/idempotency_key/);
    const badState = await api('/v2/inventory/changes/batch-create', { idempotency_key: 'x', changes: [{ type: 'PHYSICAL_COUNT', physical_count: { catalog_object_id: 'VAR-A', location_id: 'LOC-AMS', state: 'ON_SHELF', quantity: '1', occurred_at: '2026-12-01T10:00:00Z' } }] });
    expect(badState.status).toBe(400);
    expect(square.violations.length).toBe(5);
    square.rateLimitNext(1);
    expect((await api('/v2/inventory/counts/batch-retrieve', {})).body.errors[0]).toMatchObject({ category: 'RATE_LIMIT_ERROR', code: 'RATE_LIMITED' });
    expect((await api('/v2/inventory/counts/batch-retrieve', {})).status).toBe(200);
  });
});
