// The Shopify connector: pull (locations, then inventory levels per mapped location, paged or
// as a bulk operation, matched to our SKUs), webhooks (shopify-webhooks.ts), and the publisher
// (inventorySetQuantities with changeFromQuantity and @idempotent, readBack for drift).
import type {
  ChannelConnector, ConnectorContext, PullReport, PushItem, PushOutcome, StockPublisher, QuarantinedItem,
} from '../channel-connector.js';
import { ShopifyAdminClient, ShopifyApiError, sleep } from './admin-client.js';
import { Catalogue, numOf } from './catalogue.js';
import { classifyLevelChange, type LevelFigures, type LevelVerdict } from './edit-detection.js';
import { LevelBook, type LevelRecord } from './level-book.js';
import {
  BULK_LEVELS, CURRENT_BULK, figuresOf, ITEM_SKU, ITEMS_BY_SKU, LEVELS_BY_ID, LOCATION_LEVELS, LOCATIONS, RUN_BULK, type QuantityNode,
} from './queries.js';
import {
  callIdempotencyKey, MAX_QUANTITIES_PER_CALL, SET_QUANTITIES, setQuantitiesInput, userErrorPosition, type PlannedQuantity, type UserError,
} from './push-batch.js';
import type { ShopifySettings } from './shopify-settings.js';
import { ShopifyWebhooks } from './shopify-webhooks.js';
import { itemGid, locationGid } from './webhook-payloads.js';

/** inventorySetQuantities' requested cost with our selection (10 for the mutation + the selection), whatever the batch size. */
export const PUSH_CALL_COST = 15;

const levelGid = (locNum: number, itemNum: number) => `gid://shopify/InventoryLevel/${locNum}?inventory_item_id=${itemNum}`;

export interface PulledLevel { itemNum: number; sku: string | null; locNum: number; figures: LevelFigures }

export class ShopifyConnector implements ChannelConnector {
  readonly kind = 'shopify' as const;
  readonly channelId: string;
  readonly client: ShopifyAdminClient;
  readonly catalogue: Catalogue;
  readonly levels: LevelBook;
  readonly publisher: StockPublisher;
  readonly webhook: ShopifyWebhooks;
  private readonly quarantinedRefs = new Set<string>();

  constructor(readonly ctx: ConnectorContext<ShopifySettings>) {
    this.channelId = ctx.channelId;
    this.client = new ShopifyAdminClient(ctx.settings, ctx.channelId);
    this.catalogue = new Catalogue(ctx.state);
    this.levels = new LevelBook(ctx.state);
    this.webhook = new ShopifyWebhooks(this);
    this.publisher = {
      maxItemsPerCall: MAX_QUANTITIES_PER_CALL,
      cost: () => PUSH_CALL_COST,
      push: (items, signal) => this.push(items, signal),
      readBack: (keys, signal) => this.readBack(keys, signal),
    };
  }

  async start(): Promise<void> {
    await this.catalogue.load();
  }

  async stop(): Promise<void> {
    this.client.close();
  }

  /** Our location for a Shopify location number (undefined: not in locationMap). */
  ourLocation(locNum: number): string | undefined {
    return this.ctx.settings.locationMap[locationGid(locNum)];
  }

  async quarantineOnce(items: QuarantinedItem[]): Promise<void> {
    const fresh = items.filter((i) => !this.quarantinedRefs.has(`${i.channelRef}|${i.reason}`));
    if (fresh.length === 0) return;
    await this.ctx.quarantine(fresh);
    for (const i of fresh) this.quarantinedRefs.add(`${i.channelRef}|${i.reason}`);
  }

  // ---- pull ----
  async pull(signal: AbortSignal): Promise<PullReport> {
    const notes: string[] = [];
    const locs = await this.client.read<{ locations: { nodes: Array<{ id: string; name: string; isActive: boolean }> } }>(LOCATIONS, {}, signal);
    const known = new Map(locs.locations.nodes.map((l) => [l.id, l]));
    const mapped: number[] = [];
    for (const [gidValue, ours] of Object.entries(this.ctx.settings.locationMap)) {
      const l = known.get(gidValue);
      if (!l || !l.isActive) this.ctx.reportError({ message: `Shopify location ${gidValue} (mapped to ${ours}) ${l ? 'is inactive' : 'does not exist in the shop'}`, retryable: false });
      else mapped.push(numOf(gidValue));
    }
    const useBulk = this.catalogue.size * Math.max(1, mapped.length) >= this.ctx.settings.bulkFrom;
    const levels = useBulk ? await this.bulkLevels(mapped, signal) : await this.pagedLevels(mapped, signal);
    notes.push(`${levels.length} inventory levels read at ${mapped.length} locations (${useBulk ? 'bulk operation' : 'paged'})`);

    const items = new Map<number, string | null>();
    for (const l of levels) items.set(l.itemNum, l.sku);
    const { matched, unmatched } = Catalogue.match([...items].map(([itemNum, sku]) => ({ itemNum, sku })));
    this.catalogue.replace(matched);
    await this.catalogue.save();
    await this.quarantineOnce(unmatched.map((u) => ({ channelRef: itemGid(u.itemNum), reason: u.reason, payload: { sku: u.sku } })));
    notes.push(`catalogue: ${matched.size} variants matched to our SKUs, ${unmatched.length} quarantined`);

    let ingested = 0;
    for (const l of levels) {
      if (!matched.has(l.itemNum)) continue;
      const v = await this.reconcileLevel(l.itemNum, l.locNum, l.figures);
      if (v?.kind === 'merchant-edit') ingested++;
    }
    return { ingested, duplicates: 0, quarantined: unmatched.length, orders: 0, notes };
  }

  private async pagedLevels(locNums: number[], signal: AbortSignal): Promise<PulledLevel[]> {
    type Page = { location: { inventoryLevels: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: Array<{ item: { id: string; sku: string | null }; quantities: QuantityNode[] }> } } | null };
    const out: PulledLevel[] = [];
    for (const locNum of locNums) {
      let after: string | null = null;
      do {
        const page: Page = await this.client.read<Page>(LOCATION_LEVELS, { location: locationGid(locNum), after }, signal);
        const conn = page.location?.inventoryLevels;
        if (!conn) break;
        for (const n of conn.nodes) out.push({ itemNum: numOf(n.item.id), sku: n.item.sku, locNum, figures: figuresOf(n.quantities) });
        after = conn.pageInfo.hasNextPage ? conn.pageInfo.endCursor : null;
      } while (after);
    }
    return out;
  }

  /** A bulk operation over every location's levels; JSONL lines with __parentId = the location. */
  private async bulkLevels(locNums: number[], signal: AbortSignal): Promise<PulledLevel[]> {
    const run = await this.client.read<{ bulkOperationRunQuery: { bulkOperation: { id: string } | null; userErrors: Array<{ message: string }> } }>(RUN_BULK, { query: BULK_LEVELS }, signal);
    if (!run.bulkOperationRunQuery.bulkOperation) throw new ShopifyApiError(`bulk operation refused: ${run.bulkOperationRunQuery.userErrors.map((e) => e.message).join('; ')}`, 'BULK', true, 5000);
    const opId = run.bulkOperationRunQuery.bulkOperation.id;
    let url: string | null = null;
    for (let wait = 100; ; wait = Math.min(5000, wait * 2)) {
      const cur = await this.client.read<{ currentBulkOperation: { id: string; status: string; url: string | null; errorCode: string | null } | null }>(CURRENT_BULK, {}, signal);
      const op = cur.currentBulkOperation;
      if (op?.id === opId && op.status === 'COMPLETED') { url = op.url; break; }
      if (!op || op.id !== opId || ['FAILED', 'CANCELED', 'EXPIRED'].includes(op.status)) {
        throw new ShopifyApiError(`bulk operation ${opId} ended ${op?.status ?? 'missing'} ${op?.errorCode ?? ''}`.trim(), 'BULK', true, 5000);
      }
      await sleep(wait, signal);
    }
    if (!url) return [];
    const res = await fetch(url, { signal });
    if (!res.ok) throw new ShopifyApiError(`bulk result download answered ${res.status}`, 'BULK', true, 5000);
    const wanted = new Set(locNums);
    const out: PulledLevel[] = [];
    for (const line of (await res.text()).split('\n')) {
      if (!line.trim()) continue;
      const o = JSON.parse(line) as { __parentId?: string; item?: { id: string; sku: string | null }; quantities?: QuantityNode[] };
      if (!o.__parentId || !o.item || !o.quantities) continue;
      const locNum = numOf(o.__parentId);
      if (wanted.has(locNum)) out.push({ itemNum: numOf(o.item.id), sku: o.item.sku, locNum, figures: figuresOf(o.quantities) });
    }
    return out;
  }

  // ---- levels: baselines and merchant edits ----
  private async readLevels(pairs: ReadonlyArray<{ itemNum: number; locNum: number }>, signal?: AbortSignal): Promise<Array<LevelFigures | null>> {
    const out: Array<LevelFigures | null> = [];
    const ctl = signal ?? AbortSignal.timeout(30_000);
    for (let i = 0; i < pairs.length; i += 100) {
      const chunk = pairs.slice(i, i + 100);
      const r = await this.client.read<{ nodes: Array<{ id?: string; quantities?: QuantityNode[] } | null> }>(LEVELS_BY_ID, { ids: chunk.map((p) => levelGid(p.locNum, p.itemNum)) }, ctl);
      for (const n of r.nodes) out.push(n?.quantities ? figuresOf(n.quantities) : null);
    }
    return out;
  }

  /**
   * Accounts for what Shopify shows now at one level against the baseline: a merchant's edit
   * becomes a stock.adjusted of the difference (never overwritten blindly); an order, a
   * fulfilment, a restock already returned and the echo of our push change nothing. `current`
   * absent: read from Shopify now (so webhooks may arrive in any order).
   */
  reconcileLevel(itemNum: number, locNum: number, current?: LevelFigures): Promise<LevelVerdict | null> {
    const key = LevelBook.key(itemNum, locNum);
    return this.levels.exclusive(key, async () => {
      const now = current ?? (await this.readLevels([{ itemNum, locNum }]))[0];
      if (!now) return null;
      const base = await this.levels.get(key);
      if (!base) {
        await this.levels.put(key, { ...now, seq: 0, credit: 0, refundLines: [] });
        return { kind: 'unchanged' } as LevelVerdict;
      }
      const verdict = classifyLevelChange(base, now, this.levels.inFlight.get(key) ?? new Set(), base.credit);
      const next: LevelRecord = { ...base, ...now };
      if (verdict.kind === 'merchant-edit') {
        const sku = this.catalogue.skuOf(itemNum);
        const ours = this.ourLocation(locNum);
        if (sku && ours) {
          next.seq = base.seq + 1;
          // Stable per accounted change: a redelivery, a re-read or a restart after a crash
          // before the baseline was stored is a duplicate, not a second adjustment.
          const r = await this.ctx.ingest([{
            type: 'stock.adjusted', eventId: `shopify:${this.channelId}:edit:${itemNum}:${locNum}:${next.seq}`, sku, locationId: ours,
            delta: verdict.delta, reason: `Shopify admin edit: available ${base.available} → ${now.available} (on hand ${base.onHand} → ${now.onHand})`,
            occurredAt: new Date().toISOString(), source: `shopify:${this.channelId}`,
          }]);
          if (r.rejected.length) throw new Error(`merchant edit of ${sku} at ${ours} refused by ingest: ${r.rejected[0]!.error}`);
        }
      }
      if (verdict.kind === 'merchant-edit' || verdict.kind === 'restock-explained') next.credit = base.credit - verdict.creditUsed;
      await this.levels.put(key, next);
      return verdict;
    });
  }

  /** The `available` this level's baseline holds (null: none yet). */
  async accountedAvailable(itemNum: number, locNum: number): Promise<number | null> {
    return (await this.levels.get(LevelBook.key(itemNum, locNum)))?.available ?? null;
  }

  /** refunds/create put `quantity` back at a level: remembered so that its level change is not taken for an edit. */
  async creditRestock(itemNum: number, locNum: number, refundLineRef: string, quantity: number): Promise<void> {
    const key = LevelBook.key(itemNum, locNum);
    await this.levels.exclusive(key, async () => {
      const base = await this.levels.get(key);
      if (!base || base.refundLines.includes(refundLineRef)) return;
      await this.levels.put(key, { ...base, credit: base.credit + quantity, refundLines: [...base.refundLines.slice(-50), refundLineRef] });
    });
  }

  /** The catalogue entry for `sku`, looking Shopify up for SKUs created since the last pull. */
  private async resolveSkus(skus: string[], signal: AbortSignal): Promise<void> {
    const missing = [...new Set(skus.filter((s) => this.catalogue.itemOf(s) === undefined))];
    for (let i = 0; i < missing.length; i += 25) {
      const chunk = missing.slice(i, i + 25);
      const r = await this.client.read<{ inventoryItems: { nodes: Array<{ id: string; sku: string | null }> } }>(ITEMS_BY_SKU, { query: chunk.map((s) => `sku:'${s}'`).join(' OR ') }, signal);
      const found = Catalogue.match(r.inventoryItems.nodes.map((n) => ({ itemNum: numOf(n.id), sku: n.sku })));
      for (const [item, sku] of found.matched) if (chunk.includes(sku)) this.catalogue.add(item, sku);
    }
    if (missing.length) await this.catalogue.save();
  }

  /** The SKU of a Shopify inventory item (from the catalogue, else asked). */
  async skuOfItem(itemNum: number): Promise<string | null> {
    const known = this.catalogue.skuOf(itemNum);
    if (known) return known;
    const r = await this.client.read<{ inventoryItem: { sku: string | null } | null }>(ITEM_SKU, { id: itemGid(itemNum) }, AbortSignal.timeout(30_000));
    const sku = r.inventoryItem?.sku ?? null;
    const m = Catalogue.match([{ itemNum, sku }]);
    if (!m.matched.size) return null;
    this.catalogue.add(itemNum, sku!);
    await this.catalogue.save();
    return sku;
  }

  // ---- publisher ----
  async push(items: readonly PushItem[], signal: AbortSignal): Promise<{ outcomes: PushOutcome[]; retryAfterMs?: number }> {
    const outcomes: Array<PushOutcome | undefined> = new Array(items.length);
    await this.resolveSkus(items.map((i) => i.sku), signal).catch(() => undefined);
    let pending: PlannedQuantity[] = [];
    for (const [index, it] of items.entries()) {
      const itemNum = this.catalogue.itemOf(it.sku);
      const locNum = it.channelLocation ? numOf(it.channelLocation) : NaN;
      if (itemNum === undefined || !Number.isFinite(locNum)) {
        outcomes[index] = { ok: false, retryable: false, notListed: true, error: itemNum === undefined ? `no Shopify variant has SKU ${it.sku}` : 'no Shopify location given' };
        continue;
      }
      const base = await this.levels.get(LevelBook.key(itemNum, locNum));
      pending.push({ index, inventoryItemId: itemGid(itemNum), locationId: locationGid(locNum), quantity: it.quantity, changeFromQuantity: it.expected ?? base?.available ?? null });
    }
    let retryAfterMs: number | undefined;
    // Shopify applies a call all or nothing: items refused for another item's error go again.
    for (let round = 0; pending.length > 0 && round < 3; round++) {
      const keys = pending.map((p) => LevelBook.key(numOf(p.inventoryItemId), numOf(p.locationId)));
      pending.forEach((p, i) => this.levels.notePushing(keys[i]!, p.quantity));
      let answer: { inventorySetQuantities: { userErrors: UserError[]; inventoryAdjustmentGroup: { changes: Array<{ name: string; quantityAfterChange: number | null; item: { id: string } | null; location: { id: string } | null }> } | null } };
      try {
        answer = await this.client.request(SET_QUANTITIES, { input: setQuantitiesInput(pending, this.channelId), key: callIdempotencyKey(items, pending) }, signal);
      } catch (e) {
        const err = e instanceof ShopifyApiError ? e : new ShopifyApiError(String(e), 'UNKNOWN', true);
        for (const p of pending) outcomes[p.index] = { ok: false, retryable: err.retryable, error: `${err.code}: ${err.message}` };
        if (err.retryAfterMs !== undefined) retryAfterMs = err.retryAfterMs;
        pending.forEach((p, i) => this.levels.donePushing(keys[i]!, p.quantity));
        break;
      }
      const { userErrors, inventoryAdjustmentGroup } = answer.inventorySetQuantities;
      if (userErrors.length === 0) {
        await this.recordApplied(pending, inventoryAdjustmentGroup?.changes ?? []);
        for (const p of pending) outcomes[p.index] = { ok: true };
        pending.forEach((p, i) => this.levels.donePushing(keys[i]!, p.quantity));
        break;
      }
      pending.forEach((p, i) => this.levels.donePushing(keys[i]!, p.quantity));
      const errored = new Map<number, UserError>();
      for (const ue of userErrors) {
        const pos = userErrorPosition(ue);
        if (pos !== null && pending[pos]) errored.set(pos, ue);
      }
      if (errored.size === 0) {
        for (const p of pending) outcomes[p.index] = { ok: false, retryable: false, error: `Shopify refused the call: ${userErrors.map((u) => `${u.code ?? ''} ${u.message}`).join('; ')}` };
        break;
      }
      for (const [pos, ue] of errored) {
        const p = pending[pos]!;
        outcomes[p.index] = await this.outcomeForUserError(p, ue);
      }
      pending = pending.filter((_, i) => !errored.has(i));
    }
    for (const p of pending) outcomes[p.index] ??= { ok: false, retryable: true, error: 'not sent: the call kept failing for other items' };
    return { outcomes: outcomes.map((o) => o ?? { ok: false, retryable: true, error: 'not sent' }), retryAfterMs };
  }

  private async outcomeForUserError(p: PlannedQuantity, ue: UserError): Promise<PushOutcome> {
    const error = `${ue.code ?? 'USER_ERROR'}: ${ue.message}`;
    switch (ue.code) {
      case 'CHANGE_FROM_QUANTITY_STALE': {
        // Someone else moved the figure: account for it first (a merchant's edit becomes an
        // adjustment), then hand the engine what Shopify shows, to retry against.
        const verdict = await this.reconcileLevel(numOf(p.inventoryItemId), numOf(p.locationId)).catch(() => null);
        const rec = await this.levels.get(LevelBook.key(numOf(p.inventoryItemId), numOf(p.locationId)));
        return verdict && rec ? { ok: false, retryable: true, error, actual: rec.available } : { ok: false, retryable: true, error };
      }
      case 'ITEM_NOT_STOCKED_AT_LOCATION':
      case 'INVALID_INVENTORY_ITEM':
        return { ok: false, retryable: false, notListed: true, error };
      case 'IDEMPOTENCY_CONCURRENT_REQUEST':
        return { ok: false, retryable: true, error };
      default:
        return { ok: false, retryable: false, error };
    }
  }

  /** A successful set: the figures Shopify reports after it become the levels' baselines. */
  private async recordApplied(planned: readonly PlannedQuantity[], changes: ReadonlyArray<{ name: string; quantityAfterChange: number | null; item: { id: string } | null; location: { id: string } | null }>): Promise<void> {
    for (const p of planned) {
      const itemNum = numOf(p.inventoryItemId);
      const locNum = numOf(p.locationId);
      const onHand = changes.find((c) => c.name === 'on_hand' && c.item?.id === p.inventoryItemId && c.location?.id === p.locationId)?.quantityAfterChange;
      const key = LevelBook.key(itemNum, locNum);
      await this.levels.exclusive(key, async () => {
        const base = await this.levels.get(key);
        const h = onHand ?? (base ? base.onHand + (p.quantity - base.available) : p.quantity);
        await this.levels.put(key, { seq: base?.seq ?? 0, credit: base?.credit ?? 0, refundLines: base?.refundLines ?? [], available: p.quantity, onHand: h });
      });
    }
  }

  async readBack(keys: ReadonlyArray<{ sku: string; channelLocation: string | null }>, signal: AbortSignal): Promise<Array<number | null>> {
    await this.resolveSkus(keys.map((k) => k.sku), signal);
    const pairs: Array<{ itemNum: number; locNum: number } | null> = keys.map((k) => {
      const itemNum = this.catalogue.itemOf(k.sku);
      const locNum = k.channelLocation ? numOf(k.channelLocation) : NaN;
      return itemNum !== undefined && Number.isFinite(locNum) ? { itemNum, locNum } : null;
    });
    const present = pairs.filter((p): p is { itemNum: number; locNum: number } => p !== null);
    const figures = await this.readLevels(present, signal);
    let i = 0;
    return pairs.map((p) => (p ? (figures[i++]?.available ?? null) : null));
  }
}
