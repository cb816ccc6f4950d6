// Locations (contract §2): the body schema doubles as validation and documentation.
import { z } from 'zod';
import { LOCATION_ID_PATTERN } from '../core/ids.js';

export const locationIdSchema = z.string().regex(LOCATION_ID_PATTERN, 'id must match ^[A-Za-z0-9._-]{1,64}$');

export const locationBodySchema = z.object({
  name: z.string().min(1).max(200),
  type: z.enum(['store', 'warehouse']),
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  shipFromStore: z.boolean().default(false),
  pickup: z.boolean().default(false),
  rank: z.number().int().min(0).max(1_000_000).default(100),
  dailyCapacity: z.number().int().min(0).max(1_000_000).nullable().default(null),
  safetyStock: z.number().int().min(0).max(1_000_000_000).default(0),
  active: z.boolean().default(true),
});
export type LocationBody = z.infer<typeof locationBodySchema>;

export const locationSchema = locationBodySchema.extend({ id: z.string() });
export type Location = z.infer<typeof locationSchema>;
