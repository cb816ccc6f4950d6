// The `custom` kind: a channel of the merchant's own (a storefront, an ERP) that speaks a small
// signed JSON protocol (connectors/README.md, "The custom kind"). It is a real connector, used
// in production for home-grown channels, and the engine's tests run the contract suite on it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type {
  ChannelConnector, ChannelKindDefinition, ConnectorContext, PullReport, PushItem, PushOutcome, StockPublisher, WebhookHeaders, WebhookReceiver,
} from '../channel-connector.js';
import { parseStockEvent } from '../../src/core/stock-event.js';
import { readTypedWebhook } from '../webhook-body.js';

const LOCATION_ID = /^[A-Za-z0-9._-]{1,64}$/;

export const customSettingsSchema = z.object({
  endpoint: z.url({ protocol: /^https?$/, message: 'endpoint must be an http(s) URL' }).describe('base URL of the channel\'s API'),
  secret: z.string().min(16, 'secret must be at least 16 characters').max(256).describe('HMAC-SHA256 key for requests both ways'),
  locationMap: z.record(z.string().min(1).max(256), z.string().regex(LOCATION_ID, 'must be one of our location ids')).optional()
    .describe('channel location → ours; with it the channel gets one figure per location, without it one figure for the pool'),
  maxItemsPerCall: z.number().int().min(1).max(1000).default(100),
  ratePerSecond: z.number().positive().max(100_000).default(10).describe('points restored per second'),
  burst: z.number().positive().max(1_000_000).default(40).describe('bucket size in points'),
  callCost: z.number().min(0).max(10_000).default(1).describe('points per push call'),
  itemCost: z.number().min(0).max(10_000).default(0).describe('points per item in a call'),
}).strict();

export type CustomSettings = z.infer<typeof customSettingsSchema>;

export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const orderSchema = z.object({
  orderRef: z.string().min(1).max(256),
  method: z.enum(['ship', 'pickup']),
  pickupLocationId: z.string().optional(),
  destination: z.object({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }).optional(),
  /** Where this order may be fulfilled from (our location ids); default: the channel's pool. */
  locationIds: z.array(z.string().min(1)).min(1).optional(),
  lines: z.array(z.object({ sku: z.string().min(1), quantity: z.number().int().min(1), lineRef: z.string().min(1) })).min(1).max(500),
  occurredAt: z.iso.datetime({ offset: true }),
});
const at = z.iso.datetime({ offset: true });
const webhookSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('events'), events: z.array(z.unknown()).min(1).max(1000) }),
  z.object({ type: z.literal('order.placed'), order: orderSchema }),
  z.object({ type: z.literal('order.cancelled'), orderRef: z.string().min(1), occurredAt: at }),
  z.object({ type: z.literal('order.fulfilled'), orderRef: z.string().min(1), occurredAt: at }),
  z.object({
    type: z.literal('order.restocked'), orderRef: z.string().min(1), refundRef: z.string().min(1), occurredAt: at,
    lines: z.array(z.object({ sku: z.string(), location: z.string(), quantity: z.number().int().min(1) })).min(1),
  }),
  z.object({ type: z.literal('inventory.changed'), id: z.string().min(1).max(100), sku: z.string(), location: z.string().nullable(), available: z.number().int(), occurredAt: at }),
]);
const KNOWN_TYPES = new Set(['events', 'order.placed', 'order.cancelled', 'order.fulfilled', 'order.restocked', 'inventory.changed']);

class CustomConnector implements ChannelConnector {
  readonly kind = 'custom' as const;
  readonly publisher: StockPublisher;
  readonly webhook: WebhookReceiver;

  constructor(private readonly ctx: ConnectorContext<CustomSettings>) {
    const s = ctx.settings;
    const base = s.endpoint.replace(/\/+$/, '');
    const post = async (path: string, body: unknown, signal: AbortSignal, extra: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      return fetch(`${base}${path}`, { method: 'POST', body: text, signal, headers: { 'content-type': 'application/json', 'x-signature': signBody(s.secret, text), ...extra } });
    };
    this.publisher = {
      maxItemsPerCall: s.maxItemsPerCall,
      cost: (n) => s.callCost + s.itemCost * n,
      async push(items: readonly PushItem[], signal: AbortSignal) {
        const res = await post('/quantities', { items: items.map((i) => ({ sku: i.sku, location: i.channelLocation, quantity: i.quantity, expected: i.expected, idempotencyKey: i.idempotencyKey })) }, signal, {
          'idempotency-key': items.map((i) => i.idempotencyKey).join(',').slice(0, 200),
        });
        if (res.status === 429 || res.status >= 500) {
          const retryAfter = Number(res.headers.get('retry-after'));
          await res.body?.cancel();
          const error = `channel answered ${res.status}`;
          return { outcomes: items.map((): PushOutcome => ({ ok: false, error, retryable: true })), ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : res.status === 429 ? { retryAfterMs: 1000 } : {}) };
        }
        if (!res.ok) {
          const error = `channel answered ${res.status}: ${(await res.text()).slice(0, 200)}`;
          return { outcomes: items.map((): PushOutcome => ({ ok: false, error, retryable: false })) };
        }
        const body = (await res.json()) as { results?: unknown[] };
        const results = Array.isArray(body.results) ? body.results : [];
        return {
          outcomes: items.map((_, i): PushOutcome => {
            const r = results[i] as { ok?: boolean; error?: string; retryable?: boolean; actual?: number; notListed?: boolean } | undefined;
            if (r?.ok === true) return { ok: true };
            return {
              ok: false, error: r?.error ?? 'no result for this item', retryable: r ? r.retryable === true : true,
              ...(typeof r?.actual === 'number' ? { actual: r.actual } : {}), ...(r?.notListed ? { notListed: true } : {}),
            };
          }),
        };
      },
      async readBack(keys, signal) {
        const res = await post('/quantities/read', { keys: keys.map((k) => ({ sku: k.sku, location: k.channelLocation })) }, signal);
        if (!res.ok) throw new Error(`channel answered ${res.status} to a read`);
        const body = (await res.json()) as { quantities?: Array<number | null> };
        return keys.map((_, i) => (typeof body.quantities?.[i] === 'number' ? body.quantities[i] : null));
      },
    };
    this.webhook = {
      verify: (raw, headers) => {
        const given = Buffer.from(header(headers, 'x-signature') ?? '');
        const want = Buffer.from(signBody(s.secret, raw));
        return given.length === want.length && timingSafeEqual(given, want);
      },
      deliveryId: (_raw, headers) => header(headers, 'x-delivery-id') ?? null,
      handle: (raw) => this.handle(raw),
    };
  }

  get channelId(): string {
    return this.ctx.channelId;
  }

  private ours(location: string | null): string | null {
    if (location === null) return null;
    return this.ctx.settings.locationMap?.[location] ?? null;
  }

  private async handle(raw: Buffer): Promise<{ outcome: 'applied' | 'ignored' | 'quarantined' | 'unknown-topic' | 'malformed'; detail?: string }> {
    const read = readTypedWebhook(raw, (t) => KNOWN_TYPES.has(t), webhookSchema);
    if (!read.ok) return read.result;
    const m = read.body;
    const ctx = this.ctx;
    switch (m.type) {
      case 'events': {
        const valid = [];
        const bad = [];
        for (const e of m.events) {
          const r = parseStockEvent(e);
          if (r.ok) valid.push(r.event);
          else bad.push({ channelRef: String((e as { eventId?: unknown })?.eventId ?? '?'), reason: r.error, payload: e });
        }
        const res = await ctx.ingest(valid);
        for (const rej of res.rejected) bad.push({ channelRef: valid[rej.index]?.eventId ?? '?', reason: rej.error, payload: valid[rej.index] });
        if (bad.length > 0) await ctx.quarantine(bad);
        return { outcome: bad.length > 0 ? 'quarantined' : 'applied', detail: `${res.accepted} accepted, ${res.duplicates} duplicates, ${bad.length} quarantined` };
      }
      case 'order.placed': {
        const r = await ctx.orders.placed({
          orderRef: m.order.orderRef, method: m.order.method, lines: m.order.lines, occurredAt: m.order.occurredAt,
          ...(m.order.pickupLocationId ? { pickupLocationId: m.order.pickupLocationId } : {}),
          ...(m.order.destination ? { destination: m.order.destination } : {}),
          ...(m.order.locationIds ? { locationIds: m.order.locationIds } : {}),
        });
        return { outcome: r.state === 'unfulfillable' ? 'quarantined' : r.duplicate ? 'ignored' : 'applied', detail: r.state };
      }
      case 'order.cancelled': {
        const r = await ctx.orders.cancelled(m.orderRef, m.occurredAt);
        return { outcome: r.duplicate ? 'ignored' : 'applied', detail: r.state };
      }
      case 'order.fulfilled': {
        const r = await ctx.orders.fulfilled(m.orderRef, m.occurredAt);
        return { outcome: r.duplicate ? 'ignored' : 'applied', detail: r.state };
      }
      case 'order.restocked': {
        const lines = [];
        for (const l of m.lines) {
          const loc = this.ours(l.location) ?? (ctx.pool.includes(l.location) ? l.location : null);
          if (!loc) {
            await ctx.quarantine([{ channelRef: `${m.orderRef}/${m.refundRef}`, reason: `unmapped location "${l.location}"`, payload: m }]);
            return { outcome: 'quarantined', detail: `unmapped location "${l.location}"` };
          }
          lines.push({ sku: l.sku, locationId: loc, quantity: l.quantity });
        }
        const r = await ctx.orders.restocked(m.orderRef, m.refundRef, lines, m.occurredAt);
        return { outcome: r.detail && !r.duplicate ? 'quarantined' : r.duplicate ? 'ignored' : 'applied' };
      }
      case 'inventory.changed': {
        // Our own push echoed back is not an edit; anything else is the merchant's, applied as
        // a delta against what we had published (never a blind overwrite of the ledger).
        const loc = m.location === null ? null : this.ours(m.location);
        if (m.location !== null && loc === null) {
          await ctx.quarantine([{ channelRef: m.location, reason: `location "${m.location}" is not in locationMap`, payload: m }]);
          return { outcome: 'quarantined', detail: 'unmapped location' };
        }
        const published = await ctx.lastPublished(m.sku, m.location);
        if (published === null || published === m.available) return { outcome: 'ignored', detail: published === null ? 'never published' : 'echo of our push' };
        const target = loc ?? ctx.pool[0];
        if (!target) return { outcome: 'ignored', detail: 'no location to adjust' };
        const res = await ctx.ingest([{
          eventId: `ch:${ctx.channelId}:edit:${m.id}`, type: 'stock.adjusted', sku: m.sku, locationId: target,
          delta: m.available - published, reason: 'edited on the channel', occurredAt: m.occurredAt, source: `channel:${ctx.channelId}`,
        }]);
        if (res.rejected.length > 0) {
          await ctx.quarantine([{ channelRef: m.sku, reason: res.rejected[0]!.error, payload: m }]);
          return { outcome: 'quarantined', detail: res.rejected[0]!.error };
        }
        return { outcome: 'applied', detail: `adjusted by ${m.available - published}` };
      }
    }
  }

  async pull(signal: AbortSignal): Promise<PullReport> {
    const ctx = this.ctx;
    const cursor = await ctx.state.get('events.cursor');
    const url = `${ctx.settings.endpoint.replace(/\/+$/, '')}/events${cursor ? `?after=${encodeURIComponent(cursor)}` : ''}`;
    const res = await fetch(url, { signal, headers: { 'x-signature': signBody(ctx.settings.secret, '') } });
    if (!res.ok) throw new Error(`channel answered ${res.status} to a pull`);
    const body = (await res.json()) as { events?: unknown[]; cursor?: string };
    const events = [];
    const bad = [];
    for (const e of body.events ?? []) {
      const r = parseStockEvent(e);
      if (r.ok) events.push(r.event);
      else bad.push({ channelRef: String((e as { eventId?: unknown })?.eventId ?? '?'), reason: r.error, payload: e });
    }
    const r = await ctx.ingest(events);
    for (const rej of r.rejected) bad.push({ channelRef: events[rej.index]?.eventId ?? '?', reason: rej.error, payload: events[rej.index] });
    if (bad.length > 0) await ctx.quarantine(bad);
    if (typeof body.cursor === 'string') await ctx.state.set('events.cursor', body.cursor);
    return { ingested: r.accepted, duplicates: r.duplicates, quarantined: bad.length, orders: 0 };
  }
}

export const customKind: ChannelKindDefinition<CustomSettings> = {
  kind: 'custom',
  scope: 'network',
  scopeFor: (s) => (s.locationMap && Object.keys(s.locationMap).length > 0 ? 'per-location' : 'network'),
  settingsSchema: customSettingsSchema,
  secretFields: ['secret'],
  referencedLocations: (s) => Object.values(s.locationMap ?? {}),
  channelLocations: (s) => Object.entries(s.locationMap ?? {}).map(([channelLocation, locationId]) => ({ channelLocation, locationId })),
  rateLimit: (s) => ({ ratePerSecond: s.ratePerSecond, burst: s.burst }),
  create: (ctx) => new CustomConnector(ctx),
};
