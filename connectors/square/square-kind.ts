// The `square` kind (contract §8): Square tills and the Square dashboard as a channel.
// - Push: what each Square location may sell as PHYSICAL_COUNT changes (BatchChangeInventory,
//   at most 100 per call), one idempotency_key per call derived from the items' keys, each change
//   with reference_id `omnistock:…` so that reading it back is known as our echo.
// - Inbound: inventory.count.updated webhooks (signed over notificationUrl + raw body, deduped by
//   event_id by the engine) only say that counts moved; the movements behind them are read with
//   BatchRetrieveInventoryChanges from a durable cursor and mapped by square-changes.ts (a till
//   sale is a stock.sold as of its occurred_at, a dashboard count a stock.counted, a "1.5" for a
//   unit item is quarantined, never rounded). The scheduled pull does the same.
// - Read-back: BatchRetrieveInventoryCounts with cursor paging, IN_STOCK only.
// Square has no compare-and-set: `expected` is checked against a read just before the write.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type {
  ChannelConnector, ChannelKindDefinition, ConnectorContext, PullReport, PushItem, PushOutcome, StockPublisher, WebhookHeaders, WebhookReceiver, WebhookResult,
} from '../channel-connector.js';
import { SquareApiError, SquareClient } from './square-client.js';
import { eventsFromChanges, OUR_REFERENCE_PREFIX } from './square-changes.js';
import { squareQuantity, wholeUnits } from './square-quantity.js';
import { verifySquareSignature } from './square-signature.js';
import { readTypedWebhook } from '../webhook-body.js';

const LOCATION_ID = /^[A-Za-z0-9._-]{1,64}$/;
export const SQUARE_MAX_CHANGES = 100;
/** Re-read this much before the cursor: a change recorded in the same instant as the last one read is not missed (ids dedupe the re-read). */
const CURSOR_OVERLAP_MS = 5_000;

export const squareSettingsSchema = z.object({
  accessToken: z.string().min(1).max(512),
  signatureKey: z.string().min(1).max(512).describe('the webhook subscription\'s signature key'),
  notificationUrl: z.url({ protocol: /^https?$/ }).describe('the URL Square posts to, byte for byte (it is signed)'),
  locationMap: z.record(z.string().min(1).max(64), z.string().regex(LOCATION_ID, 'must be one of our location ids'))
    .refine((m) => Object.keys(m).length > 0, 'locationMap needs at least one Square location'),
  apiUrl: z.url({ protocol: /^https?$/ }).optional(),
}).strict();

export type SquareSettings = z.infer<typeof squareSettingsSchema>;

const webhookSchema = z.object({
  type: z.literal('inventory.count.updated'),
  event_id: z.string().min(1),
  data: z.object({ object: z.object({ inventory_counts: z.array(z.object({ catalog_object_id: z.string(), location_id: z.string(), state: z.string(), quantity: z.string() })).min(1) }) }),
});

function header(headers: WebhookHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

class SquareConnector implements ChannelConnector {
  readonly kind = 'square' as const;
  readonly publisher: StockPublisher;
  readonly webhook: WebhookReceiver;
  private readonly api: SquareClient;
  private catalogue: { bySku: Map<string, string>; skuOf: Map<string, string>; at: number } | null = null;
  private syncing: Promise<{ ingested: number; duplicates: number; quarantined: number }> = Promise.resolve({ ingested: 0, duplicates: 0, quarantined: 0 });

  constructor(private readonly ctx: ConnectorContext<SquareSettings>) {
    const s = ctx.settings;
    this.api = new SquareClient(s.accessToken, s.apiUrl);
    this.publisher = {
      maxItemsPerCall: SQUARE_MAX_CHANGES,
      // A write, and a read of the counts before it when any item carries an expected figure.
      cost: () => 2,
      push: (items, signal) => this.push(items, signal),
      readBack: (keys, signal) => this.readBack(keys, signal),
    };
    this.webhook = {
      verify: (raw, headers) => verifySquareSignature(s.signatureKey, s.notificationUrl, raw, header(headers, 'x-square-hmacsha256-signature')),
      deliveryId: (raw) => {
        try {
          const id = (JSON.parse(raw.toString('utf8')) as { event_id?: unknown }).event_id;
          return typeof id === 'string' && id.length > 0 ? id.slice(0, 200) : null;
        } catch {
          return null;
        }
      },
      handle: (raw) => this.handle(raw),
    };
  }

  get channelId(): string {
    return this.ctx.channelId;
  }

  async start(): Promise<void> {
    // A new channel starts reading Square's changes from now: its earlier history is not ours.
    if ((await this.ctx.state.get('changes.after')) === null) await this.ctx.state.set('changes.after', new Date().toISOString());
  }

  /** SKU ↔ variation id; refreshed when older than `maxAgeMs`. Duplicate SKUs are quarantined, not guessed. */
  private async catalogueOf(signal: AbortSignal, maxAgeMs = 60_000) {
    if (this.catalogue && Date.now() - this.catalogue.at < maxAgeMs) return this.catalogue;
    const vars = await this.api.variations(signal);
    const bySku = new Map<string, string>();
    const dup = new Set<string>();
    for (const v of vars) {
      if (!v.sku) continue;
      if (bySku.has(v.sku)) dup.add(v.sku);
      else bySku.set(v.sku, v.id);
    }
    if (dup.size > 0) {
      const known = this.catalogue?.bySku;
      const fresh = [...dup].filter((d) => !known || known.has(d));
      for (const d of dup) bySku.delete(d);
      if (fresh.length) await this.ctx.quarantine(fresh.map((d) => ({ channelRef: d, reason: `SKU "${d}" is on more than one Square item variation`, payload: vars.filter((v) => v.sku === d) })));
    }
    this.catalogue = { bySku, skuOf: new Map([...bySku].map(([sku, id]) => [id, sku])), at: Date.now() };
    return this.catalogue;
  }

  private async push(items: readonly PushItem[], signal: AbortSignal): Promise<{ outcomes: PushOutcome[]; retryAfterMs?: number }> {
    try {
      let cat = await this.catalogueOf(signal);
      if (items.some((i) => !cat.bySku.has(i.sku))) cat = await this.catalogueOf(signal, 5_000);
      const outcomes: Array<PushOutcome | null> = items.map((i) => {
        if (!cat.bySku.has(i.sku)) return { ok: false, error: `no Square item variation has SKU "${i.sku}"`, retryable: false, notListed: true };
        if (i.channelLocation === null || !(i.channelLocation in this.ctx.settings.locationMap)) return { ok: false, error: `location ${String(i.channelLocation)} is not in locationMap`, retryable: false };
        return null;
      });
      // Square has no compare-and-set: check `expected` against the counts right before writing.
      const checked = items.map((i, n) => ({ i, n })).filter(({ i, n }) => outcomes[n] === null && i.expected !== null);
      if (checked.length > 0) {
        const shown = await this.shownNow(checked.map(({ i }) => i), cat.bySku, signal);
        checked.forEach(({ i, n }, k) => {
          const actual = shown[k]!;
          if (actual !== i.expected) outcomes[n] = { ok: false, error: `Square shows ${actual}, not ${i.expected}`, retryable: true, actual };
        });
      }
      const send = items.map((i, n) => ({ i, n })).filter(({ n }) => outcomes[n] === null);
      if (send.length === 0) return { outcomes: outcomes as PushOutcome[] };
      const at = new Date().toISOString();
      const body = {
        idempotency_key: `omnistock-${sha(send.map(({ i }) => i.idempotencyKey).join('\n')).slice(0, 40)}`,
        ignore_unchanged_counts: true,
        changes: send.map(({ i }) => ({
          type: 'PHYSICAL_COUNT',
          physical_count: {
            reference_id: `${OUR_REFERENCE_PREFIX}${sha(i.idempotencyKey).slice(0, 32)}`,
            catalog_object_id: cat.bySku.get(i.sku)!, location_id: i.channelLocation!, state: 'IN_STOCK', quantity: squareQuantity(i.quantity), occurred_at: at,
          },
        })),
      };
      try {
        await this.api.call('POST', '/v2/inventory/changes/batch-create', body, signal);
        for (const { n } of send) outcomes[n] = { ok: true };
      } catch (err) {
        if (!(err instanceof SquareApiError)) throw err;
        // All or nothing: the items Square named are refused; the others are resent.
        const named = new Map<number, string>();
        for (const e of err.errors) {
          const m = /^changes\[(\d+)\]/.exec(e.field ?? '');
          if (m) named.set(Number(m[1]), `${e.code ?? 'error'}: ${e.detail ?? ''}`);
        }
        send.forEach(({ n }, k) => {
          const own = named.get(k);
          outcomes[n] = own !== undefined
            ? { ok: false, error: own, retryable: false, ...(own.startsWith('NOT_FOUND') && /catalog_object_id/.test(err.errors.find((e) => e.field?.startsWith(`changes[${k}]`))?.field ?? '') ? { notListed: true } : {}) }
            : { ok: false, error: named.size > 0 ? 'resent: another change in the call was refused' : err.message, retryable: err.retryable || named.size > 0 };
        });
        if (err.status === 429) return { outcomes: outcomes as PushOutcome[], retryAfterMs: 1_000 };
      }
      return { outcomes: outcomes as PushOutcome[] };
    } catch (err) {
      const retryable = err instanceof SquareApiError ? err.retryable : true;
      const error = (err as Error).message;
      return { outcomes: items.map((): PushOutcome => ({ ok: false, error, retryable })), ...(err instanceof SquareApiError && err.status === 429 ? { retryAfterMs: 1_000 } : {}) };
    }
  }

  /** IN_STOCK per item now (0 when Square has no count yet). A fraction is reported, not rounded. */
  private async shownNow(keys: ReadonlyArray<{ sku: string; channelLocation: string | null }>, bySku: Map<string, string>, signal: AbortSignal): Promise<number[]> {
    const ids = [...new Set(keys.map((k) => bySku.get(k.sku)).filter((x): x is string => Boolean(x)))];
    const locs = [...new Set(keys.map((k) => k.channelLocation).filter((x): x is string => x !== null))];
    const counts = ids.length && locs.length ? await this.api.counts({ catalogObjectIds: ids, locationIds: locs, states: ['IN_STOCK'] }, signal) : [];
    const q = new Map(counts.map((c) => [`${c.catalog_object_id}|${c.location_id}`, c.quantity]));
    return keys.map((k) => {
      const raw = q.get(`${bySku.get(k.sku)}|${k.channelLocation}`) ?? '0';
      const units = wholeUnits(raw);
      if (units.ok) return units.units;
      this.ctx.reportError({ sku: k.sku, message: `Square shows ${raw} at ${k.channelLocation}: ${units.error}`, retryable: false });
      return Number(raw);
    });
  }

  private async readBack(keys: ReadonlyArray<{ sku: string; channelLocation: string | null }>, signal: AbortSignal): Promise<Array<number | null>> {
    const cat = await this.catalogueOf(signal);
    const shown = await this.shownNow(keys, cat.bySku, signal);
    return keys.map((k, i) => (cat.bySku.has(k.sku) && k.channelLocation !== null && k.channelLocation in this.ctx.settings.locationMap ? shown[i]! : null));
  }

  private async handle(raw: Buffer): Promise<WebhookResult> {
    const read = readTypedWebhook(raw, (t) => t === 'inventory.count.updated', webhookSchema);
    if (!read.ok) return read.result;
    // The counts only say that something moved; the movements themselves carry their ids and times.
    const r = await this.syncChanges(AbortSignal.timeout(30_000));
    return { outcome: r.quarantined > 0 ? 'quarantined' : r.ingested > 0 ? 'applied' : 'ignored', detail: `${r.ingested} applied, ${r.duplicates} duplicates, ${r.quarantined} quarantined` };
  }

  /** Reads the changes after the durable cursor, one reader at a time; the cursor moves only after they are ingested. */
  private syncChanges(signal: AbortSignal): Promise<{ ingested: number; duplicates: number; quarantined: number }> {
    const run = this.syncing.catch(() => undefined).then(async () => {
      const after = (await this.ctx.state.get('changes.after')) ?? new Date().toISOString();
      const from = new Date(Date.parse(after) - CURSOR_OVERLAP_MS).toISOString();
      const changes = await this.api.changes({ locationIds: Object.keys(this.ctx.settings.locationMap), updatedAfter: from }, signal);
      if (changes.length === 0) return { ingested: 0, duplicates: 0, quarantined: 0 };
      let cat = await this.catalogueOf(signal);
      const unknownIds = changes.some((c) => {
        const id = (c.physical_count ?? c.adjustment)?.catalog_object_id;
        return id !== undefined && !cat.skuOf.has(id);
      });
      if (unknownIds) cat = await this.catalogueOf(signal, 5_000);
      const mapped = eventsFromChanges(changes, { channelId: this.ctx.channelId, locationMap: this.ctx.settings.locationMap, skuOf: (id) => cat.skuOf.get(id) });
      const res = await this.ctx.ingest(mapped.events);
      const bad = [...mapped.quarantined, ...res.rejected.map((x) => ({ channelRef: mapped.events[x.index]?.eventId ?? '?', reason: x.error, payload: mapped.events[x.index] }))];
      // A re-read (overlap, a redelivered webhook) quarantines the same change again: only new ids.
      const fresh = [];
      for (const b of bad) {
        const k = `quarantined:${b.channelRef}`;
        if ((await this.ctx.state.get(k)) === null) {
          fresh.push(b);
          await this.ctx.state.set(k, '1');
        }
      }
      if (fresh.length > 0) await this.ctx.quarantine(fresh);
      const newest = changes.map((c) => (c.physical_count ?? c.adjustment) as { created_at?: string } | undefined).map((p) => p?.created_at ?? '').filter(Boolean).sort().pop();
      if (newest && newest > after) await this.ctx.state.set('changes.after', newest);
      return { ingested: res.accepted, duplicates: res.duplicates, quarantined: fresh.length };
    });
    this.syncing = run;
    return run;
  }

  async pull(signal: AbortSignal): Promise<PullReport> {
    await this.catalogueOf(signal, 0);
    const r = await this.syncChanges(signal);
    return { ingested: r.ingested, duplicates: r.duplicates, quarantined: r.quarantined, orders: 0, notes: [`catalogue: ${this.catalogue?.bySku.size ?? 0} variations with a SKU`] };
  }
}

export const squareKind: ChannelKindDefinition<SquareSettings> = {
  kind: 'square',
  scope: 'per-location',
  settingsSchema: squareSettingsSchema,
  secretFields: ['accessToken', 'signatureKey'],
  referencedLocations: (s) => Object.values(s.locationMap),
  channelLocations: (s) => Object.entries(s.locationMap).map(([channelLocation, locationId]) => ({ channelLocation, locationId })),
  // Square publishes no fixed figure; it answers 429 RATE_LIMITED when pressed. 10 calls/s keeps
  // well inside what it allows an application per seller, and 429 backs off further.
  rateLimit: () => ({ ratePerSecond: 10, burst: 20 }),
  create: (ctx) => new SquareConnector(ctx),
};
