// Square changes → stock events, on changes the stand-in really produced, and checked against
// §3's schema: every event the mapper makes is one POST /v1/events would accept.
import { afterEach, describe, expect, it } from 'vitest';
import { parseStockEvent } from '../../src/core/stock-event.js';
import { SquareStandIn } from '../../test/standins/square/square-standin.js';
import { eventsFromChanges, OUR_REFERENCE_PREFIX, type SquareChange } from './square-changes.js';

let square: SquareStandIn | null = null;
afterEach(async () => {
  await square?.stop();
  square = null;
});

const ctx = { channelId: 'sq-1', locationMap: { 'LOC-AMS': 'ams-01' }, skuOf: (id: string) => ({ 'VAR-A': 'A-1', 'VAR-C': 'CHEESE-KG' } as Record<string, string>)[id] };

async function changesFromStandIn(): Promise<SquareChange[]> {
  const s = square!;
  const res = await fetch(`${s.url}/v2/inventory/changes/batch-retrieve`, { method: 'POST', headers: { authorization: `Bearer ${s.accessToken}`, 'content-type': 'application/json' }, body: '{}' });
  return ((await res.json()) as { changes: SquareChange[] }).changes;
}

describe('Square changes as stock events', () => {
  it('maps counts, sales, waste, holds and receipts with ids from Square\'s change ids', async () => {
    square = await new SquareStandIn().start();
    square.addLocation('LOC-AMS');
    square.addLocation('LOC-ELSEWHERE');
    square.addVariation('VAR-A', 'A-1');
    square.addVariation('VAR-C', 'CHEESE-KG', { measured: true });
    square.addVariation('VAR-X', 'NOT-OURS');
    square.count('VAR-A', 'LOC-AMS', '10', '2026-12-01T10:00:00Z');
    square.sell('VAR-A', 'LOC-AMS', '2', '2026-12-01T09:30:00Z'); // an offline till, before the count
    square.adjust('VAR-A', 'LOC-AMS', 'IN_STOCK', 'WASTE', '1', '2026-12-01T10:05:00Z');
    square.adjust('VAR-A', 'LOC-AMS', 'NONE', 'IN_STOCK', '5', '2026-12-01T10:06:00Z');
    square.adjust('VAR-A', 'LOC-AMS', 'IN_STOCK', 'SOLD', '1', '2026-12-01T10:07:00Z');
    square.adjust('VAR-A', 'LOC-AMS', 'SOLD', 'WASTE', '1', '2026-12-01T10:08:00Z');
    square.count('VAR-C', 'LOC-AMS', '2.5', '2026-12-01T10:00:00Z');
    square.count('VAR-X', 'LOC-AMS', '1', '2026-12-01T10:00:00Z');
    square.count('VAR-A', 'LOC-ELSEWHERE', '1', '2026-12-01T10:00:00Z');
    const changes = await changesFromStandIn();
    const mapped = eventsFromChanges(changes, ctx);
    expect(mapped.events.map((e) => [e.type, 'quantity' in e ? e.quantity : e.delta, e.occurredAt])).toEqual([
      ['stock.counted', 10, '2026-12-01T10:00:00Z'],
      ['stock.sold', 2, '2026-12-01T09:30:00Z'],
      ['stock.adjusted', -1, '2026-12-01T10:05:00Z'],
      ['stock.received', 5, '2026-12-01T10:06:00Z'],
      ['stock.sold', 1, '2026-12-01T10:07:00Z'],
    ]);
    for (const e of mapped.events) expect(parseStockEvent(e)).toEqual({ ok: true, event: e });
    expect(new Set(mapped.events.map((e) => e.eventId)).size).toBe(5);
    expect(mapped.events[0]!.eventId).toBe(`square:sq-1:${(changes[0]!.physical_count as { id: string }).id}`);
    expect(mapped.quarantined.map((q) => q.reason)).toEqual([
      'quantity: "2.5" is not a whole number of units',
      'catalog_object_id VAR-X: no item variation with a SKU of ours',
      'location_id LOC-ELSEWHERE: not in locationMap',
    ]);
    // reading the same page again gives the same ids: the ingest path sees duplicates
    expect(eventsFromChanges(changes, ctx).events.map((e) => e.eventId)).toEqual(mapped.events.map((e) => e.eventId));
  });

  it('skips the echo of our own pushes and maps holds on returns', () => {
    const part = (id: string, extra: object) => ({ id, catalog_object_id: 'VAR-A', location_id: 'LOC-AMS', quantity: '3', occurred_at: '2026-12-01T10:00:00Z', ...extra });
    const mapped = eventsFromChanges([
      { type: 'PHYSICAL_COUNT', physical_count: part('c1', { state: 'IN_STOCK', reference_id: `${OUR_REFERENCE_PREFIX}abc` }) },
      { type: 'ADJUSTMENT', adjustment: part('a1', { from_state: 'SOLD', to_state: 'RETURNED_BY_CUSTOMER' }) },
      { type: 'ADJUSTMENT', adjustment: part('a2', { from_state: 'RETURNED_BY_CUSTOMER', to_state: 'WASTE' }) },
    ], ctx);
    expect(mapped.echoes).toBe(1);
    expect(mapped.events.map((e) => [e.eventId, e.type])).toEqual([
      ['square:sq-1:a1', 'stock.returned'], ['square:sq-1:a2:release', 'stock.unavailable'], ['square:sq-1:a2', 'stock.adjusted'],
    ]);
    expect(mapped.events[0]).toMatchObject({ sellable: false });
  });
});
