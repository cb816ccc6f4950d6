// What the staff app needs beyond the core API: the store queue (contract §11), stock lookup
// with nearest stores, and SKU prefix search. See docs/API.md, "Staff app".
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LOCATION_ID_PATTERN, SKU_PATTERN } from '../../core/ids.js';
import { STORE_ACTIONS, STORE_ORDER_STATUSES } from '../../core/store-order.js';
import { StoreActionForbidden, type StoreQueue } from '../../staff/store-queue.js';
import { readStockLookup, UnknownLocation } from '../../staff/stock-lookup-reader.js';
import type { RouteRegistrar } from '../app.js';
import type { AppContext } from '../context.js';
import { HttpProblem, problem } from '../problem.js';
import { userLocationProblem } from '../session-auth.js';
import { reservationProblem, RESERVATION_ID_PATTERN, reservationSchema } from './reservations.js';

const locationId = z.string().regex(LOCATION_ID_PATTERN, 'id must match ^[A-Za-z0-9._-]{1,64}$');
const reservationId = z.string().regex(RESERVATION_ID_PATTERN, 'reservationId must match ^[A-Za-z0-9._:~-]{1,128}$');
const sku = z.string().regex(SKU_PATTERN, 'sku must match ^[A-Za-z0-9._/-]{1,64}$');

const queueLine = z.object({
  lineNo: z.number(), sku: z.string(), quantity: z.number(), state: z.string(),
  reroutedTo: z.array(z.object({ locationId: z.string(), quantity: z.number() })).optional()
    .describe('a line the store could not find: the lines that replaced it elsewhere (empty: no location had the units)'),
});
const queueOrder = z.object({
  reservationId: z.string(), orderRef: z.string().nullable(), channel: z.string(), method: z.enum(['ship', 'pickup']),
  status: z.enum(STORE_ORDER_STATUSES), createdAt: z.string(),
  promisedBy: z.string().describe('createdAt + 2 h for pickup, + 24 h for ship'),
  reservationStatus: z.string(), expiresAt: z.string().nullable(), lines: z.array(queueLine),
});
const shipment = z.object({ locationId: z.string(), distanceKm: z.number().nullable(), lines: z.array(z.object({ sku: z.string(), quantity: z.number() })) });

const figures = { onHand: z.number(), reserved: z.number(), unavailable: z.number(), atp: z.number() };
const lookupSchema = z.object({
  sku: z.string(),
  network: z.object(figures),
  from: z.string().nullable().describe('the location distances are measured from'),
  locations: z.array(z.object({
    locationId: z.string(), name: z.string(), type: z.enum(['store', 'warehouse']), ...figures, safetyStock: z.number(),
    active: z.boolean(), oversold: z.boolean(), countRequested: z.boolean(), distanceKm: z.number().nullable(),
  })),
  nearest: z.array(z.object({
    locationId: z.string(), name: z.string(), distanceKm: z.number(), atp: z.number(), pickup: z.boolean(), shipFromStore: z.boolean(),
  })).describe('up to 5 other active stores with ATP > 0, nearest first'),
});

function checkLocation(req: FastifyRequest, id: string): void {
  const p = userLocationProblem(req, id);
  if (p) throw new HttpProblem(p);
}

function queueProblem(err: unknown): unknown {
  if (err instanceof StoreActionForbidden) return new HttpProblem(problem(409, err.message));
  return reservationProblem(err);
}

export function staffRoutes(queue: StoreQueue): RouteRegistrar {
  return (fastify: FastifyInstance, ctx: AppContext) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();

    app.get('/v1/locations/:id/queue', {
      config: { scope: 'routing', staffAccess: 'location' },
      schema: {
        summary: "A store's fulfilment queue: routed orders not yet shipped or handed over, oldest first", tags: ['staff'],
        params: z.object({ id: locationId }), response: { 200: z.object({ orders: z.array(queueOrder) }) },
      },
    }, async (req) => {
      checkLocation(req, req.params.id);
      return { orders: await queue.list(req.params.id) };
    });

    app.post('/v1/locations/:id/queue/:reservationId/:action', {
      config: { scope: 'routing', staffAccess: 'location' },
      schema: {
        summary: 'Move a queued order on (ship and hand-over fulfil its lines at this store)', tags: ['staff'],
        description: 'pick (new→picked), pack (picked→packed), ready (packed→ready, pickup), ship (packed→shipped, ship), hand-over (ready→handed_over, pickup). Repeating the action that led to the current status answers 200 and changes nothing; any other action the status forbids answers 409.',
        params: z.object({ id: locationId, reservationId, action: z.enum(STORE_ACTIONS) }),
        response: { 200: queueOrder },
      },
    }, async (req) => {
      checkLocation(req, req.params.id);
      try {
        return await queue.act(req.params.id, req.params.reservationId, req.params.action, req.token?.name ?? 'api');
      } catch (err) {
        throw queueProblem(err);
      }
    });

    app.post('/v1/locations/:id/queue/:reservationId/lines/:lineNo/not-found', {
      config: { scope: 'routing', staffAccess: 'location' },
      schema: {
        summary: "Can't find: give a line's units back (reject with reason not_found) and re-route them", tags: ['staff'],
        params: z.object({ id: locationId, reservationId, lineNo: z.coerce.number().int().min(1) }),
        body: z.object({ quantity: z.number().int().min(1).optional().describe('default: the whole line') }).optional(),
        response: {
          200: z.object({
            sku: z.string(), quantity: z.number(), shipments: z.array(shipment).describe('where the units went'),
            unassigned: z.array(z.object({ sku: z.string(), quantity: z.number() })).describe('what no location could take'),
            reservation: reservationSchema,
          }),
        },
      },
    }, async (req) => {
      checkLocation(req, req.params.id);
      try {
        return await queue.cantFind(req.params.id, req.params.reservationId, req.params.lineNo, req.body?.quantity);
      } catch (err) {
        throw queueProblem(err);
      }
    });

    app.get('/v1/stock/:sku', {
      config: { scope: 'stock:read' },
      schema: {
        summary: "A SKU's stock per location with names and distances, and the nearest stores that have it", tags: ['staff', 'availability'],
        params: z.object({ sku }),
        querystring: z.object({ near: locationId.optional().describe('measure distances from this location (default: the user\'s first)') }),
        response: { 200: lookupSchema },
      },
    }, async (req) => {
      const from = req.query.near ?? req.user?.locationIds[0] ?? null;
      try {
        return await readStockLookup(ctx.db, req.params.sku, from);
      } catch (err) {
        if (err instanceof UnknownLocation) throw new HttpProblem(problem(400, `querystring.near: unknown location "${from}"`));
        throw err;
      }
    });

    app.get('/v1/skus', {
      config: { scope: 'stock:read' },
      schema: {
        summary: 'SKUs the ledger knows that start with a prefix', tags: ['staff', 'availability'],
        querystring: z.object({
          prefix: z.string().regex(/^[A-Za-z0-9._/-]{0,64}$/, 'prefix may hold only SKU characters [A-Za-z0-9._/-]'),
          limit: z.coerce.number().int().min(1).max(100).default(20),
        }),
        response: { 200: z.object({ items: z.array(z.object({ sku: z.string(), locations: z.number(), onHand: z.number() })) }) },
      },
    }, async (req) => {
      // positions.sku is COLLATE "C" and every SKU character sorts below '~': a range on the primary key.
      const rows = await ctx.db.query<{ sku: string; locations: number | string; on_hand: number | string }>(
        `SELECT sku, count(*) AS locations, sum(on_hand) AS on_hand FROM positions
          WHERE sku >= $1 AND sku < $1 || '~' GROUP BY sku ORDER BY sku LIMIT $2`,
        [req.query.prefix, req.query.limit],
      );
      return { items: rows.map((r) => ({ sku: r.sku, locations: Number(r.locations), onHand: Number(r.on_hand) })) };
    });
  };
}
