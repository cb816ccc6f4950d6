// A stand-in for a `custom` channel (connectors/README.md, "The custom kind"): an HTTP server on
// 127.0.0.1 that keeps real per-item quantities, checks signatures, enforces compare-and-set
// (`expected`), remembers idempotency keys, limits its own rate (429 + Retry-After), lists only
// the SKUs it is told to (others answer notListed), and can fail on demand. It can also send
// signed webhooks to the service.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandinOptions {
  secret: string;
  /** Only these SKUs are listed; undefined: every SKU is. */
  listed?: Set<string>;
  /** The stand-in's own bucket in points (1 per call + `itemCost` per item). */
  ratePerSecond?: number;
  burst?: number;
  itemCost?: number;
  callCost?: number;
}

export interface PushRecord {
  at: number;
  sku: string;
  location: string | null;
  quantity: number;
}

const sign = (secret: string, body: string | Buffer) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const key = (sku: string, location: string | null) => `${sku}|${location ?? ''}`;

export class CustomChannelStandin {
  readonly quantities = new Map<string, number>();
  readonly pushes: PushRecord[] = [];
  /** Calls answered (any status), and those refused with 429. */
  calls = 0;
  throttled = 0;
  staleAnswers = 0;
  badSignatures = 0;
  /** The next N push calls answer 500. */
  failNext = 0;
  /** Push calls get no answer at all while set (a hung channel). */
  hang = false;
  /** Push calls received (answered or not), with when. */
  readonly callTimes: number[] = [];
  /** Called for each accepted item (the sync-lag benchmark stops its clock here). */
  onAck: ((r: PushRecord) => void) | null = null;
  private readonly seenKeys = new Map<string, unknown>();
  private server: http.Server | null = null;
  private tokens: number;
  private tokensAt = Date.now();
  url = '';

  constructor(readonly o: StandinOptions) {
    this.tokens = o.burst ?? Number.POSITIVE_INFINITY;
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(body));
        };
        if (req.headers['x-signature'] !== sign(this.o.secret, raw)) {
          this.badSignatures += 1;
          return answer(401, { error: 'bad signature' });
        }
        try {
          this.route(req.method ?? 'GET', req.url ?? '/', raw, answer);
        } catch (err) {
          answer(500, { error: (err as Error).message });
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  show(sku: string, location: string | null): number | undefined {
    return this.quantities.get(key(sku, location));
  }

  /** The merchant (or a bug) changes the figure on the channel's side. */
  setShown(sku: string, location: string | null, q: number): void {
    this.quantities.set(key(sku, location), q);
  }

  private takeTokens(cost: number): number {
    const rate = this.o.ratePerSecond;
    if (!rate) return 0;
    const now = Date.now();
    this.tokens = Math.min(this.o.burst ?? rate, this.tokens + ((now - this.tokensAt) / 1000) * rate);
    this.tokensAt = now;
    if (this.tokens >= cost) {
      this.tokens -= cost;
      return 0;
    }
    return Math.ceil((cost - this.tokens) / rate);
  }

  private route(method: string, url: string, raw: Buffer, answer: (s: number, b: unknown, h?: Record<string, string>) => void): void {
    this.calls += 1;
    if (method === 'POST' && url === '/quantities') {
      this.callTimes.push(Date.now());
      if (this.hang) return;
      if (this.failNext > 0) {
        this.failNext -= 1;
        return answer(500, { error: 'injected failure' });
      }
      const body = JSON.parse(raw.toString('utf8')) as { items: Array<{ sku: string; location: string | null; quantity: number; expected: number | null; idempotencyKey: string }> };
      const wait = this.takeTokens((this.o.callCost ?? 1) + (this.o.itemCost ?? 0) * body.items.length);
      if (wait > 0) {
        this.throttled += 1;
        return answer(429, { error: 'throttled' }, { 'retry-after': String(wait) });
      }
      const now = Date.now();
      const results = body.items.map((i) => {
        const seen = this.seenKeys.get(i.idempotencyKey);
        if (seen !== undefined) return seen;
        let r: unknown;
        const k = key(i.sku, i.location);
        const current = this.quantities.get(k);
        if (this.o.listed && !this.o.listed.has(i.sku)) {
          r = { ok: false, error: 'not listed', notListed: true };
        } else if (i.expected !== null && current !== undefined && current !== i.expected) {
          this.staleAnswers += 1;
          r = { ok: false, error: 'expected is stale', retryable: true, actual: current };
        } else {
          this.quantities.set(k, i.quantity);
          const rec = { at: now, sku: i.sku, location: i.location, quantity: i.quantity };
          this.pushes.push(rec);
          this.onAck?.(rec);
          r = { ok: true };
        }
        this.seenKeys.set(i.idempotencyKey, r);
        return r;
      });
      return answer(200, { results });
    }
    if (method === 'POST' && url === '/quantities/read') {
      const body = JSON.parse(raw.toString('utf8')) as { keys: Array<{ sku: string; location: string | null }> };
      return answer(200, { quantities: body.keys.map((k) => this.quantities.get(key(k.sku, k.location)) ?? null) });
    }
    if (method === 'GET' && url.startsWith('/events')) return answer(200, { events: this.pendingEvents.splice(0), cursor: String(++this.cursor) });
    return answer(404, { error: 'no such route' });
  }

  /** Events the next pull (GET /events) returns. */
  readonly pendingEvents: unknown[] = [];
  private cursor = 0;

  /** Sends a signed webhook to the service; answers the HTTP status and body. */
  static async sendWebhook(url: string, secret: string, body: unknown, opts: { deliveryId?: string; badSignature?: boolean; raw?: string } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const text = opts.raw ?? JSON.stringify(body);
    const res = await fetch(url, {
      method: 'POST', body: text,
      headers: {
        'content-type': 'application/json',
        'x-signature': opts.badSignature ? sign('not-the-secret-at-all', text) : sign(secret, text),
        ...(opts.deliveryId ? { 'x-delivery-id': opts.deliveryId } : {}),
      },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
}
