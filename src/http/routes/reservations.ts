// Reservations, contract §5. Decisions the contract leaves open (see also docs in the schemas):
// - Lines sharing (sku, locationId) are merged into one line before checking.
// - An unknown locationId is a 400 naming the field (body.lines.<i>.locationId): the request
//   refers to something that does not exist. A known SKU/location the ledger never saw, or an
//   inactive location, is a 409 shortage with available 0.
// - Idempotent create: the same reservationId with the same body answers 201 with the
//   reservation as it is now; a different body is 409. A 409 shortage stores nothing: retrying
//   it is a new attempt.
// - Repeating a transition that already happened (commit a committed one, release a released
//   one, fulfil a fulfilled one) answers 200 and changes nothing. Releasing a committed
//   reservation is allowed (the order was cancelled). Committing or fulfilling a hold past its
//   expiresAt releases it (as the expiry job would) and answers 409.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LOCATION_ID_PATTERN, MAX_QUANTITY, SKU_PATTERN } from '../../core/ids.js';
import { DEFAULT_TTL_SECONDS, MAX_LINES, MAX_TTL_SECONDS, MIN_TTL_SECONDS, type ReservationAction } from '../../core/reservation.js';
import { ReservationConflict, ReservationInvalid, ReservationNotFound, ReservationShortage } from '../../reservations/errors.js';
import type { ReservationService } from '../../reservations/reservation-service.js';
import type { AppContext } from '../context.js';
import type { RouteRegistrar } from '../app.js';
import { HttpProblem, problem, withProblems } from '../problem.js';

export const RESERVATION_ID_PATTERN = /^[A-Za-z0-9._:~-]{1,128}$/;
const reservationId = z.string().regex(RESERVATION_ID_PATTERN, 'reservationId must match ^[A-Za-z0-9._:~-]{1,128}$');

const lineBody = z.object({
  sku: z.string().regex(SKU_PATTERN, 'sku must match ^[A-Za-z0-9._/-]{1,64}$'),
  locationId: z.string().regex(LOCATION_ID_PATTERN, 'locationId must match ^[A-Za-z0-9._-]{1,64}$'),
  quantity: z.number().int('quantity must be an integer').min(1, 'quantity must be at least 1').max(MAX_QUANTITY),
});

export const holdBodySchema = z.object({
  reservationId: reservationId.optional().describe('idempotency key; generated when absent'),
  channel: z.string().min(1).max(128).optional().describe('defaults to the token name'),
  orderRef: z.string().min(1).max(256).nullable().optional(),
  ttlSeconds: z.number().int().min(MIN_TTL_SECONDS).max(MAX_TTL_SECONDS).default(DEFAULT_TTL_SECONDS),
  lines: z.array(lineBody).min(1, 'at least one line').max(MAX_LINES, `at most ${MAX_LINES} lines`)
    .describe('lines sharing sku and locationId are merged into one'),
});

export const reservationSchema = z.object({
  reservationId: z.string(),
  status: z.enum(['held', 'committed', 'released', 'fulfilled']),
  channel: z.string(),
  orderRef: z.string().nullable(),
  ttlSeconds: z.number(),
  expiresAt: z.string().nullable().describe('null once committed'),
  releasedReason: z.string().nullable().describe("'released', 'expired' or 'rejected' when released"),
  createdAt: z.string(),
  updatedAt: z.string(),
  lines: z.array(z.object({
    lineNo: z.number(), sku: z.string(), locationId: z.string(), quantity: z.number(),
    state: z.enum(['held', 'committed', 'released', 'fulfilled', 'rejected']),
  })),
});

/** Reservation errors as problems (the routing routes share it). */
export function reservationProblem(err: unknown): unknown {
  if (err instanceof ReservationShortage) {
    return new HttpProblem(problem(409, err.message, {
      type: 'https://omnistock.dev/problems/insufficient-stock', title: 'Insufficient stock', shortages: err.shortages,
    }));
  }
  if (err instanceof ReservationInvalid) return new HttpProblem(problem(400, err.message, { errors: err.errors }));
  if (err instanceof ReservationNotFound) return new HttpProblem(problem(404, err.message));
  if (err instanceof ReservationConflict) return new HttpProblem(problem(409, err.message));
  return err;
}

const mapped = <T>(fn: () => Promise<T>) => withProblems(reservationProblem, fn);

export function reservationRoutes(service: ReservationService): RouteRegistrar {
  return async (fastify: FastifyInstance, _ctx: AppContext) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    app.post('/v1/reservations', {
      config: { scope: 'reservations' },
      schema: {
        summary: 'Hold stock: all lines or none (409 with shortages)', tags: ['reservations'],
        body: holdBodySchema, response: { 201: reservationSchema },
      },
    }, async (req, reply) => {
      const b = req.body;
      const { reservation } = await mapped(() =>
        service.hold({
          reservationId: b.reservationId, channel: b.channel ?? req.token?.name ?? 'api', orderRef: b.orderRef ?? null,
          ttlSeconds: b.ttlSeconds, lines: b.lines,
        }),
      );
      return reply.code(201).send(reservation);
    });

    app.get('/v1/reservations/:id', {
      config: { scope: 'reservations' },
      schema: { summary: 'A reservation: state and lines', tags: ['reservations'], params: z.object({ id: reservationId }), response: { 200: reservationSchema } },
    }, async (req) => mapped(() => service.get(req.params.id)));

    const actions: Array<[ReservationAction, string]> = [
      ['commit', 'Commit a held reservation: it no longer expires'],
      ['release', 'Release a held or committed reservation: its units are available again'],
      ['fulfil', 'Fulfil: on hand and reserved both drop by the quantity'],
    ];
    // The actions take no body; clients that send `Content-Type: application/json` with an
    // empty one are not refused (an encapsulated parser, for these routes only).
    await app.register(async (child) => {
      child.removeContentTypeParser('application/json');
      child.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
        const text = typeof body === 'string' ? body.trim() : '';
        if (text === '') return done(null, undefined);
        try {
          done(null, JSON.parse(text) as unknown);
        } catch {
          done(new HttpProblem(problem(400, 'body: invalid JSON (these actions take no body)')), undefined);
        }
      });
      const actionApp = child.withTypeProvider<ZodTypeProvider>();
      for (const [action, summary] of actions) {
        actionApp.post(`/v1/reservations/:id/${action}`, {
          config: { scope: 'reservations' },
          schema: { summary, tags: ['reservations'], params: z.object({ id: reservationId }), response: { 200: reservationSchema } },
        }, async (req) => mapped(() => service[action](req.params.id)));
      }
    });
  };
}
