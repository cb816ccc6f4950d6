// A stand-in for one Shopify shop, for tests and the demo: the GraphQL Admin API at
// /admin/api/{version}/graphql.json (validated against Shopify's published schema, cost bucket,
// THROTTLED, injectable 5xx), bulk operation results at /bulk/{id}.jsonl, and signed webhooks to
// a configured URL. Listens on 127.0.0.1 only. The methods below are what a merchant, a
// customer or a fault would do to the shop.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdminGraphql } from './admin-graphql.js';
import { CostBucket } from './query-cost.js';
import { gid, InventoryState, parseGid, type LevelChange, type QuantityName } from './inventory-state.js';
import { shopifyAdminSchema } from './schema.js';
import { WebhookSender } from './webhook-sender.js';
import { fulfillmentPayload, levelPayload, orderPayload, refundPayload } from './webhook-payloads.js';

export interface StandInOptions {
  shop?: string;
  accessToken?: string;
  apiSecret?: string;
  /** Cost bucket (Shopify standard plan: 2,000 points, 100 restored per second). */
  bucketSize?: number;
  restoreRate?: number;
  bulkDelayMs?: number;
}

export class ShopifyStandIn {
  readonly shop: string;
  readonly accessToken: string;
  readonly apiSecret: string;
  readonly state = new InventoryState();
  readonly bucket: CostBucket;
  readonly webhooks = new WebhookSender();
  readonly graphql: AdminGraphql;
  private server: http.Server | null = null;
  private port = 0;
  private failures: number[] = [];
  private down = false;
  /** Requests that reached the endpoint (after auth), counted per answer status. */
  requests = 0;

  constructor(opts: StandInOptions = {}) {
    this.shop = opts.shop ?? 'omnistock-demo.myshopify.com';
    this.accessToken = opts.accessToken ?? 'shpat_standin_token';
    this.apiSecret = opts.apiSecret ?? 'standin-api-secret';
    this.bucket = new CostBucket(opts.bucketSize ?? 2000, opts.restoreRate ?? 100);
    this.graphql = new AdminGraphql({
      schema: shopifyAdminSchema(), state: this.state, bucket: this.bucket, bulkDelayMs: opts.bulkDelayMs ?? 50,
      baseUrl: () => this.adminUrl, onLevelChanges: (c) => this.announce(c),
    });
  }

  /** Base URL for the connector's `adminUrl` setting. */
  get adminUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<this> {
    this.server = http.createServer((req, res) => void this.route(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.webhooks.target = null;
    await this.webhooks.flush();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => { s.closeAllConnections(); s.close(() => resolve()); });
  }

  /** Where webhooks go (the service's POST /webhooks/shopify/{channelId}). */
  deliverWebhooksTo(url: string, apiVersion = '2026-04'): void {
    this.webhooks.target = { url, secret: this.apiSecret, shopDomain: this.shop, apiVersion };
  }

  // ---- the shop ----
  addLocation(name: string): string {
    return gid('Location', this.state.addLocation(name).id);
  }

  /** A product with one variant and its inventory item, stocked at the given locations (gid → available). */
  addProduct(sku: string | null, stock: Record<string, number>): { inventoryItemId: string; variantId: string } {
    const item = this.state.addVariant(sku);
    for (const [loc, qty] of Object.entries(stock)) this.state.stock(item.id, this.loc(loc), qty);
    return { inventoryItemId: gid('InventoryItem', item.id), variantId: gid('ProductVariant', item.variantId) };
  }

  quantity(sku: string, locationGid: string, name: QuantityName = 'available'): number | null {
    const item = this.state.itemBySku(sku);
    const level = item && this.state.level(item.id, this.loc(locationGid));
    return level ? this.state.quantity(level, name) : null;
  }

  /** A customer's order: Shopify commits the units at `locationGid` (available drops) and sends orders/create. */
  placeOrder(o: { lines: Array<{ sku: string; quantity: number }>; locationId: string; pickup?: boolean; shippingAddress?: { latitude: number; longitude: number } }): number {
    const { order, changes } = this.state.placeOrder({
      locationId: this.loc(o.locationId), pickup: o.pickup, shippingAddress: o.shippingAddress ?? null,
      lines: o.lines.map((l) => ({ itemId: this.item(l.sku), quantity: l.quantity })),
    });
    this.webhooks.emit('orders/create', orderPayload(this.state, order));
    this.announce(changes);
    return order.id;
  }

  cancelOrder(orderId: number): void {
    const { order, changes } = this.state.cancelOrder(orderId);
    this.webhooks.emit('orders/cancelled', orderPayload(this.state, order));
    this.announce(changes);
  }

  fulfil(orderId: number): void {
    const { order, shipped } = this.state.fulfil(orderId);
    this.webhooks.emit('fulfillments/create', fulfillmentPayload(this.state, order, this.state.id(), shipped));
  }

  /** A refund whose units go back on the shelf (restock_type "return") at the order's location or `locationId`. */
  refundWithRestock(orderId: number, lines: Array<{ sku: string; quantity: number }>, locationId?: string): void {
    const order = this.state.orders.get(orderId);
    if (!order) throw new Error(`no order ${orderId}`);
    const wanted = lines.map((l) => {
      const line = order.lines.find((x) => x.itemId === this.item(l.sku));
      if (!line) throw new Error(`order ${orderId} has no ${l.sku}`);
      return { lineId: line.id, quantity: l.quantity };
    });
    const r = this.state.refundReturn(orderId, wanted, locationId ? this.loc(locationId) : undefined);
    this.webhooks.emit('refunds/create', refundPayload(this.state, r.order, r.refundId, r.refundLines));
    this.announce(r.changes);
  }

  /** The merchant edits `available` in the Shopify admin: on_hand follows, inventory_levels/update is sent. */
  merchantSetAvailable(sku: string, locationGid: string, available: number): void {
    const level = this.state.level(this.item(sku), this.loc(locationGid));
    if (!level) throw new Error(`${sku} is not stocked at ${locationGid}`);
    const c = this.state.setAvailable(level, available);
    if (c) this.announce([c]);
  }

  /**
   * Changes `available` without any webhook, as an order Shopify never told us about would
   * (the units move to or from `committed`, on_hand stays): what the drift job must catch.
   */
  injectDrift(sku: string, locationGid: string, available: number): void {
    const level = this.state.level(this.item(sku), this.loc(locationGid));
    if (!level) throw new Error(`${sku} is not stocked at ${locationGid}`);
    const delta = available - level.q.available;
    level.q.available = available;
    level.q.committed = Math.max(0, level.q.committed - delta);
    this.state.touched(level);
  }

  /** Sends a raw webhook (for bad-input tests); `hmac` overrides the signature. */
  async sendRawWebhook(topic: string, body: string, opts: { hmac?: string; webhookId?: string } = {}): Promise<number> {
    const t = this.webhooks.target;
    if (!t) throw new Error('deliverWebhooksTo first');
    const { webhookHeaders } = await import('./webhook-sender.js');
    const d = { webhookId: opts.webhookId ?? crypto.randomUUID(), eventId: crypto.randomUUID(), topic, body, triggeredAt: new Date().toISOString() };
    const res = await fetch(t.url, { method: 'POST', headers: webhookHeaders(d, t, opts.hmac), body });
    await res.arrayBuffer();
    return res.status;
  }

  // ---- faults and limits ----
  setRestoreRate(pointsPerSecond: number): void {
    this.bucket.configure({ restoreRate: pointsPerSecond });
  }

  setBucketSize(points: number): void {
    this.bucket.configure({ maximumAvailable: points });
  }

  /** The next `n` requests to the GraphQL endpoint answer `status` (5xx) without doing anything. */
  failNext(n: number, status = 503): void {
    for (let i = 0; i < n; i++) this.failures.push(status);
  }

  /** While down, every GraphQL request answers 503. */
  setDown(down: boolean): void {
    this.down = down;
  }

  private announce(changes: LevelChange[]): void {
    for (const c of changes) this.webhooks.emit('inventory_levels/update', levelPayload(c));
  }

  private loc(locationGid: string): number {
    const id = parseGid(locationGid, 'Location');
    if (id === null || !this.state.locations.has(id)) throw new Error(`unknown location ${locationGid}`);
    return id;
  }

  private item(sku: string): number {
    const item = this.state.itemBySku(sku);
    if (!item) throw new Error(`unknown sku ${sku}`);
    return item.id;
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'x-request-id': crypto.randomUUID() });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const bulk = /^\/bulk\/(\d+)\.jsonl$/.exec(url.pathname);
    if (req.method === 'GET' && bulk) {
      const op = this.graphql.bulkOps.get(Number(bulk[1]));
      return op?.jsonl != null ? send(200, op.jsonl, 'application/jsonl') : send(404, { errors: 'Not Found' });
    }
    const m = /^\/admin\/api\/(\d{4}-\d{2}|unstable)\/graphql\.json$/.exec(url.pathname);
    if (!m) return send(404, { errors: 'Not Found' });
    if (req.method !== 'POST') return send(405, { errors: 'Method Not Allowed' });
    if (req.headers['x-shopify-access-token'] !== this.accessToken) {
      return send(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
    }
    this.requests++;
    const failure = this.down ? 503 : this.failures.shift();
    if (failure !== undefined) return send(failure, { errors: 'Service Unavailable' });
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(400, { errors: { query: 'Required parameter missing or invalid' } });
    }
    const answer = this.graphql.handle(body, m[1]!);
    send(answer.status, answer.body);
  }
}
