// A local stand-in of Amazon's Selling Partner API for tests and benchmarks, on 127.0.0.1:
// Login with Amazon (refresh-token grant), Orders v0 (getOrders, getOrderItems), Listings Items
// 2021-08-01 (patchListingsItem, getListingsItem) and Feeds 2021-06-30 (createFeedDocument,
// the upload URL, createFeed, getFeed, getFeedDocument and the processing report) with real
// state. Every SP-API request and answer is checked against the published Swagger models and the
// JSON_LISTINGS_FEED JSON Schemas (spec/): an off-spec request is refused with 400 InvalidInput
// and listed in `violations`, and so is an off-spec feed document; an answer of the stand-in's
// own that breaks the model is listed too (a test asserts the list is empty).
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ValidateFunction } from 'ajv';
import { listFeeds } from './feed-list.js';
import { RateLimits } from './rate-limits.js';
import { describe, newAjv, SPEC_DIR, SwaggerModel, type Operation } from './swagger.js';

export const MODEL_FILES = ['models/ordersV0.json', 'models/listingsItems_2021-08-01.json', 'models/feeds_2021-06-30.json'];
const ORDER_STATUSES = ['Pending', 'Unshipped', 'PartiallyShipped', 'Shipped', 'Canceled', 'Unfulfillable', 'InvoiceUnconfirmed', 'PendingAvailability'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface AmazonStandInOptions {
  sellerId?: string;
  marketplaceId?: string;
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  /** LWA access token lifetime (Amazon: 3600 s). */
  accessTokenTtlSeconds?: number;
  /** Multiplies every bucket's refill (1 = the published rates). */
  rateScale?: number;
  /** getOrders sees only updates older than this (Amazon: two minutes). */
  ordersVisibilityLagMs?: number;
  /** Feed processing: time IN_QUEUE, then IN_PROGRESS, before DONE. */
  feedQueueMs?: number;
  feedProcessingMs?: number;
  /** Processing reports served gzip-compressed (compressionAlgorithm GZIP). */
  gzipReports?: boolean;
  /** Order items per getOrderItems page. */
  orderItemsPageSize?: number;
  /** Wall clock for order and feed dates and token expiry (epoch ms). */
  now?: () => number;
  /** Monotonic clock of the rate buckets, in ms (default performance.now). */
  rateClock?: () => number;
}

export interface StandInOrder {
  AmazonOrderId: string;
  PurchaseDate: string;
  LastUpdateDate: string;
  lastUpdateMs: number;
  OrderStatus: OrderStatus;
  FulfillmentChannel: 'MFN' | 'AFN';
  MarketplaceId: string;
  postalCode: string | null;
  countryCode: string;
  items: Array<{ OrderItemId: string; SellerSKU: string; ASIN: string; QuantityOrdered: number; QuantityShipped: number; Title: string }>;
}

export interface FeedIssue {
  code: string;
  message: string;
  severity?: 'ERROR' | 'WARNING' | 'INFO';
}

interface FeedDoc {
  id: string;
  contentType: string;
  content: Buffer | null;
  compression: 'GZIP' | null;
}

interface Feed {
  feedId: string;
  feedType: string;
  marketplaceIds: string[];
  inputFeedDocumentId: string;
  createdMs: number;
  startMs: number;
  endMs: number;
  status: 'IN_QUEUE' | 'IN_PROGRESS' | 'DONE' | 'FATAL' | 'CANCELLED';
  resultFeedDocumentId: string | null;
}

export interface Call {
  operationId: string;
  status: number;
  at: number;
  /** Feed messages or patched SKUs this call carried (for convergence figures). */
  items?: number;
  /** The SKU of a listings call (patchListingsItem, getListingsItem). */
  sku?: string;
}

const UNAUTHORIZED = { errors: [{ code: 'Unauthorized', message: 'Access to requested resource is denied.', details: 'The access token you provided is revoked, malformed or invalid.' }] };
const QUOTA = { errors: [{ code: 'QuotaExceeded', message: 'You exceeded your quota for the requested resource.', details: '' }] };

export class AmazonStandIn {
  readonly sellerId: string;
  readonly marketplaceId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
  readonly limits: RateLimits;
  /** Requests or feed documents off the models, and answers of ours off them (must stay empty in tests). */
  readonly violations: Array<{ where: string; errors: string[] }> = [];
  readonly calls: Call[] = [];
  /** The SKUs each processed feed carried, by feed id (a SKU in two feeds was sent twice). */
  readonly feedSkus = new Map<string, string[]>();
  /** Every quantity a patch or a feed set, in order (`via`: 'patch' or the feed id), to check that no older figure landed after a newer one. */
  readonly listingWrites: Array<{ sku: string; quantity: number; via: string }> = [];
  /**
   * Fault hook: createFeed creates the feed (it is queued and will be processed) and then waits
   * for this before answering, so a test can kill the caller in the window between Amazon
   * creating a feed and the caller learning its id.
   */
  createFeedHold: ((feedId: string) => Promise<void>) | null = null;
  /** Every item issue a processing report carried. */
  readonly reportedIssues: Array<{ feedId: string; sku: string; code: string }> = [];
  tokenRequests = 0;

  private readonly models: SwaggerModel[];
  private readonly feedSchema: ValidateFunction;
  private readonly reportSchema: ValidateFunction;
  private readonly opts: Required<Omit<AmazonStandInOptions, 'now' | 'rateClock'>>;
  private readonly now: () => number;
  private readonly tokens = new Map<string, number>();
  private readonly orders = new Map<string, StandInOrder>();
  private readonly listings = new Map<string, { quantity: number; productType: string }>();
  private readonly docs = new Map<string, FeedDoc>();
  private readonly feeds = new Map<string, Feed>();
  private readonly feedErrors = new Map<string, Array<FeedIssue & { times: number }>>();
  private readonly patchErrors = new Map<string, Array<FeedIssue & { times: number }>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private server: http.Server | null = null;
  private orderSeq = 0;
  url = '';

  constructor(o: AmazonStandInOptions = {}) {
    this.opts = {
      sellerId: o.sellerId ?? 'A2STANDINSELLER', marketplaceId: o.marketplaceId ?? 'A1PA6795UKMFR9',
      clientId: o.clientId ?? 'amzn1.application-oa2-client.standin', clientSecret: o.clientSecret ?? 'standin-secret',
      refreshToken: o.refreshToken ?? 'Atzr|standin-refresh', accessTokenTtlSeconds: o.accessTokenTtlSeconds ?? 3600,
      rateScale: o.rateScale ?? 1, ordersVisibilityLagMs: o.ordersVisibilityLagMs ?? 120_000,
      feedQueueMs: o.feedQueueMs ?? 500, feedProcessingMs: o.feedProcessingMs ?? 500, gzipReports: o.gzipReports ?? false,
      orderItemsPageSize: o.orderItemsPageSize ?? 100,
    };
    ({ sellerId: this.sellerId, marketplaceId: this.marketplaceId, clientId: this.clientId, clientSecret: this.clientSecret, refreshToken: this.refreshToken } = this.opts);
    this.now = o.now ?? Date.now;
    const ajv = newAjv();
    this.models = MODEL_FILES.map((f) => new SwaggerModel(ajv, f));
    const schema = (f: string) => ajv.compile(JSON.parse(fs.readFileSync(path.join(SPEC_DIR, 'schemas/feeds', f), 'utf8')) as object);
    this.feedSchema = schema('listings-feed-schema-v2.json');
    this.reportSchema = schema('listings-feed-processing-report-schema-v2.json');
    const plans = new Map(this.models.flatMap((m) => m.operations.map((op) => [op.operationId, op.rate] as const)));
    this.limits = new RateLimits(plans, this.opts.rateScale, o.rateClock);
  }

  /** The published rate and burst of an operation. */
  plan(operationId: string): { perSecond: number; burst: number } {
    return this.limits.plan(operationId);
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.violations.push({ where: 'stand-in', errors: [String(err instanceof Error ? err.stack : err)] });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'InternalFailure', message: 'stand-in failure' }] }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${addr.port}`;
    return this;
  }

  /** `settings` of an `amazon` channel on this stand-in: its credentials, URLs and rate scale. */
  channelSettings(fulfilmentLocationIds: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      sellerId: this.sellerId, marketplaceIds: [this.marketplaceId], clientId: this.clientId, clientSecret: this.clientSecret, refreshToken: this.refreshToken,
      fulfilmentLocationIds, endpoint: this.url, lwaUrl: this.lwaUrl, rateScale: this.opts.rateScale, ...extra,
    };
  }

  /** The LWA token endpoint (settings.lwaUrl). */
  get lwaUrl(): string {
    return `${this.url}/auth/o2/token`;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  // ---- control API (what a seller or a buyer does on Amazon) ----

  setListing(sku: string, quantity: number, productType = 'PRODUCT'): void {
    this.listings.set(sku, { quantity, productType });
  }

  listingQuantity(sku: string): number | undefined {
    return this.listings.get(sku)?.quantity;
  }

  createOrder(o: { items: Array<{ sku: string; quantity: number }>; fulfillmentChannel?: 'MFN' | 'AFN'; status?: OrderStatus; postalCode?: string; countryCode?: string; orderId?: string }): StandInOrder {
    const now = this.now();
    this.orderSeq += 1;
    const id = o.orderId ?? `${100 + (this.orderSeq % 900)}-${String(1_000_000 + this.orderSeq).slice(-7)}-${String(this.orderSeq * 7919).padStart(7, '0').slice(-7)}`;
    const order: StandInOrder = {
      AmazonOrderId: id, PurchaseDate: new Date(now).toISOString(), LastUpdateDate: new Date(now).toISOString(), lastUpdateMs: now,
      OrderStatus: o.status ?? 'Unshipped', FulfillmentChannel: o.fulfillmentChannel ?? 'MFN', MarketplaceId: this.marketplaceId,
      postalCode: o.postalCode ?? null, countryCode: o.countryCode ?? 'DE',
      items: o.items.map((it, i) => ({ OrderItemId: `${Date.now() % 1e8}${this.orderSeq}${i}`, SellerSKU: it.sku, ASIN: `B0${String(Math.abs(hash(it.sku))).padStart(8, '0').slice(0, 8)}`, QuantityOrdered: it.quantity, QuantityShipped: 0, Title: it.sku })),
    };
    this.orders.set(id, order);
    // A merchant-fulfilled order takes its units off the offer, as Amazon does when it is placed.
    if (order.FulfillmentChannel === 'MFN' && order.OrderStatus !== 'Canceled') {
      for (const it of order.items) {
        const l = this.listings.get(it.SellerSKU);
        if (l) l.quantity = Math.max(0, l.quantity - it.QuantityOrdered);
      }
    }
    return order;
  }

  updateOrder(orderId: string, status: OrderStatus): StandInOrder {
    const o = this.orders.get(orderId);
    if (!o) throw new Error(`no order ${orderId}`);
    if (status === 'Canceled' && o.OrderStatus !== 'Canceled' && o.FulfillmentChannel === 'MFN') {
      for (const it of o.items) {
        const l = this.listings.get(it.SellerSKU);
        if (l) l.quantity += it.QuantityOrdered - it.QuantityShipped;
      }
    }
    if (status === 'Shipped') for (const it of o.items) it.QuantityShipped = it.QuantityOrdered;
    o.OrderStatus = status;
    const now = Math.max(this.now(), o.lastUpdateMs + 1);
    o.lastUpdateMs = now;
    o.LastUpdateDate = new Date(now).toISOString();
    return o;
  }

  cancelOrder(orderId: string): StandInOrder {
    return this.updateOrder(orderId, 'Canceled');
  }

  shipOrder(orderId: string): StandInOrder {
    return this.updateOrder(orderId, 'Shipped');
  }

  order(orderId: string): StandInOrder | undefined {
    return this.orders.get(orderId);
  }

  /** The next `times` feed messages for this SKU fail with the issue (its quantity is not applied). */
  injectFeedItemError(sku: string, issue: FeedIssue, times = 1): void {
    this.feedErrors.set(sku, [...(this.feedErrors.get(sku) ?? []), { ...issue, times }]);
  }

  /** The next `times` patchListingsItem calls for this SKU answer INVALID with the issue. */
  injectPatchError(sku: string, issue: FeedIssue, times = 1): void {
    this.patchErrors.set(sku, [...(this.patchErrors.get(sku) ?? []), { ...issue, times }]);
  }

  /** A 429 storm: the next `count` calls of these operations (or all) within `forMs` are throttled. */
  storm(opts: { operations?: string[]; count?: number; forMs?: number }): void {
    this.limits.storm(opts);
  }

  /** Invalidates every access token issued so far (as a revoked authorization would). */
  revokeAccessTokens(): void {
    this.tokens.clear();
  }

  /** The SKUs a created feed's document carries (before it is processed). */
  feedInputSkus(feedId: string): string[] {
    const doc = this.docs.get(this.feeds.get(feedId)?.inputFeedDocumentId ?? '');
    if (!doc?.content) return [];
    return (JSON.parse(doc.content.toString('utf8')) as ListingsFeed).messages.map((m) => m.sku);
  }

  /** How long feeds created from now on stay queued and then processing. */
  setFeedTiming(queueMs: number, processingMs: number): void {
    this.opts.feedQueueMs = queueMs;
    this.opts.feedProcessingMs = processingMs;
  }

  feedStatus(feedId: string): Feed['status'] | undefined {
    return this.feeds.get(feedId)?.status;
  }

  // ---- HTTP ----

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const raw = await readBody(req);
    if (url.pathname === '/auth/o2/token' && req.method === 'POST') return this.lwa(req, raw, res);
    const docMatch = /^\/feed-docs\/([\w.-]+)$/.exec(url.pathname);
    if (docMatch) return this.feedDocumentUrl(req, docMatch[1]!, raw, res);

    const matched = this.models.map((m) => ({ m, hit: m.match(req.method ?? 'GET', url.pathname) })).find((x) => x.hit);
    if (!matched?.hit) {
      this.violations.push({ where: `${req.method} ${url.pathname}`, errors: ['no such SP-API operation in the models'] });
      return send(res, 404, { errors: [{ code: 'NotFound', message: 'Resource not found', details: '' }] });
    }
    const { m, hit } = matched;
    const op = hit.op;
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const problems = m.validateResponse(op, status, body);
      if (problems.length) this.violations.push({ where: `response of ${op.operationId}`, errors: problems });
      this.calls.push({ operationId: op.operationId, status, at: performance.now(), items: this.itemsOf(op, status, body, raw), ...(hit.params.sku ? { sku: hit.params.sku } : {}) });
      send(res, status, body, { 'x-amzn-RequestId': randomUUID(), 'x-amzn-RateLimit-Limit': String(this.limits.plan(op.operationId).perSecond), ...headers });
    };
    // Authorisation first, as SP-API answers 403 before looking at the request.
    const token = req.headers['x-amz-access-token'];
    const expires = typeof token === 'string' ? this.tokens.get(token) : undefined;
    if (expires === undefined || expires <= this.now()) return reply(403, UNAUTHORIZED);
    if (!this.limits.take(op.operationId)) return reply(429, QUOTA);

    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return this.invalid(op, reply, ['body: not JSON']);
      }
    }
    const problems = m.validateRequest(op, hit.params, { query: url.searchParams, headers: req.headers, body });
    if (problems.length) return this.invalid(op, reply, problems);
    await this.operate(op, hit.params, url.searchParams, body, reply);
  }

  private invalid(op: Operation, reply: (s: number, b: unknown) => void, errors: string[]): void {
    this.violations.push({ where: `request of ${op.operationId}`, errors });
    reply(400, { errors: errors.map((message) => ({ code: 'InvalidInput', message, details: '' })) });
  }

  private itemsOf(op: Operation, status: number, _body: unknown, raw: Buffer): number | undefined {
    if (status >= 300) return undefined;
    if (op.operationId === 'patchListingsItem') return 1;
    if (op.operationId === 'createFeed') {
      const spec = JSON.parse(raw.toString('utf8')) as { inputFeedDocumentId: string };
      const doc = this.docs.get(spec.inputFeedDocumentId);
      try {
        return (JSON.parse(doc?.content?.toString('utf8') ?? '{}') as { messages?: unknown[] }).messages?.length ?? 0;
      } catch {
        return 0;
      }
    }
    return undefined;
  }

  private lwa(req: http.IncomingMessage, raw: Buffer, res: http.ServerResponse): void {
    this.tokenRequests += 1;
    const form = new URLSearchParams(raw.toString('utf8'));
    const type = String(req.headers['content-type'] ?? '');
    if (!type.startsWith('application/x-www-form-urlencoded')) {
      return send(res, 400, { error: 'invalid_request', error_description: 'The request has an invalid parameter : Content-Type' });
    }
    if (form.get('grant_type') !== 'refresh_token') return send(res, 400, { error: 'unsupported_grant_type', error_description: 'The authorization grant type is not supported by the authorization server' });
    if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret) {
      return send(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    }
    if (form.get('refresh_token') !== this.refreshToken) return send(res, 400, { error: 'invalid_grant', error_description: 'The request has an invalid grant parameter : refresh_token' });
    const access = `Atza|${randomBytes(24).toString('base64url')}`;
    this.tokens.set(access, this.now() + this.opts.accessTokenTtlSeconds * 1000);
    send(res, 200, { access_token: access, refresh_token: this.refreshToken, token_type: 'bearer', expires_in: this.opts.accessTokenTtlSeconds });
  }

  /** The pre-signed URL of a feed document: PUT uploads the feed, GET downloads a report. */
  private feedDocumentUrl(req: http.IncomingMessage, id: string, raw: Buffer, res: http.ServerResponse): void {
    const doc = this.docs.get(id);
    if (!doc) return sendText(res, 404, 'NoSuchKey');
    if (req.method === 'PUT') {
      // The URL is signed for the content type given to createFeedDocument (S3 checks it).
      if (String(req.headers['content-type'] ?? '') !== doc.contentType) {
        this.violations.push({ where: 'feed upload', errors: [`content-type ${String(req.headers['content-type'])} is not the ${doc.contentType} the document was created with`] });
        return sendText(res, 403, 'SignatureDoesNotMatch');
      }
      doc.content = raw;
      return sendText(res, 200, '');
    }
    if (req.method === 'GET') {
      if (!doc.content) return sendText(res, 404, 'NoSuchKey');
      res.writeHead(200, { 'content-type': doc.contentType });
      res.end(doc.content);
      return;
    }
    sendText(res, 405, 'MethodNotAllowed');
  }

  private async operate(op: Operation, params: Record<string, string>, query: URLSearchParams, body: unknown, reply: (s: number, b: unknown) => void): Promise<void> {
    switch (op.operationId) {
      case 'getOrders': return this.getOrders(op, query, reply);
      case 'getOrderItems': return this.getOrderItems(op, params.orderId!, query, reply);
      case 'getOrder': {
        const o = this.orders.get(params.orderId!);
        return o ? reply(200, { payload: this.orderView(o) }) : reply(404, { errors: [{ code: 'InvalidInput', message: `Invalid AmazonOrderId: ${params.orderId}`, details: '' }] });
      }
      case 'patchListingsItem': return this.patchListingsItem(op, params, query, body as PatchBody, reply);
      case 'getListingsItem': return this.getListingsItem(params, query, reply);
      case 'createFeedDocument': {
        const id = `amzn1.tortuga.4.eu.${randomUUID()}`;
        this.docs.set(id, { id, contentType: (body as { contentType: string }).contentType, content: null, compression: null });
        return reply(201, { feedDocumentId: id, url: `${this.url}/feed-docs/${id}` });
      }
      case 'createFeed': return this.createFeed(op, body as { feedType: string; marketplaceIds: string[]; inputFeedDocumentId: string }, reply);
      case 'getFeeds': {
        const r = listFeeds(this.feeds.values(), query, this.now());
        if ('errors' in r) return this.invalid(op, reply, r.errors);
        return reply(200, { feeds: r.page.map((f) => this.feedView(f)), ...(r.nextToken ? { nextToken: r.nextToken } : {}) });
      }
      case 'getFeed': {
        const f = this.feeds.get(params.feedId!);
        if (!f) return reply(404, { errors: [{ code: 'NotFound', message: 'The requested feed was not found.', details: '' }] });
        return reply(200, this.feedView(f));
      }
      case 'getFeedDocument': {
        const d = this.docs.get(params.feedDocumentId!);
        if (!d) return reply(404, { errors: [{ code: 'NotFound', message: 'The requested feed document was not found.', details: '' }] });
        return reply(200, { feedDocumentId: d.id, url: `${this.url}/feed-docs/${d.id}`, ...(d.compression ? { compressionAlgorithm: d.compression } : {}) });
      }
      default:
        return this.invalid(op, reply, [`${op.operationId} is in the model but not served by the stand-in`]);
    }
  }

  private getOrders(op: Operation, query: URLSearchParams, reply: (s: number, b: unknown) => void): void {
    const now = this.now();
    type Filter = { after: number; before: number; statuses: string[] | null; channels: string[] | null; max: number; markets: string[] };
    let filter: Filter;
    let cursor: [number, string] | null = null;
    const nextToken = query.get('NextToken');
    if (nextToken) {
      try {
        const t = JSON.parse(Buffer.from(nextToken, 'base64url').toString('utf8')) as { f: Filter; c: [number, string] };
        filter = t.f;
        cursor = t.c;
      } catch {
        return this.invalid(op, reply, ['query parameter NextToken: Invalid NextToken']);
      }
    } else {
      const errors: string[] = [];
      const lastAfter = query.get('LastUpdatedAfter');
      const createdAfter = query.get('CreatedAfter');
      if (!lastAfter && !createdAfter) errors.push('Either CreatedAfter or LastUpdatedAfter must be specified');
      if (lastAfter && (query.get('CreatedAfter') || query.get('CreatedBefore'))) errors.push('CreatedAfter and CreatedBefore cannot be set when LastUpdatedAfter is set');
      if (createdAfter) errors.push('the stand-in serves LastUpdatedAfter queries only');
      const limit = now - this.opts.ordersVisibilityLagMs;
      const after = Date.parse(lastAfter ?? '');
      if (lastAfter && Number.isNaN(after)) errors.push(`query parameter LastUpdatedAfter: ${lastAfter} is not an ISO 8601 date`);
      const beforeRaw = query.get('LastUpdatedBefore');
      const before = beforeRaw ? Date.parse(beforeRaw) : limit;
      if (beforeRaw && (Number.isNaN(before) || before > limit)) errors.push('LastUpdatedBefore must be at least two minutes before the current time');
      if (before < after) errors.push('LastUpdatedBefore must be equal to or after LastUpdatedAfter');
      const list = (name: string, allowed: readonly string[]) => {
        const v = query.get(name);
        if (!v) return null;
        const values = v.split(',');
        for (const x of values) if (!allowed.includes(x)) errors.push(`query parameter ${name}: ${x} is not one of ${allowed.join(', ')}`);
        return values;
      };
      const statuses = list('OrderStatuses', ORDER_STATUSES);
      const channels = list('FulfillmentChannels', ['MFN', 'AFN']);
      const markets = query.get('MarketplaceIds')!.split(',');
      if (!markets.includes(this.marketplaceId)) errors.push(`MarketplaceIds: ${markets.join(',')} is not a marketplace of this seller`);
      if (errors.length) return this.invalid(op, reply, errors);
      filter = { after, before, statuses, channels, max: Number(query.get('MaxResultsPerPage') ?? 100), markets };
      if (filter.max < 1 || filter.max > 100) return this.invalid(op, reply, ['query parameter MaxResultsPerPage: must be 1 - 100']);
    }
    // Ordered by last update, then id: a page boundary is a position in that order, so an order
    // updated while the pages are read moves past the window's end, into the next poll.
    const matches = [...this.orders.values()]
      .filter((o) => o.lastUpdateMs >= filter.after && o.lastUpdateMs <= filter.before
        && (!filter.statuses || filter.statuses.includes(o.OrderStatus)) && (!filter.channels || filter.channels.includes(o.FulfillmentChannel)))
      .sort((a, b) => a.lastUpdateMs - b.lastUpdateMs || a.AmazonOrderId.localeCompare(b.AmazonOrderId))
      .filter((o) => !cursor || o.lastUpdateMs > cursor[0] || (o.lastUpdateMs === cursor[0] && o.AmazonOrderId > cursor[1]));
    const page = matches.slice(0, filter.max);
    const last = page[page.length - 1];
    const more = matches.length > page.length && last;
    reply(200, {
      payload: {
        Orders: page.map((o) => this.orderView(o)),
        LastUpdatedBefore: new Date(filter.before).toISOString(),
        ...(more ? { NextToken: Buffer.from(JSON.stringify({ f: filter, c: [last.lastUpdateMs, last.AmazonOrderId] })).toString('base64url') } : {}),
      },
    });
  }

  private orderView(o: StandInOrder): Record<string, unknown> {
    const shipped = o.items.reduce((n, i) => n + i.QuantityShipped, 0);
    const ordered = o.items.reduce((n, i) => n + i.QuantityOrdered, 0);
    return {
      AmazonOrderId: o.AmazonOrderId, PurchaseDate: o.PurchaseDate, LastUpdateDate: o.LastUpdateDate, OrderStatus: o.OrderStatus,
      FulfillmentChannel: o.FulfillmentChannel, SalesChannel: 'Amazon.de', MarketplaceId: o.MarketplaceId, OrderType: 'StandardOrder',
      NumberOfItemsShipped: shipped, NumberOfItemsUnshipped: o.OrderStatus === 'Canceled' ? 0 : ordered - shipped,
      IsBusinessOrder: false, IsPrime: false, IsPremiumOrder: false, IsGlobalExpressEnabled: false, IsReplacementOrder: false, IsSoldByAB: false, IsISPU: false,
      ...(o.postalCode ? { ShippingAddress: { Name: '', PostalCode: o.postalCode, CountryCode: o.countryCode } } : {}),
    };
  }

  private getOrderItems(op: Operation, orderId: string, query: URLSearchParams, reply: (s: number, b: unknown) => void): void {
    const o = this.orders.get(orderId);
    if (!o) return reply(404, { errors: [{ code: 'InvalidInput', message: `Invalid AmazonOrderId: ${orderId}`, details: '' }] });
    const token = query.get('NextToken');
    const start = token ? Number(Buffer.from(token, 'base64url').toString('utf8')) : 0;
    if (!Number.isInteger(start) || start < 0 || start > o.items.length) return this.invalid(op, reply, ['query parameter NextToken: Invalid NextToken']);
    const end = start + this.opts.orderItemsPageSize;
    reply(200, {
      payload: {
        AmazonOrderId: o.AmazonOrderId,
        OrderItems: o.items.slice(start, end).map((i) => ({ ...i })),
        ...(end < o.items.length ? { NextToken: Buffer.from(String(end)).toString('base64url') } : {}),
      },
    });
  }

  private takeInjected(map: Map<string, Array<FeedIssue & { times: number }>>, sku: string): FeedIssue | null {
    const list = map.get(sku);
    const first = list?.[0];
    if (!list || !first) return null;
    first.times -= 1;
    if (first.times <= 0) list.shift();
    if (list.length === 0) map.delete(sku);
    return first;
  }

  private patchListingsItem(op: Operation, params: Record<string, string>, query: URLSearchParams, body: PatchBody, reply: (s: number, b: unknown) => void): void {
    const sku = params.sku!;
    if (params.sellerId !== this.sellerId) return reply(403, UNAUTHORIZED);
    if (!query.get('marketplaceIds')!.split(',').includes(this.marketplaceId)) return this.invalid(op, reply, ['query parameter marketplaceIds: not a marketplace of this seller']);
    const submission = randomUUID().replace(/-/g, '');
    const issue = (i: FeedIssue) => ({ code: i.code, message: i.message, severity: i.severity ?? 'ERROR', attributeNames: ['fulfillment_availability'], categories: ['INVALID_ATTRIBUTE'] });
    const listing = this.listings.get(sku);
    if (!listing) return reply(200, { sku, status: 'INVALID', submissionId: submission, issues: [issue({ code: '4000001', message: `The SKU '${sku}' does not match any listing of this seller` })] });
    const injected = this.takeInjected(this.patchErrors, sku);
    if (injected) return reply(200, { sku, status: 'INVALID', submissionId: submission, issues: [issue(injected)] });
    const quantity = fulfilmentQuantity(body.patches);
    if (quantity.error) return reply(200, { sku, status: 'INVALID', submissionId: submission, issues: [issue({ code: '90244', message: quantity.error })] });
    if (query.get('mode') !== 'VALIDATION_PREVIEW' && quantity.value !== null) {
      listing.quantity = quantity.value;
      this.listingWrites.push({ sku: params.sku!, quantity: quantity.value, via: 'patch' });
    }
    reply(200, { sku, status: query.get('mode') === 'VALIDATION_PREVIEW' ? 'VALID' : 'ACCEPTED', submissionId: submission, issues: [] });
  }

  private getListingsItem(params: Record<string, string>, query: URLSearchParams, reply: (s: number, b: unknown) => void): void {
    if (params.sellerId !== this.sellerId) return reply(403, UNAUTHORIZED);
    const listing = this.listings.get(params.sku!);
    if (!listing) return reply(404, { errors: [{ code: 'NOT_FOUND', message: `SKU '${params.sku}' not found in marketplace ${this.marketplaceId}`, details: '' }] });
    const included = (query.get('includedData') ?? 'summaries').split(',');
    reply(200, {
      sku: params.sku,
      ...(included.includes('fulfillmentAvailability') ? { fulfillmentAvailability: [{ fulfillmentChannelCode: 'DEFAULT', quantity: listing.quantity }] } : {}),
    });
  }

  private async createFeed(op: Operation, spec: { feedType: string; marketplaceIds: string[]; inputFeedDocumentId: string }, reply: (s: number, b: unknown) => void): Promise<void> {
    if (spec.feedType !== 'JSON_LISTINGS_FEED') return this.invalid(op, reply, [`feedType ${spec.feedType}: the stand-in processes JSON_LISTINGS_FEED only`]);
    const doc = this.docs.get(spec.inputFeedDocumentId);
    if (!doc || !doc.content) return this.invalid(op, reply, [`inputFeedDocumentId ${spec.inputFeedDocumentId}: no uploaded document`]);
    const feedId = String(50_000_000_000 + this.feeds.size + 1);
    const created = this.now();
    const f: Feed = { feedId, feedType: spec.feedType, marketplaceIds: spec.marketplaceIds, inputFeedDocumentId: doc.id, createdMs: created, startMs: created + this.opts.feedQueueMs, endMs: created + this.opts.feedQueueMs + this.opts.feedProcessingMs, status: 'IN_QUEUE', resultFeedDocumentId: null };
    this.feeds.set(feedId, f);
    const later = (ms: number, fn: () => void) => {
      const t = setTimeout(() => { this.timers.delete(t); fn(); }, ms);
      t.unref();
      this.timers.add(t);
    };
    later(this.opts.feedQueueMs, () => { if (f.status === 'IN_QUEUE') f.status = 'IN_PROGRESS'; });
    later(this.opts.feedQueueMs + this.opts.feedProcessingMs, () => this.processFeed(f, doc));
    if (this.createFeedHold) await this.createFeedHold(feedId);
    reply(202, { feedId });
  }

  /** Applies a feed's messages and writes its processing report (validated against the report schema). */
  private processFeed(f: Feed, doc: FeedDoc): void {
    const issues: Array<Record<string, unknown>> = [];
    let accepted = 0;
    let invalid = 0;
    let processed = 0;
    let fatal = false;
    let feed: ListingsFeed | null = null;
    try {
      feed = JSON.parse(doc.content!.toString('utf8')) as ListingsFeed;
    } catch {
      fatal = true;
      issues.push({ code: '100001', severity: 'ERROR', message: 'The feed document is not valid JSON.' });
    }
    const schemaOk: boolean = feed === null || this.feedSchema(feed as unknown);
    if (!schemaOk) {
      fatal = true;
      const problems = describe('JSON_LISTINGS_FEED', this.feedSchema);
      this.violations.push({ where: `feed ${f.feedId}`, errors: problems });
      for (const p of problems) issues.push({ code: '100002', severity: 'ERROR', message: p });
    }
    if (!fatal && feed) {
      this.feedSkus.set(f.feedId, feed.messages.map((m) => m.sku));
      for (const m of feed.messages) {
        processed += 1;
        const problem = (i: FeedIssue) => {
          invalid += 1;
          issues.push({ messageId: m.messageId, sku: m.sku, code: i.code, severity: i.severity ?? 'ERROR', message: i.message, attributeName: 'fulfillment_availability' });
          this.reportedIssues.push({ feedId: f.feedId, sku: m.sku, code: i.code });
        };
        const listing = this.listings.get(m.sku);
        if (!listing) { problem({ code: '4000001', message: `The SKU '${m.sku}' does not match any listing of this seller` }); continue; }
        const injected = this.takeInjected(this.feedErrors, m.sku);
        if (injected) { problem(injected); continue; }
        const q = m.operationType === 'PATCH' ? fulfilmentQuantity(m.patches ?? [])
          : m.operationType === 'PARTIAL_UPDATE' ? fulfilmentQuantity([{ op: 'replace', path: '/attributes/fulfillment_availability', value: m.attributes?.fulfillment_availability as unknown[] }])
          : { value: null, error: `operationType ${m.operationType} is not handled by the stand-in` };
        if (q.error) { problem({ code: '90244', message: q.error }); continue; }
        if (q.value !== null) {
          listing.quantity = q.value;
          this.listingWrites.push({ sku: m.sku, quantity: q.value, via: f.feedId });
        }
        accepted += 1;
      }
    }
    const report = {
      header: { sellerId: this.sellerId, version: '2.0', feedId: f.feedId },
      issues,
      summary: { errors: issues.filter((i) => i.severity === 'ERROR').length, warnings: issues.filter((i) => i.severity === 'WARNING').length, messagesProcessed: processed, messagesAccepted: accepted, messagesInvalid: invalid },
    };
    const reportOk: boolean = this.reportSchema(report as unknown);
    if (!reportOk) this.violations.push({ where: `report of feed ${f.feedId}`, errors: describe('processing report', this.reportSchema) });
    const id = `amzn1.tortuga.4.eu.${randomUUID()}`;
    const json = Buffer.from(JSON.stringify(report));
    this.docs.set(id, { id, contentType: 'application/json', content: this.opts.gzipReports ? gzipSync(json) : json, compression: this.opts.gzipReports ? 'GZIP' : null });
    f.resultFeedDocumentId = id;
    f.status = fatal ? 'FATAL' : 'DONE';
  }

  private feedView(f: Feed): Record<string, unknown> {
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      feedId: f.feedId, feedType: f.feedType, marketplaceIds: f.marketplaceIds, createdTime: iso(f.createdMs), processingStatus: f.status,
      ...(f.status !== 'IN_QUEUE' ? { processingStartTime: iso(f.startMs) } : {}),
      ...(f.status === 'DONE' || f.status === 'FATAL' ? { processingEndTime: iso(f.endMs), resultFeedDocumentId: f.resultFeedDocumentId } : {}),
    };
  }
}

interface ListingsFeed {
  messages: Array<{ messageId: number; sku: string; operationType: string; productType?: string; patches?: PatchBody['patches']; attributes?: Record<string, unknown> }>;
}

interface PatchBody {
  productType: string;
  patches: Array<{ op: string; path: string; value?: unknown[] }>;
}

/** The quantity a set of patches gives fulfillment_availability (DEFAULT channel), or why it cannot. */
function fulfilmentQuantity(patches: PatchBody['patches']): { value: number | null; error?: string } {
  let value: number | null = null;
  for (const p of patches) {
    if (p.path !== '/attributes/fulfillment_availability') continue;
    if (p.op === 'delete') return { value: null, error: 'fulfillment_availability cannot be deleted by this stand-in' };
    const entry = (p.value ?? []).find((v) => (v as { fulfillment_channel_code?: string }).fulfillment_channel_code === 'DEFAULT') as { quantity?: unknown } | undefined;
    if (!entry) return { value: null, error: "'fulfillment_availability' needs an entry with fulfillment_channel_code DEFAULT" };
    if (typeof entry.quantity !== 'number' || !Number.isInteger(entry.quantity) || entry.quantity < 0) {
      return { value: null, error: `The value '${String(entry.quantity)}' for 'fulfillment_availability.quantity' must be a whole number of 0 or more.` };
    }
    value = entry.quantity;
  }
  return { value };
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return h;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(text);
}
