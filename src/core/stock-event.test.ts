import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatZodIssues, parseStockEvent, stockEventSchema } from './stock-event.js';
import { MAX_QUANTITY } from './ids.js';

/** What zod's runtime parser (no compiled fast path) makes of an input, in parseStockEvent's terms. */
function runtimeVerdict(input: unknown) {
  const r = stockEventSchema.safeParse(input);
  return r.success ? { ok: true as const, event: r.data } : { ok: false as const, error: formatZodIssues(r.error.issues) };
}

const TYPES = ['stock.counted', 'stock.received', 'stock.sold', 'stock.returned', 'stock.adjusted', 'stock.unavailable'];

/** Values that sit on or just past each rule's edge, and of the wrong type. */
const edgy = fc.oneof(
  fc.constantFrom(0, 1, -1, 1.5, MAX_QUANTITY, MAX_QUANTITY + 1, -MAX_QUANTITY, -MAX_QUANTITY - 1, Number.MAX_SAFE_INTEGER + 2, 1e300),
  fc.constantFrom('', 'a', 'A-1', 'bad sku', 'x'.repeat(64), 'x'.repeat(65), 'y'.repeat(129), 'ok\u0000nul', 'lone\uD800', '\uD83D\uDE00'),
  fc.constantFrom('2026-11-23T10:00:00Z', '2026-11-23T10:00:00.123+02:00', '2026-02-29T10:00:00Z', '2028-02-29T10:00:00Z',
    '2026-11-23T24:00:00Z', '2026-11-23 10:00:00Z', '2026-11-23T10:00Z', '2026-11-23T10:00:00'),
  fc.constantFrom(true, false, null, undefined, [], {}),
  fc.constantFrom(...TYPES, 'stock.unknown'),
  fc.anything(),
);

/** A valid event of each type, the raw material the mutations below start from. */
const validEvent = fc.record({
  eventId: fc.string({ minLength: 1, maxLength: 20 }),
  sku: fc.stringMatching(/^[A-Za-z0-9._/-]{1,12}$/),
  locationId: fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/),
  occurredAt: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  source: fc.string({ minLength: 1, maxLength: 10 }),
  type: fc.constantFrom(...TYPES),
  quantity: fc.integer({ min: 1, max: 100 }),
  delta: fc.integer({ min: 1, max: 100 }),
  reason: fc.string({ minLength: 1, maxLength: 10 }),
  sellable: fc.boolean(),
}).map(({ type, quantity, delta, reason, sellable, ...common }) => {
  if (type === 'stock.adjusted') return { ...common, type, delta, reason };
  if (type === 'stock.unavailable') return { ...common, type, quantity, reason };
  if (type === 'stock.returned') return { ...common, type, quantity, sellable };
  return { ...common, type, quantity };
});

const FIELDS = ['eventId', 'sku', 'locationId', 'occurredAt', 'source', 'type', 'quantity', 'delta', 'reason', 'sellable', 'extra'];

/** A valid event with some fields replaced, deleted or added. */
const mutatedEvent = fc.tuple(validEvent, fc.array(fc.tuple(fc.constantFrom(...FIELDS), fc.option(edgy, { nil: undefined })), { maxLength: 3 }))
  .map(([e, changes]) => {
    const out: Record<string, unknown> = { ...e };
    for (const [field, value] of changes) {
      if (value === undefined) delete out[field];
      else out[field] = value;
    }
    return out;
  });

describe('stock event validation', () => {
  // parseStockEvent runs zod's compiled fast path; the runtime parser is the reference. A wrong
  // success from the fast path would put an invalid event in the ledger, so they must agree on
  // every input, in verdict, output and message.
  it('the compiled schema agrees with zod’s runtime parser on valid, mutated and arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(validEvent, mutatedEvent, mutatedEvent, fc.anything()), (input) => {
        expect(parseStockEvent(input)).toEqual(runtimeVerdict(input));
      }),
      { numRuns: 5_000 },
    );
  });

  it('accepts a valid event, strips unknown fields and defaults sellable', () => {
    const r = parseStockEvent({
      eventId: 'e-1', sku: 'A-1', locationId: 'ams-01', occurredAt: '2026-11-23T10:00:00.000+01:00', source: 'pos',
      type: 'stock.returned', quantity: 2, note: 'dropped',
    });
    expect(r).toEqual({
      ok: true,
      event: { eventId: 'e-1', sku: 'A-1', locationId: 'ams-01', occurredAt: '2026-11-23T10:00:00.000+01:00', source: 'pos', type: 'stock.returned', quantity: 2, sellable: true },
    });
  });

  it('names the field at fault', () => {
    const base = { eventId: 'e-1', sku: 'A-1', locationId: 'ams-01', occurredAt: '2026-11-23T10:00:00Z', source: 'pos' };
    expect(parseStockEvent({ ...base, type: 'stock.sold', quantity: 1.5 })).toMatchObject({ ok: false, error: expect.stringMatching(/^quantity: /) });
    expect(parseStockEvent({ ...base, type: 'stock.adjusted', delta: 0, reason: 'x' })).toEqual({ ok: false, error: 'delta: delta must not be 0' });
    expect(parseStockEvent({ ...base, sku: 'bad sku', type: 'stock.sold', quantity: 1 })).toEqual({ ok: false, error: 'sku: sku must match ^[A-Za-z0-9._/-]{1,64}$' });
    expect(parseStockEvent({ ...base, eventId: 'a\u0000b', type: 'stock.sold', quantity: 1 })).toMatchObject({ ok: false, error: expect.stringMatching(/^eventId: must be well-formed/) });
  });
});
