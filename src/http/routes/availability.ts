import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LOCATION_ID_PATTERN, SKU_PATTERN } from '../../core/ids.js';
import type { AppContext } from '../context.js';
import { readAvailability, readLedgerHistory } from '../../ledger/availability-reader.js';

const sku = z.string().regex(SKU_PATTERN, 'sku must match ^[A-Za-z0-9._/-]{1,64}$');
const figures = { onHand: z.number(), reserved: z.number(), unavailable: z.number(), atp: z.number() };
const skuAvailabilitySchema = z.object({
  sku: z.string(),
  network: z.object(figures),
  locations: z.array(z.object({
    locationId: z.string(), ...figures, safetyStock: z.number(), active: z.boolean(),
    oversold: z.boolean().describe('reservations exceed what is physically there'),
    countRequested: z.boolean().describe('a store could not find units; ATP excludes them until a count'),
  })),
});

const ledgerEntrySchema = z.object({
  id: z.number().describe('ledger order: per position, the order in which writers applied entries'),
  eventId: z.string(),
  kind: z.string().describe('the stock event type, or a reservation movement'),
  locationId: z.string(),
  occurredAt: z.string().describe('when it happened at the source (ISO-8601)'),
  recordedAt: z.string().describe('when the ledger recorded it (ISO-8601)'),
  countQuantity: z.number().nullable().describe('for counts: the counted quantity'),
  onHandDelta: z.number(),
  unavailableDelta: z.number(),
  missingDelta: z.number(),
  reservedDelta: z.number(),
  source: z.string().nullable(),
  reason: z.string().nullable(),
  reservationId: z.string().nullable(),
});

export function availabilityRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/v1/availability/:sku', {
    config: { scope: 'stock:read' },
    schema: { summary: 'Available-to-promise of one SKU', tags: ['availability'], params: z.object({ sku }), response: { 200: skuAvailabilitySchema } },
  }, async (req) => (await readAvailability(ctx.db, [req.params.sku]))[0]!);

  app.post('/v1/availability/query', {
    config: { scope: 'stock:read' },
    schema: {
      summary: 'Availability of up to 500 SKUs', tags: ['availability'],
      body: z.object({ skus: z.array(sku).min(1).max(500), locationIds: z.array(z.string().regex(LOCATION_ID_PATTERN)).max(1000).optional() }),
      response: { 200: z.object({ items: z.array(skuAvailabilitySchema) }) },
    },
  }, async (req) => ({ items: await readAvailability(ctx.db, [...new Set(req.body.skus)], req.body.locationIds) }));

  app.get('/v1/ledger/:sku', {
    config: { scope: 'stock:read' },
    schema: {
      summary: 'Ledger entries behind a SKU (newest first)', tags: ['availability'],
      params: z.object({ sku }),
      querystring: z.object({
        locationId: z.string().regex(LOCATION_ID_PATTERN).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        offset: z.coerce.number().int().min(0).default(0),
      }),
      response: { 200: z.object({ sku: z.string(), items: z.array(ledgerEntrySchema) }) },
    },
  }, async (req) => ({
    sku: req.params.sku,
    items: await readLedgerHistory(ctx.db, req.params.sku, { locationId: req.query.locationId, limit: req.query.limit, offset: req.query.offset }),
  }));
}
