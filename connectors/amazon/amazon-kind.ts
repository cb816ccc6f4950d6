// The `amazon` kind (contract §8): an Amazon seller account through the Selling Partner API.
// - Push: patchListingsItem on /attributes/fulfillment_availability, one SKU per call, within
//   the operation's published 5/s burst 5 (the SP-API client's bucket, corrected from
//   x-amzn-RateLimit-Limit, backs off on 429). SP-API has no compare-and-set: an expected figure
//   is checked against getListingsItem just before the patch. Bulk feeds (listings-feed.ts,
//   push-plan.ts) are built but not used here yet: a feed's outcome arrives minutes later, and
//   StockPublisher.push answers synchronously (see connectors/README.md).
// - Orders: the scheduled pull polls getOrders from a durable cursor (order-poller.ts) into the
//   engine's orders sink, routed over fulfilmentLocationIds; AFN orders touch nothing.
// - Network scope: one figure per SKU for the whole pool.
import { z } from 'zod';
import type { ChannelConnector, ChannelKindDefinition, ConnectorContext, PullReport, PushItem, PushOutcome, StockPublisher } from '../channel-connector.js';
import { availabilityPatch, issueOutcome } from './listings-feed.js';
import { DEFAULT_LWA_URL, LwaError, LwaTokenSource } from './lwa-token.js';
import { AmazonOrderPoller } from './order-poller.js';
import { SpApiCallError, SpApiClient } from './sp-api-client.js';
import type { PostalLookup } from '../../src/routing/postal-code.js';

const LOCATION_ID = /^[A-Za-z0-9._-]{1,64}$/;
const DEFAULT_ENDPOINT = 'https://sellingpartnerapi-eu.amazon.com';

export const amazonSettingsSchema = z.object({
  sellerId: z.string().min(1).max(64),
  marketplaceIds: z.array(z.string().min(1).max(32)).min(1).max(20),
  clientId: z.string().min(1).max(256),
  clientSecret: z.string().min(1).max(512),
  refreshToken: z.string().min(1).max(2048),
  fulfilmentLocationIds: z.array(z.string().regex(LOCATION_ID, 'must be one of our location ids')).min(1).max(1000)
    .describe('the pool that serves merchant-fulfilled orders'),
  endpoint: z.url({ protocol: /^https?$/ }).optional().describe('SP-API base URL'),
  lwaUrl: z.url({ protocol: /^https?$/ }).optional(),
  rateScale: z.number().min(1).max(1000).default(1).describe('multiplies the published rates: only for a sped-up stand-in (tests, demos)'),
}).strict();

export type AmazonSettings = z.infer<typeof amazonSettingsSchema>;

const PATCH_RATE = 5;
const PATCH_BURST = 5;

class AmazonConnector implements ChannelConnector {
  readonly kind = 'amazon' as const;
  readonly publisher: StockPublisher;
  private readonly sp: SpApiClient;
  private readonly poller: AmazonOrderPoller;

  constructor(private readonly ctx: ConnectorContext<AmazonSettings>, postal?: PostalLookup) {
    const s = ctx.settings;
    const lwa = new LwaTokenSource({ clientId: s.clientId, clientSecret: s.clientSecret, refreshToken: s.refreshToken, lwaUrl: s.lwaUrl ?? DEFAULT_LWA_URL });
    this.sp = new SpApiClient({ endpoint: s.endpoint ?? DEFAULT_ENDPOINT, lwa, rateScale: s.rateScale, maxAttempts: 4 });
    this.poller = new AmazonOrderPoller({
      sp: this.sp, marketplaceId: s.marketplaceIds[0]!, state: ctx.state, sink: ctx.orders, fulfilmentLocationIds: s.fulfilmentLocationIds, postal,
      quarantine: (orderRef, reason, payload) => ctx.quarantine([{ channelRef: orderRef, reason, payload }]),
    });
    this.publisher = {
      maxItemsPerCall: PATCH_BURST,
      cost: (n) => n,
      push: (items, signal) => this.push(items, signal),
      readBack: async (keys, signal) => {
        const out: Array<number | null> = [];
        for (const k of keys) out.push(await this.shown(k.sku, signal));
        return out;
      },
    };
  }

  get channelId(): string {
    return this.ctx.channelId;
  }

  private listingPath(sku: string): string {
    return `/listings/2021-08-01/items/${encodeURIComponent(this.ctx.settings.sellerId)}/${encodeURIComponent(sku)}`;
  }

  /** The listing's DEFAULT (merchant-fulfilled) quantity, null when the SKU is not a listing. */
  private async shown(sku: string, signal: AbortSignal): Promise<number | null> {
    try {
      const r = await this.sp.call<{ fulfillmentAvailability?: Array<{ fulfillmentChannelCode: string; quantity?: number }> }>('getListingsItem', 'GET', this.listingPath(sku), {
        query: { marketplaceIds: this.ctx.settings.marketplaceIds, includedData: 'fulfillmentAvailability' }, signal,
      });
      return r.fulfillmentAvailability?.find((f) => f.fulfillmentChannelCode === 'DEFAULT')?.quantity ?? 0;
    } catch (err) {
      if (err instanceof SpApiCallError && err.status === 404) return null;
      throw err;
    }
  }

  private async push(items: readonly PushItem[], signal: AbortSignal): Promise<{ outcomes: PushOutcome[] }> {
    const outcomes: PushOutcome[] = [];
    for (const item of items) outcomes.push(await this.pushOne(item, signal));
    return { outcomes };
  }

  private async pushOne(item: PushItem, signal: AbortSignal): Promise<PushOutcome> {
    try {
      if (item.expected !== null) {
        const actual = await this.shown(item.sku, signal);
        if (actual === null) return { ok: false, error: `${item.sku} is not a listing of this seller`, retryable: false, notListed: true };
        if (actual !== item.expected) return { ok: false, error: `Amazon shows ${actual}, not ${item.expected}`, retryable: true, actual };
      }
      const r = await this.sp.call<{ status: string; issues?: Array<{ code: string; message: string; severity: string }> }>('patchListingsItem', 'PATCH', this.listingPath(item.sku), {
        query: { marketplaceIds: this.ctx.settings.marketplaceIds }, body: { productType: 'PRODUCT', patches: [availabilityPatch(item.quantity)] }, signal,
      });
      const error = (r.issues ?? []).find((i) => i.severity === 'ERROR');
      if (r.status === 'ACCEPTED' && !error) return { ok: true };
      return issueOutcome(item.sku, error ?? { code: r.status, message: 'patch not accepted' });
    } catch (err) {
      if (err instanceof SpApiCallError) return { ok: false, error: err.message, retryable: err.retryable };
      if (err instanceof LwaError) return { ok: false, error: `LWA: ${err.message}`, retryable: err.retryable };
      return { ok: false, error: (err as Error).message, retryable: true };
    }
  }

  async pull(signal: AbortSignal): Promise<PullReport> {
    const r = await this.poller.poll(signal);
    return { ingested: 0, duplicates: 0, quarantined: 0, orders: r.orders, notes: [`orders polled up to ${r.windowEnd} (${r.pages} pages, ${r.ignored} ignored)`] };
  }
}

export const amazonKind: ChannelKindDefinition<AmazonSettings> = {
  kind: 'amazon',
  scope: 'network',
  settingsSchema: amazonSettingsSchema,
  secretFields: ['clientSecret', 'refreshToken'],
  referencedLocations: (s) => s.fulfilmentLocationIds,
  // patchListingsItem's published plan, in calls (one SKU each).
  rateLimit: (s) => ({ ratePerSecond: PATCH_RATE * s.rateScale, burst: PATCH_BURST }),
  create: (ctx) => new AmazonConnector(ctx),
};

/** The kind with the merchant's postal-code coordinates, which give MFN orders a destination. */
export function amazonKindWith(postal: PostalLookup): ChannelKindDefinition<AmazonSettings> {
  return { ...amazonKind, create: (ctx) => new AmazonConnector(ctx, postal) };
}
