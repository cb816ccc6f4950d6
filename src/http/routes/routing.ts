// Routing, contract §7: POST /v1/routing/plan (scope `routing`), and the store-side reject of
// reserved lines POST /v1/reservations/{id}/reject (scope `reservations`). See docs/ROUTING.md.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LOCATION_ID_PATTERN, MAX_QUANTITY, SKU_PATTERN } from '../../core/ids.js';
import { MAX_LINES } from '../../core/reservation.js';
import { PlanConflict, RoutingInvalid } from '../../routing/errors.js';
import { geoPointSchema, planRequestSchema } from '../../routing/plan-request.js';
import { REJECT_REASONS, type RejectService } from '../../routing/reject-service.js';
import type { RoutingService } from '../../routing/routing-service.js';
import type { RouteRegistrar } from '../app.js';
import type { AppContext } from '../context.js';
import { HttpProblem, problem, withProblems } from '../problem.js';
import { reservationProblem } from './reservations.js';
import { RESERVATION_ID_PATTERN, reservationSchema } from './reservations.js';

const lineSchema = z.object({ sku: z.string(), quantity: z.number() });
const shipmentSchema = z.object({
  locationId: z.string(),
  distanceKm: z.number().nullable().describe('km to the destination; null for ship without destination (§7)'),
  lines: z.array(lineSchema),
});
const explainSchema = z.object({
  method: z.enum(['exact', 'heuristic', 'partial', 'pickup']),
  candidates: z.array(z.object({
    locationId: z.string(), distanceKm: z.number().nullable(), decision: z.enum(['chosen', 'dropped']), reason: z.string(), detail: z.string().optional(),
  })),
  searchNodes: z.number().optional(),
});

const planResponseSchema = z.object({
  feasible: z.boolean(),
  shipments: z.array(shipmentSchema),
  unassigned: z.array(lineSchema),
  alternatives: z.array(z.object({ locationId: z.string(), distanceKm: z.number() })).optional(),
  reservationId: z.string().nullable().describe('null unless the plan was held'),
  reservation: reservationSchema.optional().describe('the held reservation, as GET /v1/reservations/{id} shows it'),
  explain: explainSchema.optional().describe('with ?explain=true: every candidate location and why it was taken or dropped'),
});

const rejectBodySchema = z.object({
  lines: z.array(z.object({
    sku: z.string().regex(SKU_PATTERN, 'sku must match ^[A-Za-z0-9._/-]{1,64}$'),
    locationId: z.string().regex(LOCATION_ID_PATTERN, 'locationId must match ^[A-Za-z0-9._-]{1,64}$'),
    quantity: z.number().int('quantity must be an integer').min(1, 'quantity must be at least 1').max(MAX_QUANTITY),
    reason: z.enum(REJECT_REASONS).describe('not_found: unavailable and flagged for a count; damaged: unavailable; other: released only'),
  })).min(1, 'at least one line').max(MAX_LINES, `at most ${MAX_LINES} lines`),
  destination: geoPointSchema.optional().describe('where re-routed shipments go; defaults to the planned destination'),
});

const explainQuery = z.object({
  explain: z.enum(['true', 'false', '1', '0']).optional().transform((v) => v === 'true' || v === '1'),
});

function toProblem(err: unknown): unknown {
  if (err instanceof PlanConflict) {
    return new HttpProblem(problem(409, err.message, {
      type: 'https://omnistock.dev/problems/insufficient-stock', title: 'Insufficient stock', shortages: err.shortages,
      ...(err.capacity.length > 0 ? { capacity: err.capacity } : {}),
    }));
  }
  if (err instanceof RoutingInvalid) return new HttpProblem(problem(400, err.message, { errors: err.errors }));
  return reservationProblem(err);
}

const mapped = <T>(fn: () => Promise<T>) => withProblems(toProblem, fn);

export function routingRoutes(routing: RoutingService, rejects: RejectService): RouteRegistrar {
  return (fastify: FastifyInstance, _ctx: AppContext) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.post('/v1/routing/plan', {
      config: { scope: 'routing' },
      schema: {
        summary: 'Plan where an order ships from (or which store hands it over); optionally hold the plan', tags: ['routing'],
        querystring: explainQuery, body: planRequestSchema, response: { 200: planResponseSchema },
      },
    }, async (req) => mapped(() => routing.plan(req.body, { channel: req.token?.name ?? 'api', explain: req.query.explain })));

    app.post('/v1/reservations/:id/reject', {
      config: { scope: 'reservations' },
      schema: {
        summary: 'A store rejects reserved units: release them there, re-route them within the same reservation', tags: ['reservations', 'routing'],
        params: z.object({ id: z.string().regex(RESERVATION_ID_PATTERN, 'id must match ^[A-Za-z0-9._:~-]{1,128}$') }),
        body: rejectBodySchema,
        response: { 200: z.object({ reservation: reservationSchema, plan: z.object({ shipments: z.array(shipmentSchema), unassigned: z.array(lineSchema) }) }) },
      },
    }, async (req) => mapped(() => rejects.reject(req.params.id, req.body)));
  };
}
