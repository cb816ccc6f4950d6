// The `shopify` kind's settings (contract §8): the shop, the custom app's Admin API access token
// and API secret (webhook HMAC), the API version, which Shopify location shows which of ours,
// and an optional base URL for a local stand-in.
import { z } from 'zod';
import { LOCATION_ID_PATTERN } from '../../src/core/ids.js';

export const SHOPIFY_LOCATION_GID = /^gid:\/\/shopify\/Location\/\d+$/;

export const shopifySettingsSchema = z.object({
  shop: z.string().regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/, 'shop must be the name.myshopify.com domain'),
  accessToken: z.string().min(1, 'accessToken is required').max(512),
  apiSecret: z.string().min(1, 'apiSecret is required').max(512),
  // changeFromQuantity and @idempotent (what our push sends) exist from 2026-04 on.
  apiVersion: z.string().regex(/^\d{4}-(01|04|07|10)$/, 'apiVersion must look like 2026-04')
    .refine((v) => v >= '2026-04', 'apiVersion must be 2026-04 or later (changeFromQuantity and @idempotent)').default('2026-04'),
  locationMap: z.record(
    z.string().regex(SHOPIFY_LOCATION_GID, 'keys must be Shopify location ids (gid://shopify/Location/123)'),
    z.string().regex(LOCATION_ID_PATTERN, 'values must be our location ids'),
  ).refine((m) => Object.keys(m).length > 0, 'locationMap must map at least one Shopify location'),
  adminUrl: z.url({ protocol: /^https?$/, message: 'adminUrl must be an http(s) URL' }).optional()
    .describe('base URL of a Shopify stand-in (tests, demo); absent: https://{shop}'),
  /** The shop's GraphQL cost bucket (Shopify standard plan: 100 points/s restored, 2,000 points). */
  restoreRate: z.number().positive().max(100_000).default(100),
  bucketSize: z.number().positive().max(1_000_000).default(2000),
  /** Catalogues with more inventory levels than this are pulled with a bulk operation. */
  bulkFrom: z.number().int().min(1).default(2000),
}).strict();

export type ShopifySettings = z.infer<typeof shopifySettingsSchema>;
