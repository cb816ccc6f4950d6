// The `pos` kind: store tills post their sales, returns, counts and adjustments as §3 events to
// POST /webhooks/pos/{channelId}, signed `X-Signature: sha256=<hex HMAC-SHA256(raw body, secret)>`
// (contract §8). Inbound only: a till does not show channel figures, so it has no publisher.
//
// Every event goes through ctx.ingest, the path of POST /v1/events, so dedupe is per eventId (a
// till re-sending a batch, or a batch overlapping an earlier one, applies each event once) and
// an offline till's late history lands as of each event's occurredAt (the fold orders by it;
// §6). There is no delivery id: a whole-body dedupe would hide a partly new batch.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ChannelConnector, ChannelKindDefinition, ConnectorContext, QuarantinedItem, WebhookHeaders, WebhookResult } from '../channel-connector.js';
import { parseStockEvent, type StockEvent } from '../../src/core/stock-event.js';

const LOCATION_ID = /^[A-Za-z0-9._-]{1,64}$/;
export const POS_MAX_EVENTS = 1000;

export const posSettingsSchema = z.object({
  secret: z.string().min(16, 'secret must be at least 16 characters').max(256).describe('HMAC-SHA256 key of X-Signature'),
  locationIds: z.array(z.string().regex(LOCATION_ID, 'must be one of our location ids')).min(1).max(1000).optional()
    .describe('the stores whose tills post here; events for other locations are refused (default: any known location)'),
}).strict();

export type PosSettings = z.infer<typeof posSettingsSchema>;

export function signPosBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Types that bring a SKU into the ledger; any other movement needs a SKU the ledger knows. */
const INTRODUCES_SKU = new Set<StockEvent['type']>(['stock.counted', 'stock.received']);

const batchSchema = z.object({ events: z.array(z.unknown()).min(1, 'events must hold at least one event').max(POS_MAX_EVENTS, `at most ${POS_MAX_EVENTS} events`) });

class PosConnector implements ChannelConnector {
  readonly kind = 'pos' as const;
  readonly webhook;

  constructor(private readonly ctx: ConnectorContext<PosSettings>) {
    const secret = ctx.settings.secret;
    this.webhook = {
      refusesMalformed: true,
      verify: (raw: Buffer, headers: WebhookHeaders) => {
        const given = Buffer.from(header(headers, 'x-signature') ?? '');
        const want = Buffer.from(signPosBody(secret, raw));
        return given.length === want.length && timingSafeEqual(given, want);
      },
      deliveryId: () => null,
      handle: (raw: Buffer) => this.handle(raw),
    };
  }

  get channelId(): string {
    return this.ctx.channelId;
  }

  private async handle(raw: Buffer): Promise<WebhookResult> {
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      return { outcome: 'malformed', detail: 'body: not JSON' };
    }
    const batch = batchSchema.safeParse(json);
    if (!batch.success) {
      const i = batch.error.issues[0]!;
      return { outcome: 'malformed', detail: `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}` };
    }
    const rejected: NonNullable<WebhookResult['rejected']> = [];
    const parsed: Array<{ index: number; event: StockEvent }> = [];
    batch.data.events.forEach((e, index) => {
      const r = parseStockEvent(e);
      const id = (e as { eventId?: unknown } | null)?.eventId;
      if (r.ok) parsed.push({ index, event: r.event });
      else rejected.push({ index, eventId: typeof id === 'string' ? id : null, reason: `events.${index}.${r.error}` });
    });
    const allowed = this.ctx.settings.locationIds ? new Set(this.ctx.settings.locationIds) : null;
    const known = await this.ctx.knownSkus(parsed.map((p) => p.event.sku));
    for (const p of parsed) if (INTRODUCES_SKU.has(p.event.type)) known.add(p.event.sku);
    const valid: Array<{ index: number; event: StockEvent }> = [];
    for (const p of parsed) {
      if (allowed && !allowed.has(p.event.locationId)) {
        rejected.push({ index: p.index, eventId: p.event.eventId, reason: `locationId: "${p.event.locationId}" is not one of this channel's locationIds` });
      } else if (!known.has(p.event.sku)) {
        rejected.push({ index: p.index, eventId: p.event.eventId, reason: `sku: unknown SKU "${p.event.sku}" (never counted or received)` });
      } else valid.push(p);
    }
    const res = await this.ctx.ingest(valid.map((v) => v.event));
    for (const rej of res.rejected) {
      const v = valid[rej.index]!;
      rejected.push({ index: v.index, eventId: v.event.eventId, reason: rej.error });
    }
    rejected.sort((a, b) => a.index - b.index);
    if (rejected.length > 0) {
      const items: QuarantinedItem[] = rejected.map((r) => ({ channelRef: r.eventId ?? `event ${r.index}`, reason: r.reason, payload: batch.data.events[r.index] }));
      await this.ctx.quarantine(items);
      this.ctx.reportError({ message: `${rejected.length} POS event(s) refused, first: ${rejected[0]!.reason}`, retryable: false });
    }
    return {
      outcome: rejected.length > 0 ? 'quarantined' : res.accepted > 0 ? 'applied' : 'ignored',
      detail: `${res.accepted} accepted, ${res.duplicates} duplicates, ${rejected.length} rejected`,
      accepted: res.accepted, duplicates: res.duplicates, rejected,
    };
  }
}

export const posKind: ChannelKindDefinition<PosSettings> = {
  kind: 'pos',
  scope: 'network',
  settingsSchema: posSettingsSchema,
  secretFields: ['secret'],
  referencedLocations: (s) => s.locationIds ?? [],
  // Nothing is pushed to a till; the bucket is declared because every kind has one.
  rateLimit: () => ({ ratePerSecond: 1, burst: 1 }),
  create: (ctx) => new PosConnector(ctx),
};
