import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyBatch, EMPTY_POSITION, foldEntries, sumsAfter, type PositionState } from './fold.js';
import type { LedgerEntry } from './ledger-entry.js';
import { entryFromEvent } from './ledger-entry.js';
import { referenceInOrder } from '../../test/support/reference-fold.js';
import { shuffledBatches } from '../../test/support/delivery.js';

const T = (hhmm: string) => Date.parse(`2026-11-23T${hhmm}:00Z`);
const base = { sku: 'A-1', locationId: 'ams-01', countQuantity: null, onHandDelta: 0, unavailableDelta: 0, missingDelta: 0, reservedDelta: 0 };
const count = (id: string, at: number, q: number): LedgerEntry => ({ ...base, entryId: id, kind: 'stock.counted', occurredAt: at, countQuantity: q });
const move = (id: string, at: number, d: number): LedgerEntry => ({ ...base, entryId: id, kind: 'stock.adjusted', occurredAt: at, onHandDelta: d });

/** Applies entries in arrival order, batch by batch, exactly as the reconciler does. */
function applyIncrementally(batches: LedgerEntry[][]): PositionState {
  let state = EMPTY_POSITION;
  const stored: LedgerEntry[] = [];
  const seen = new Set<string>();
  for (const batch of batches) {
    const fresh: LedgerEntry[] = [];
    for (const e of batch) if (!seen.has(e.entryId)) { seen.add(e.entryId); fresh.push(e); }
    if (fresh.length === 0) continue;
    stored.push(...fresh);
    const out = applyBatch(state, fresh);
    state = out.kind === 'incremental' ? out.next : out.next(sumsAfter(stored, out.count.at));
  }
  return state;
}

describe('contract §6 examples', () => {
  it('a sale before the count that arrives after it leaves on hand at the count', () => {
    expect(applyIncrementally([[count('c', T('10:00'), 10)], [move('s', T('09:59'), -1)]]).onHand).toBe(10);
  });
  it('a sale after the count that arrived before it applies on top of it', () => {
    expect(applyIncrementally([[move('s', T('10:01'), -1)], [count('c', T('10:00'), 10)]]).onHand).toBe(9);
  });
  it('a movement at exactly the count time is inside the count', () => {
    expect(applyIncrementally([[count('c', T('10:00'), 10)], [move('s', T('10:00'), -3)]]).onHand).toBe(10);
  });
  it('an older count is kept but does not change on hand', () => {
    const s = applyIncrementally([[count('new', T('10:00'), 10)], [count('old', T('09:00'), 50)]]);
    expect(s.onHand).toBe(10);
    expect(s.countEntryId).toBe('new');
  });
  it('deltas commute and on hand may go negative', () => {
    const a = applyIncrementally([[move('a', T('09:00'), 2)], [move('b', T('08:00'), -5)]]);
    const b = applyIncrementally([[move('b', T('08:00'), -5), move('a', T('09:00'), 2)]]);
    expect(a.onHand).toBe(-3);
    expect(b).toEqual(a);
  });
  it('duplicates change nothing', () => {
    const once = applyIncrementally([[move('a', T('09:00'), 2)]]);
    expect(applyIncrementally([[move('a', T('09:00'), 2), move('a', T('09:00'), 2)], [move('a', T('09:00'), 2)]])).toEqual(once);
  });
  it('a newer count absorbs not-found units; unavailable flags survive counts', () => {
    const notFound: LedgerEntry = { ...base, entryId: 'nf', kind: 'store.not_found', occurredAt: T('09:00'), missingDelta: 2 };
    const damaged: LedgerEntry = { ...base, entryId: 'dmg', kind: 'stock.unavailable', occurredAt: T('09:00'), unavailableDelta: 1 };
    const before = applyIncrementally([[move('r', T('08:00'), 5), notFound, damaged]]);
    expect(before).toMatchObject({ onHand: 5, missing: 2, unavailable: 1 });
    expect(applyIncrementally([[move('r', T('08:00'), 5), notFound, damaged], [count('c', T('10:00'), 3)]])).toMatchObject({ onHand: 3, missing: 0, unavailable: 1 });
  });
  it('a store reject (release + not_found) folds the same incrementally and whole; only a count at or after it clears it', () => {
    const held: LedgerEntry = { ...base, entryId: 'res:r:held:1', kind: 'reservation.held', occurredAt: T('09:00'), reservedDelta: 2 };
    const released: LedgerEntry = { ...base, entryId: 'res:r:released:1', kind: 'reservation.released', occurredAt: T('09:30'), reservedDelta: -2 };
    const notFound: LedgerEntry = { ...base, entryId: 'res:r:not_found:1', kind: 'store.not_found', occurredAt: T('09:30'), missingDelta: 2 };
    const history = [move('r', T('08:00'), 3), held, released, notFound];
    const rejected = applyIncrementally([[history[0]!], [held], [released, notFound]]);
    expect(rejected).toMatchObject({ onHand: 3, reserved: 0, missing: 2 });
    expect(foldEntries(history)).toMatchObject({ onHand: 3, reserved: 0, missing: 2 });
    // a count taken before the report (arriving late) leaves the units missing
    expect(applyIncrementally([history, [count('early', T('09:00'), 3)]])).toMatchObject({ missing: 2 });
    // a count at or after it is the truth: nothing missing any more
    for (const at of [T('09:30'), T('11:00')]) {
      const counted = [...history, count(`c${at}`, at, 1)];
      expect(applyIncrementally([history, [counted[4]!]])).toMatchObject({ onHand: 1, missing: 0, reserved: 0 });
      expect(foldEntries(counted)).toMatchObject({ onHand: 1, missing: 0, reserved: 0 });
    }
  });
  it('maps the §3 event effects', () => {
    const common = { eventId: 'x', sku: 'A-1', locationId: 'l', occurredAt: '2026-11-23T10:00:00+01:00', source: 's' };
    expect(entryFromEvent({ ...common, type: 'stock.returned', quantity: 2, sellable: false })).toMatchObject({ onHandDelta: 2, unavailableDelta: 2 });
    expect(entryFromEvent({ ...common, type: 'stock.sold', quantity: 2 })).toMatchObject({ onHandDelta: -2, occurredAt: T('09:00') });
    expect(entryFromEvent({ ...common, type: 'stock.unavailable', quantity: -1, reason: 'fixed' })).toMatchObject({ unavailableDelta: -1, onHandDelta: 0 });
  });
});

// Few distinct times so ties between counts and movements are common.
const entryArb = fc.record({
  id: fc.integer({ min: 0, max: 40 }),
  at: fc.integer({ min: 0, max: 8 }),
  kind: fc.constantFrom('count', 'move', 'unavailable', 'missing', 'reserve'),
  q: fc.integer({ min: -20, max: 20 }),
});
const toEntry = (r: { id: number; at: number; kind: string; q: number }): LedgerEntry => {
  const id = `e${r.id}`;
  const at = T('09:00') + r.at * 60_000;
  switch (r.kind) {
    case 'count': return count(id, at, Math.abs(r.q));
    case 'unavailable': return { ...base, entryId: id, kind: 'stock.unavailable', occurredAt: at, unavailableDelta: r.q };
    case 'missing': return { ...base, entryId: id, kind: 'store.not_found', occurredAt: at, missingDelta: Math.abs(r.q) };
    case 'reserve': return { ...base, entryId: id, kind: 'reservation.held', occurredAt: at, reservedDelta: Math.abs(r.q) };
    default: return move(id, at, r.q || 1);
  }
};

describe('fold property: any delivery order, any duplicates, any batching', () => {
  it('matches the in-order reference fold', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(entryArb, { selector: (r) => r.id, maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 30 }),
        fc.integer(),
        (records, dupPicks, batchSizes, seed) => {
          const history = records.map(toEntry);
          // Delivery: a shuffle of the history plus redelivered copies, in batches.
          const batches: LedgerEntry[][] = shuffledBatches(history, dupPicks, seed, batchSizes);
          const incremental = applyIncrementally(batches);
          const reference = referenceInOrder(history);
          expect(pick(incremental)).toEqual(reference);
          expect(pick(foldEntries(history))).toEqual(reference);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

function pick(s: PositionState) {
  return { onHand: s.onHand, unavailable: s.unavailable, missing: s.missing, reserved: s.reserved };
}
