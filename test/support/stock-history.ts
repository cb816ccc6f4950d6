// Deterministic random stock histories for integration tests, and their expected positions
// (the pure fold, itself checked against an independent in-order reference in fold.test.ts).
import type { StockEvent } from '../../src/core/stock-event.js';
import { referenceInOrder, type Figures } from './reference-fold.js';
import { entryFromEvent } from '../../src/core/ledger-entry.js';
import { positionKey } from '../../src/core/ids.js';

export function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

export function randomHistory(opts: { n: number; skus: string[]; locations: string[]; seed: number; prefix: string }): StockEvent[] {
  const r = rng(opts.seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const t0 = Date.parse('2026-11-01T00:00:00Z');
  const events: StockEvent[] = [];
  for (let i = 0; i < opts.n; i++) {
    const common = {
      eventId: `${opts.prefix}-${i}`,
      sku: pick(opts.skus),
      locationId: pick(opts.locations),
      occurredAt: new Date(t0 + Math.floor(r() * 50) * 60_000).toISOString(),
      source: 'test',
    };
    const q = 1 + Math.floor(r() * 9);
    const k = r();
    if (k < 0.1) events.push({ ...common, type: 'stock.counted', quantity: q * 3 });
    else if (k < 0.4) events.push({ ...common, type: 'stock.received', quantity: q });
    else if (k < 0.75) events.push({ ...common, type: 'stock.sold', quantity: q });
    else if (k < 0.85) events.push({ ...common, type: 'stock.returned', quantity: q, sellable: r() < 0.7 });
    else if (k < 0.93) events.push({ ...common, type: 'stock.adjusted', delta: r() < 0.5 ? -q : q, reason: 'cycle fix' });
    else events.push({ ...common, type: 'stock.unavailable', quantity: r() < 0.3 ? -1 : q, reason: 'damaged' });
  }
  return events;
}

/**
 * What the ledger must hold after `events` (first occurrence of each id wins), per position: the
 * independent in-order reference (reference-fold.ts), not the service's own fold.
 */
export function expectedPositions(events: readonly StockEvent[]): Map<string, Figures> {
  const byKey = new Map<string, ReturnType<typeof entryFromEvent>[]>();
  const seen = new Set<string>();
  for (const e of events) {
    if (seen.has(e.eventId)) continue;
    seen.add(e.eventId);
    const k = positionKey(e.sku, e.locationId);
    byKey.set(k, [...(byKey.get(k) ?? []), entryFromEvent(e)]);
  }
  return new Map([...byKey].map(([k, entries]) => [k, referenceInOrder(entries)]));
}
