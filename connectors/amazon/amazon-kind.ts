// The `amazon` kind (contract §8): an Amazon seller account through the Selling Partner API.
// - Push: a few SKUs by patchListingsItem on /attributes/fulfillment_availability (one SKU per
//   call, 5/s burst 5), a bulk change by JSON_LISTINGS_FEED (listings-feed-client.ts), chosen
//   by volume and what the SP-API client's buckets hold (push-plan.ts). The buckets follow each
//   operation's published plan, are corrected from x-amzn-RateLimit-Limit and back off on 429.
//   A feed answers `pending` with its feed id; the engine polls it (getFeed, then the processing
//   report) and settles each SKU. SP-API has no compare-and-set: a patch's expected figure is
//   checked against getListingsItem just before it; a feed sets absolute figures unchecked (the
//   outbox never lets a newer figure overtake one still in a feed). A feed whose id was lost (a
//   crash right after createFeed) is waited out by getFeeds before its rows go again.
// - Orders: the scheduled pull polls getOrders from a durable cursor (order-poller.ts) into the
//   engine's orders sink, routed over fulfilmentLocationIds; AFN orders touch nothing.
// - Network scope: one figure per SKU for the whole pool.
import { z } from 'zod';
import type { ChannelConnector, ChannelKindDefinition, ConnectorContext, PullReport, PushItem, PushOutcome, StockPublisher, SubmissionAnswer } from '../channel-connector.js';
import { availabilityPatch, issueOutcome, MAX_FEED_MESSAGES, type UpdateOutcome } from './listings-feed.js';
import { FeedMaybeCreated, ListingsFeedClient, TurnaroundEstimate } from './listings-feed-client.js';
import { DEFAULT_LWA_URL, LwaError, LwaTokenSource } from './lwa-token.js';
import { AmazonOrderPoller } from './order-poller.js';
import { planBatchSize, planPush, type Budget } from './push-plan.js';
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
  pushBy: z.enum(['auto', 'patch', 'feed']).default('auto').describe('auto: patch or feed by volume and rate budget'),
  feedTurnaroundSeconds: z.number().min(1).max(86_400).default(120)
    .describe('how long a feed is expected to take until feeds have been seen (then measured); divided by rateScale'),
}).strict();

export type AmazonSettings = z.infer<typeof amazonSettingsSchema>;

const PATCH_RATE = 5;
const PATCH_BURST = 5;
/** Most items one push call carries (one feed; the report of 10,000 messages is a few MB). */
const MAX_ITEMS_PER_CALL = Math.min(10_000, MAX_FEED_MESSAGES);

class AmazonConnector implements ChannelConnector {
  readonly kind = 'amazon' as const;
  readonly publisher: StockPublisher;
  private readonly sp: SpApiClient;
  private readonly poller: AmazonOrderPoller;
  private readonly feeds: ListingsFeedClient;
  private readonly turnaround: TurnaroundEstimate;

  constructor(private readonly ctx: ConnectorContext<AmazonSettings>, postal?: PostalLookup) {
    const s = ctx.settings;
    const lwa = new LwaTokenSource({ clientId: s.clientId, clientSecret: s.clientSecret, refreshToken: s.refreshToken, lwaUrl: s.lwaUrl ?? DEFAULT_LWA_URL });
    this.sp = new SpApiClient({ endpoint: s.endpoint ?? DEFAULT_ENDPOINT, lwa, rateScale: s.rateScale, maxAttempts: 4 });
    this.poller = new AmazonOrderPoller({
      sp: this.sp, marketplaceId: s.marketplaceIds[0]!, state: ctx.state, sink: ctx.orders, fulfilmentLocationIds: s.fulfilmentLocationIds, postal,
      quarantine: (orderRef, reason, payload) => ctx.quarantine([{ channelRef: orderRef, reason, payload }]),
    });
    this.feeds = new ListingsFeedClient({ sp: this.sp, sellerId: s.sellerId, marketplaceIds: s.marketplaceIds });
    this.turnaround = new TurnaroundEstimate((s.feedTurnaroundSeconds * 1000) / s.rateScale);
    this.publisher = {
      maxItemsPerCall: MAX_ITEMS_PER_CALL,
      // The engine's bucket is patchListingsItem's plan; a feed call costs a burst's worth.
      cost: (n) => Math.min(n, PATCH_BURST),
      batchSize: (due) => this.batchSize(due),
      push: (items, signal) => this.push(items, signal),
      poll: (submission, signal) => this.poll(submission.id, submission.items, signal),
      awaitUnknownSubmissions: (window, signal) => this.awaitUnknownFeeds(window, signal),
      readBack: async (keys, signal) => {
        const out: Array<number | null> = [];
        for (const k of keys) out.push(await this.shown(k.sku, signal));
        return out;
      },
    };
  }

  /** What the SP-API client's buckets hold now: the remaining rate budget. */
  private budget(): Budget {
    const patch = this.sp.bucket('patchListingsItem');
    const feed = this.sp.bucket('createFeed');
    const mode = this.ctx.settings.pushBy;
    return {
      patchTokens: patch.available(), patchPerSecond: patch.perSecond,
      // pushBy 'patch': no feed is ever worth it; 'feed': every item is.
      feedTokens: mode === 'patch' ? 0 : feed.available(), feedPerSecond: feed.perSecond,
      feedTurnaroundMs: mode === 'feed' ? 0 : this.turnaround.ms,
    };
  }

  private batchSize(due: number): number {
    if (this.ctx.settings.pushBy === 'feed') return due;
    return planBatchSize(due, this.budget(), PATCH_BURST);
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
    const outcomes: PushOutcome[] = items.map(() => ({ ok: 'deferred' }));
    const index = new Map(items.map((it, i) => [it, i]));
    const plan = this.ctx.settings.pushBy === 'feed'
      ? { patch: [], deferred: [], feeds: chunks(items, MAX_FEED_MESSAGES) }
      : planPush(items, this.budget());
    for (const feed of plan.feeds) {
      let answer: PushOutcome[];
      try {
        const feedId = await this.feeds.submit(feed, signal);
        answer = feed.map(() => ({ ok: 'pending', submissionId: feedId, pollInMs: this.turnaround.ms }));
      } catch (err) {
        answer = feed.map(() => failure(err));
      }
      feed.forEach((it, i) => { outcomes[index.get(it)!] = answer[i]!; });
    }
    for (const item of plan.patch) outcomes[index.get(item)!] = await this.pushOne(item, signal);
    await this.quarantineRefused(items, outcomes);
    return { outcomes };
  }

  /** A feed's result: pending, or one outcome per item from the processing report. */
  private async poll(feedId: string, items: readonly PushItem[], signal: AbortSignal): Promise<SubmissionAnswer> {
    const r = await this.feeds.result(feedId, items, this.turnaround, signal);
    if (r.pending) return { pending: true, pollInMs: r.pollInMs ?? this.turnaround.ms / 20 };
    if (r.turnaroundMs !== undefined) this.turnaround.observe(r.turnaroundMs);
    const outcomes = (r.outcomes ?? []).map((o) => fromUpdate(o));
    await this.quarantineRefused(items, outcomes);
    return { pending: false, outcomes };
  }

  /**
   * A push interrupted between createFeed and storing its feed id may have left a feed we do not
   * know: settled once no JSON_LISTINGS_FEED created in the window is still queued or running
   * (DONE, CANCELLED and FATAL feeds change nothing any more). Asked again at getFeeds' rate.
   */
  private async awaitUnknownFeeds(window: { since: Date; until: Date }, signal: AbortSignal): Promise<{ settled: true } | { settled: false; pollInMs: number }> {
    const open = await this.feeds.unfinishedFeeds(window.since, window.until, signal);
    if (open.length === 0) return { settled: true };
    return { settled: false, pollInMs: Math.max(1000 / this.sp.bucket('getFeeds').perSecond, this.turnaround.ms / 20) };
  }

  /** Items Amazon refused for good (its error list, a report's ERROR issue) show in the quarantine with the reason. */
  private async quarantineRefused(items: readonly PushItem[], outcomes: readonly PushOutcome[]): Promise<void> {
    const refused = items.flatMap((it, i) => {
      const o = outcomes[i];
      return o && o.ok === false && !o.retryable && o.actual === undefined ? [{ channelRef: it.sku, reason: o.error, payload: { sku: it.sku, quantity: it.quantity } }] : [];
    });
    if (refused.length > 0) await this.ctx.quarantine(refused);
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
      return failure(err);
    }
  }

  async pull(signal: AbortSignal): Promise<PullReport> {
    const r = await this.poller.poll(signal);
    return { ingested: 0, duplicates: 0, quarantined: 0, orders: r.orders, notes: [`orders polled up to ${r.windowEnd} (${r.pages} pages, ${r.ignored} ignored)`] };
  }
}

function failure(err: unknown): PushOutcome & { ok: false } {
  if (err instanceof FeedMaybeCreated) return { ok: false, error: err.message, retryable: true, maybeSubmitted: true };
  if (err instanceof SpApiCallError) return { ok: false, error: err.message, retryable: err.retryable };
  if (err instanceof LwaError) return { ok: false, error: `LWA: ${err.message}`, retryable: err.retryable };
  return { ok: false, error: (err as Error).message, retryable: true };
}

function fromUpdate(o: UpdateOutcome): PushOutcome & { ok: boolean } {
  return o.ok ? { ok: true } : o;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
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
