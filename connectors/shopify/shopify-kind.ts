// The `shopify` kind for the registry (connectors/registry.ts): per-location publishing, its
// settings, its secrets, and the token bucket from Shopify's GraphQL cost limits.
import type { ChannelKindDefinition } from '../channel-connector.js';
import { ShopifyConnector } from './shopify-connector.js';
import { shopifySettingsSchema, type ShopifySettings } from './shopify-settings.js';

export const shopifyKind: ChannelKindDefinition<ShopifySettings> = {
  kind: 'shopify',
  scope: 'per-location',
  settingsSchema: shopifySettingsSchema as never,
  secretFields: ['accessToken', 'apiSecret'],
  referencedLocations: (s) => [...new Set(Object.values(s.locationMap))],
  channelLocations: (s) => Object.entries(s.locationMap).map(([channelLocation, locationId]) => ({ channelLocation, locationId })),
  // Points per second and the bucket, in the units StockPublisher.cost returns (query cost).
  rateLimit: (s) => ({ ratePerSecond: s.restoreRate, burst: s.bucketSize }),
  create: (ctx) => new ShopifyConnector(ctx),
};
