// A JSON_LISTINGS_FEED from submission to per-SKU outcomes, over the Feeds API 2021-06-30:
// createFeedDocument, upload to its pre-signed URL, createFeed; later getFeed until the feed is
// DONE, FATAL or CANCELLED, then getFeedDocument and the processing report. Nothing here is
// kept in memory between submit and result: the engine stores the feed id on its outbox rows
// and hands the items back, so a restarted process reads the same report instead of resending.
import { gunzipSync } from 'node:zlib';
import { buildListingsFeed, outcomesFromReport, type ProcessingReport, type QuantityUpdate, type UpdateOutcome } from './listings-feed.js';
import { SpApiCallError, type SpApiClient } from './sp-api-client.js';

const FEEDS = '/feeds/2021-06-30';
/** The pre-signed upload URL is signed for exactly this content type. */
const CONTENT_TYPE = 'application/json; charset=UTF-8';
/** Our clock (the database's) against Amazon's: a feed's createdTime may differ by this much. */
const CLOCK_MARGIN_MS = 120_000;

/** createFeed failed without a refusal (timeout, 5xx, network): Amazon may hold a feed we have no id for. */
export class FeedMaybeCreated extends Error {
  constructor(cause: unknown) {
    super(`createFeed did not answer: ${(cause as Error).message}`, { cause });
    this.name = 'FeedMaybeCreated';
  }
}

export interface FeedResult {
  pending: boolean;
  /** Pending: when to ask again (ms). */
  pollInMs?: number;
  /** Done: one per update, in order. */
  outcomes?: UpdateOutcome[];
  /** Done: the feed's createFeed-to-end time, for the turnaround estimate. */
  turnaroundMs?: number;
}

export interface ListingsFeedClientOptions {
  sp: SpApiClient;
  sellerId: string;
  marketplaceIds: readonly string[];
  fetch?: typeof fetch;
  now?: () => number;
}

/** How long feeds take from createFeed to done, from the last few seen (an exponential average). */
export class TurnaroundEstimate {
  constructor(public ms: number) {}

  observe(ms: number): void {
    if (Number.isFinite(ms) && ms > 0) this.ms = Math.round(this.ms * 0.5 + ms * 0.5);
  }
}

export class ListingsFeedClient {
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly o: ListingsFeedClientOptions) {
    this.fetch = o.fetch ?? globalThis.fetch;
    this.now = o.now ?? Date.now;
  }

  /** Uploads one feed for `updates` (in message order) and creates it; answers the feed id. */
  async submit(updates: readonly QuantityUpdate[], signal: AbortSignal): Promise<string> {
    const doc = await this.o.sp.call<{ feedDocumentId: string; url: string }>('createFeedDocument', 'POST', `${FEEDS}/documents`, { body: { contentType: CONTENT_TYPE }, signal });
    const upload = await this.fetch(doc.url, { method: 'PUT', headers: { 'content-type': CONTENT_TYPE }, body: JSON.stringify(buildListingsFeed(this.o.sellerId, updates)), signal });
    if (!upload.ok) throw new Error(`feed upload answered ${upload.status}: ${(await upload.text()).slice(0, 200)}`);
    try {
      const feed = await this.o.sp.call<{ feedId: string }>('createFeed', 'POST', `${FEEDS}/feeds`, {
        body: { feedType: 'JSON_LISTINGS_FEED', marketplaceIds: [...this.o.marketplaceIds], inputFeedDocumentId: doc.feedDocumentId }, signal,
      });
      return feed.feedId;
    } catch (err) {
      // A 4xx is Amazon refusing the feed: nothing was created.
      if (err instanceof SpApiCallError && err.status >= 400 && err.status < 500) throw err;
      throw new FeedMaybeCreated(err);
    }
  }

  /**
   * How many JSON_LISTINGS_FEEDs created between `since` and `until` (our clock, widened by the
   * clock margin) are not finished (IN_QUEUE or IN_PROGRESS), counting only up to the first page
   * that has one: getFeeds filtered by type, marketplace, status and creation time, paged with
   * nextToken (sent alone, as the model demands). Paced by getFeeds' own plan (0.0222/s, burst 10).
   */
  async unfinishedFeeds(since: Date, until: Date, signal: AbortSignal): Promise<Array<{ feedId: string; createdTime: string }>> {
    const untilMs = until.getTime() + CLOCK_MARGIN_MS;
    let query: Record<string, string | string[]> = {
      feedTypes: ['JSON_LISTINGS_FEED'], marketplaceIds: [...this.o.marketplaceIds], processingStatuses: ['IN_QUEUE', 'IN_PROGRESS'], pageSize: '100',
      createdSince: new Date(since.getTime() - CLOCK_MARGIN_MS).toISOString(),
      // createdUntil defaults to now; a time still ahead is left to that default.
      ...(untilMs < this.now() ? { createdUntil: new Date(untilMs).toISOString() } : {}),
    };
    for (;;) {
      const page = await this.o.sp.call<{ feeds: Array<{ feedId: string; processingStatus: string; createdTime: string }>; nextToken?: string }>('getFeeds', 'GET', `${FEEDS}/feeds`, { query, signal });
      const open = page.feeds.filter((f) => f.processingStatus === 'IN_QUEUE' || f.processingStatus === 'IN_PROGRESS');
      if (open.length > 0 || !page.nextToken) return open.map((f) => ({ feedId: f.feedId, createdTime: f.createdTime }));
      query = { nextToken: page.nextToken };
    }
  }

  /**
   * Where the feed is. Pending answers when to look again: not before the estimate says it
   * should be done, then every twentieth of the estimate (at least getFeed's own rate).
   */
  async result(feedId: string, updates: readonly QuantityUpdate[], estimate: TurnaroundEstimate, signal: AbortSignal): Promise<FeedResult> {
    let feed: { processingStatus: string; createdTime: string; processingEndTime?: string; resultFeedDocumentId?: string };
    try {
      feed = await this.o.sp.call('getFeed', 'GET', `${FEEDS}/feeds/${encodeURIComponent(feedId)}`, { signal });
    } catch (err) {
      // A feed Amazon no longer knows was never applied as far as we can tell: send the figures again.
      if (err instanceof SpApiCallError && err.status === 404) return { pending: false, outcomes: updates.map(() => ({ ok: false, error: `feed ${feedId} not found`, retryable: true })) };
      throw err;
    }
    const created = Date.parse(feed.createdTime);
    if (feed.processingStatus === 'IN_QUEUE' || feed.processingStatus === 'IN_PROGRESS') {
      const due = created + estimate.ms - this.now();
      const minimum = 1000 / this.o.sp.bucket('getFeed').perSecond;
      return { pending: true, pollInMs: Math.max(minimum, due > 0 ? due : estimate.ms / 20) };
    }
    if (feed.processingStatus === 'CANCELLED') return { pending: false, outcomes: updates.map(() => ({ ok: false, error: `feed ${feedId} was cancelled`, retryable: true })) };
    const turnaroundMs = feed.processingEndTime ? Date.parse(feed.processingEndTime) - created : undefined;
    const fatal = feed.processingStatus === 'FATAL';
    if (!feed.resultFeedDocumentId) {
      const why = fatal ? 'ended FATAL without a processing report' : `is ${feed.processingStatus} without a processing report`;
      return { pending: false, outcomes: updates.map(() => ({ ok: false, error: `feed ${feedId} ${why}`, retryable: !fatal })), ...(turnaroundMs !== undefined ? { turnaroundMs } : {}) };
    }
    const report = await this.report(feed.resultFeedDocumentId, signal);
    return { pending: false, outcomes: outcomesFromReport(updates, report, fatal), ...(turnaroundMs !== undefined ? { turnaroundMs } : {}) };
  }

  private async report(documentId: string, signal: AbortSignal): Promise<ProcessingReport> {
    const doc = await this.o.sp.call<{ url: string; compressionAlgorithm?: string }>('getFeedDocument', 'GET', `${FEEDS}/documents/${encodeURIComponent(documentId)}`, { signal });
    const res = await this.fetch(doc.url, { signal });
    if (!res.ok) throw new Error(`processing report download answered ${res.status}`);
    const raw = Buffer.from(await res.arrayBuffer());
    return JSON.parse((doc.compressionAlgorithm === 'GZIP' ? gunzipSync(raw) : raw).toString('utf8')) as ProcessingReport;
  }
}
