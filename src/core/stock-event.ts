// The stock event of contract §3: its schema validates HTTP input and every message the
// reconciler reads from the log, so both sides reject exactly the same things.
import { z } from 'zod';
import { EVENT_ID_MAX, LOCATION_ID_PATTERN, MAX_QUANTITY, SKU_PATTERN } from './ids.js';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from './storable-text.js';

const quantity = z.number().int().min(1).max(MAX_QUANTITY);
/** Free text the ledger stores: bounded, and storable in PostgreSQL (see storable-text.ts). */
const storedText = (max: number) => z.string().min(1).max(max).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);
const common = {
  eventId: storedText(EVENT_ID_MAX),
  sku: z.string().regex(SKU_PATTERN, 'sku must match ^[A-Za-z0-9._/-]{1,64}$'),
  locationId: z.string().regex(LOCATION_ID_PATTERN, 'locationId must match ^[A-Za-z0-9._-]{1,64}$'),
  occurredAt: z.iso.datetime({ offset: true }),
  source: storedText(256),
};

export const stockEventSchema = z.discriminatedUnion('type', [
  z.object({ ...common, type: z.literal('stock.counted'), quantity: z.number().int().min(0).max(MAX_QUANTITY) }),
  z.object({ ...common, type: z.literal('stock.received'), quantity }),
  z.object({ ...common, type: z.literal('stock.sold'), quantity }),
  z.object({ ...common, type: z.literal('stock.returned'), quantity, sellable: z.boolean().default(true) }),
  z.object({
    ...common,
    type: z.literal('stock.adjusted'),
    delta: z.number().int().min(-MAX_QUANTITY).max(MAX_QUANTITY).refine((d) => d !== 0, 'delta must not be 0'),
    reason: storedText(512),
  }),
  z.object({
    ...common,
    type: z.literal('stock.unavailable'),
    quantity: z.number().int().min(-MAX_QUANTITY).max(MAX_QUANTITY),
    reason: storedText(512),
  }),
]);

export type StockEvent = z.infer<typeof stockEventSchema>;
export type StockEventType = StockEvent['type'];
export const STOCK_EVENT_TYPES: readonly StockEventType[] = [
  'stock.counted', 'stock.received', 'stock.sold', 'stock.returned', 'stock.adjusted', 'stock.unavailable',
];

/**
 * The same schema compiled ahead of time by zod (`z.compile`): a generated function checks the
 * usual valid event in about a tenth of the runtime parser's time and allocations, and anything
 * it does not accept goes to the runtime parser, whose verdict and messages are the ones used.
 * The reconciler validates every message it reads (BENCHMARKS.md, spine). `strict` makes a schema
 * change that zod cannot compile fail at load, in every test, not quietly lose the fast path.
 */
const compiledStockEventSchema = z.compile(stockEventSchema, { strict: true });

/** Validates one event; the error names the field, for HTTP `rejected` and the dead-letter table. */
export function parseStockEvent(input: unknown): { ok: true; event: StockEvent } | { ok: false; error: string } {
  const r = compiledStockEventSchema.safeParse(input);
  if (r.success) return { ok: true, event: r.data };
  return { ok: false, error: formatZodIssues(r.error.issues) };
}

export function formatZodIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}
