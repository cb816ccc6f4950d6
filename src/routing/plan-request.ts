// The body of POST /v1/routing/plan (contract §7), shared by the HTTP route and the
// route-batch CLI so both accept and refuse exactly the same orders.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { LOCATION_ID_PATTERN, MAX_QUANTITY, SKU_PATTERN } from '../core/ids.js';
import { DEFAULT_TTL_SECONDS, MAX_LINES, MAX_TTL_SECONDS, MIN_TTL_SECONDS } from '../core/reservation.js';
import { mergeLines } from '../core/routing/plan-ship.js';

/** Upper bound on `locationIds` (far above any channel's pool). */
export const MAX_LOCATION_IDS = 10_000;

const RESERVATION_ID_PATTERN = /^[A-Za-z0-9._:~-]{1,128}$/;
const reservationId = z.string().regex(RESERVATION_ID_PATTERN, 'reservationId must match ^[A-Za-z0-9._:~-]{1,128}$');

export const geoPointSchema = z.object({
  lat: z.number().min(-90, 'lat must be between -90 and 90').max(90, 'lat must be between -90 and 90'),
  lon: z.number().min(-180, 'lon must be between -180 and 180').max(180, 'lon must be between -180 and 180'),
});

export const planLineSchema = z.object({
  sku: z.string().regex(SKU_PATTERN, 'sku must match ^[A-Za-z0-9._/-]{1,64}$'),
  quantity: z.number().int('quantity must be an integer').min(1, 'quantity must be at least 1').max(MAX_QUANTITY),
});

export const planRequestSchema = z
  .object({
    orderRef: z.string().min(1).max(256).nullable().optional(),
    channel: z.string().min(1).max(128).optional().describe('defaults to the token name'),
    method: z.enum(['ship', 'pickup']),
    destination: geoPointSchema
      .optional()
      .describe('ship: optional (an address without coordinates: distance is skipped, distanceKm null); pickup: required without pickupLocationId'),
    pickupLocationId: z.string().regex(LOCATION_ID_PATTERN, 'pickupLocationId must match ^[A-Za-z0-9._-]{1,64}$').optional(),
    locationIds: z
      .array(z.string().regex(LOCATION_ID_PATTERN, 'locationIds items must match ^[A-Za-z0-9._-]{1,64}$'))
      .min(1, 'locationIds: at least one location')
      .max(MAX_LOCATION_IDS, `locationIds: at most ${MAX_LOCATION_IDS}`)
      .optional()
      .describe("omnistock extension: only these locations may ship / be chosen or offered for pickup (a channel's pool); unknown ids are a 400"),
    radiusKm: z.number().min(0).max(20_100).optional().describe('pickup: caps the alternatives (default 50)'),
    lines: z.array(planLineSchema).min(1, 'at least one line').max(MAX_LINES, `at most ${MAX_LINES} lines`),
    reserve: z
      .object({
        ttlSeconds: z.number().int().min(MIN_TTL_SECONDS).max(MAX_TTL_SECONDS).default(DEFAULT_TTL_SECONDS),
        reservationId: reservationId.optional().describe('idempotency key; generated when absent'),
      })
      .optional()
      .describe('hold the plan as one reservation'),
    reservationId: reservationId.optional().describe('same as reserve.reservationId'),
  })
  .superRefine((b, ctx) => {
    if (b.method === 'pickup' && b.destination === undefined && b.pickupLocationId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['pickupLocationId'], message: 'pickupLocationId or destination is required for method pickup' });
    }
    if (b.reservationId !== undefined && b.reserve === undefined) {
      ctx.addIssue({ code: 'custom', path: ['reservationId'], message: 'reservationId needs reserve' });
    }
    if (b.reservationId !== undefined && b.reserve?.reservationId !== undefined && b.reservationId !== b.reserve.reservationId) {
      ctx.addIssue({ code: 'custom', path: ['reservationId'], message: 'reservationId and reserve.reservationId differ' });
    }
  });

export type PlanRequest = z.infer<typeof planRequestSchema>;

/** `field: message` per problem, fields as the HTTP API names them (`body.lines.0.quantity`). */
export function planRequestErrors(err: z.ZodError): Array<{ field: string; message: string }> {
  return err.issues.map((i) => ({ field: ['body', ...i.path.map(String)].join('.'), message: i.message }));
}

/**
 * What "the same request" means for an idempotent retry with a reservationId: everything that
 * shapes the plan and the hold, lines merged per SKU, regardless of their order.
 */
export function planFingerprint(req: PlanRequest, channel: string): string {
  const lines = mergeLines(req.lines).sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
  const canonical = {
    kind: 'routing.plan',
    channel,
    orderRef: req.orderRef ?? null,
    method: req.method,
    destination: req.destination ?? null,
    pickupLocationId: req.pickupLocationId ?? null,
    radiusKm: req.radiusKm ?? null,
    // only when given, so fingerprints of requests without it are unchanged
    ...(req.locationIds !== undefined ? { locationIds: [...new Set(req.locationIds)].sort() } : {}),
    ttlSeconds: req.reserve?.ttlSeconds ?? null,
    lines: lines.map((l) => [l.sku, l.quantity]),
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}
