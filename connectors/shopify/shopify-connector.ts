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
  BULK_LEVELS, CURRENT_BULK, figuresOf, ITEM_SKU, ITEMS_BY_SKU, LEVELS_BY_ID, LOCATION_LEVELS, LOCATION_LEVELS_COST, LOCATIONS, LOCATIONS_COST, RUN_BULK, type QuantityNode,
} from './queries.js';
import { pageSizeFor, readAllPages, shrinkPage, type Connection } from './paging.js';
import {
  callIdempotencyKey, MAX_QUANTITIES_PER_CALL, SET_QUANTITIES, setQuantitiesInput, userErrorPosition, type PlannedQuantity, type UserError,
} from './push-batch.js';
import type { ShopifySettings } from './shopify-settings.js';
import { ShopifyWebhooks } from './shopify-webhooks.js';
import { itemGid, locationGid } from './webhook-payloads.js';

/** inventorySetQuantities' requested cost with our selection (10 for the mutation + the selection), whatever the batch size. */
export const PUSH_CALL_COST = 15;

/** How long after Shopify's own order decrement the connector waits before re-aligning the level. */
const REALIGN_AFTER_MS = 1500;

/** More unknown SKUs than this in one push or read-back: read the catalogue in bulk instead of looking them up. */
const BULK_LOOKUP_FROM = 100;

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
    // Adjustments stored with their baseline and not yet sent when the last process stopped.
    for (const key of await this.levels.loadUnsent()) await this.levels.exclusive(key, () => this.sendUnsent(key));
  }

  /** Sends the adjustment a level's record holds (same event id: a repeat is a duplicate), then clears it. */
  private async sendUnsent(key: string): Promise<void> {
    const rec = await this.levels.get(key);
    if (rec?.unsent) {
      const r = await this.ctx.ingest([rec.unsent]);
      if (r.rejected.length) throw new Error(`merchant edit of ${rec.unsent.sku} refused by ingest: ${r.rejected[0]!.error}`);
      const { unsent: _sent, ...rest } = rec;
      await this.levels.put(key, rest);
    }
    await this.levels.markUnsent(key, false);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.realigns.values()) clearTimeout(t);
    this.realigns.clear();
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
    type Loc = { id: string; name: string; isActive: boolean };
    const bucket = Math.min(this.ctx.settings.bucketSize, this.client.gate.maximumAvailable);
    const locations = await readAllPages<Loc>(this.client, LOCATIONS, {}, (d) => (d as { locations: Connection<Loc> }).locations, pageSizeFor(bucket, LOCATIONS_COST), signal);
    const known = new Map(locations.map((l) => [l.id, l] as const));
    const mapped: number[] = [];
    for (const [gidValue, ours] of Object.entries(this.ctx.settings.locationMap)) {
      const l = known.get(gidValue);
      if (!l || !l.isActive) this.ctx.reportError({ message: `Shopify location ${gidValue} (mapped to ${ours}) ${l ? 'is inactive' : 'does not exist in the shop'}`, retryable: false });
      else mapped.push(numOf(gidValue));
    }
    // The first pull does not know the catalogue's size: a bulk operation costs one query
    // whatever the size, where paging a large catalogue would take minutes of cost budget.
    const useBulk = this.catalogue.size === 0 || this.catalogue.size * Math.max(1, mapped.length) >= this.ctx.settings.bulkFrom;
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
      // Levels this process accounts for are checked against what Shopify shows (an edit whose
      // webhook was lost); the others get their baseline from their first push or webhook, so
      // that a first pull of a large catalogue does not write a state row per level.
      if (!matched.has(l.itemNum)) continue;
      if (!this.levels.peek(LevelBook.key(l.itemNum, l.locNum))) {
        this.levels.noteSeen(LevelBook.key(l.itemNum, l.locNum), l.figures);
        continue;
      }
      const v = await this.reconcileLevel(l.itemNum, l.locNum, l.figures);
      if (v?.kind === 'merchant-edit') ingested++;
    }
    return { ingested, duplicates: 0, quarantined: unmatched.length, orders: 0, notes };
  }

  private async pagedLevels(locNums: number[], signal: AbortSignal): Promise<PulledLevel[]> {
    type Node = { item: { id: string; sku: string | null }; quantities: QuantityNode[] };
    const out: PulledLevel[] = [];
    for (const locNum of locNums) {
      const bucket = Math.min(this.ctx.settings.bucketSize, this.client.gate.maximumAvailable);
      const nodes = await readAllPages<Node>(this.client, LOCATION_LEVELS, { location: locationGid(locNum) },
        (d) => (d as { location: { inventoryLevels: Connection<Node> } | null }).location?.inventoryLevels, pageSizeFor(bucket, LOCATION_LEVELS_COST), signal);
      for (const n of nodes) out.push({ itemNum: numOf(n.item.id), sku: n.item.sku, locNum, figures: figuresOf(n.quantities) });
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
    let size = 100;
    for (let i = 0; i < pairs.length;) {
      const chunk = pairs.slice(i, i + size);
      let r: { nodes: Array<{ id?: string; quantities?: QuantityNode[] } | null> };
      try {
        r = await this.client.read(LEVELS_BY_ID, { ids: chunk.map((p) => levelGid(p.locNum, p.itemNum)) }, ctl);
      } catch (e) {
        const err = e as ShopifyApiError;
        if (!err.cost || chunk.length === 1) throw err;
        size = shrinkPage(chunk.length, err.cost.requested, err.cost.limit); // a shop whose bucket cannot hold 100 levels at once
        continue;
      }
      for (const n of r.nodes) out.push(n?.quantities ? figuresOf(n.quantities) : null);
      i += chunk.length;
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
      if ((await this.levels.get(key))?.unsent) await this.sendUnsent(key);
      const now = current ?? (await this.readLevels([{ itemNum, locNum }]))[0];
      if (!now) return null;
      const base = await this.levels.get(key);
      if (!base) {
        await this.levels.put(key, { ...now, seq: 0, pending: 0, causes: [] });
        return { kind: 'unchanged' } as LevelVerdict;
      }
      const verdict = classifyLevelChange(base, now, this.levels.inFlight.get(key) ?? new Set(), base.pending);
      const next: LevelRecord = { ...base, ...now };
      if ('pendingAfter' in verdict) next.pending = verdict.pendingAfter;
      if (verdict.kind === 'shopify-order') this.scheduleRealign(itemNum, locNum);
      const sku = this.catalogue.skuOf(itemNum);
      const ours = this.ourLocation(locNum);
      if (verdict.kind !== 'merchant-edit' || !sku || !ours) {
        await this.levels.put(key, next);
        return verdict;
      }
      // Write-ahead: the new baseline and the adjustment it implies are stored together, then
      // sent. The id is fixed by the baseline it moves from (seq), so a crash after the send and
      // before the record is cleared sends the same event again: a duplicate, not a second count;
      // and a later edit is measured from the new baseline, so nothing is lost either.
      next.seq = base.seq + 1;
      next.unsent = {
        type: 'stock.adjusted', eventId: `shopify:${this.channelId}:edit:${itemNum}:${locNum}:${next.seq}`, sku, locationId: ours,
        delta: verdict.delta, reason: `Shopify admin edit: available ${base.available} → ${now.available} (on hand ${base.onHand} → ${now.onHand})`,
        occurredAt: new Date().toISOString(), source: `shopify:${this.channelId}`,
      };
      await this.levels.markUnsent(key, true);
      await this.levels.put(key, next);
      await this.sendUnsent(key);
      return verdict;
    });
  }

  /** True while a push setting `available` at this level is in flight or its answer is being recorded. */
  isBeingPushed(itemNum: number, locNum: number, available: number): boolean {
    return this.levels.inFlight.get(LevelBook.key(itemNum, locNum))?.has(available) ?? false;
  }

  /** The `available` this level's baseline holds (null: none yet). */
  async accountedAvailable(itemNum: number, locNum: number): Promise<number | null> {
    return (await this.levels.get(LevelBook.key(itemNum, locNum)))?.available ?? null;
  }

  private readonly realigns = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  /**
   * Shopify committed (or, cancelling, restocked) an order's units at a location of its choice;
   * our routing may have reserved them elsewhere, and then nothing in our ledger changes at this
   * location and no push would come. After a short wait (for the order's own webhook to be
   * routed), put back the figure we published here, compare-and-set against what Shopify shows.
   */
  private scheduleRealign(itemNum: number, locNum: number): void {
    const key = LevelBook.key(itemNum, locNum);
    if (this.stopped || this.realigns.has(key)) return;
    const t = setTimeout(() => {
      this.realigns.delete(key);
      void this.realign(itemNum, locNum).catch((err: unknown) => {
        this.ctx.reportError({ sku: this.catalogue.skuOf(itemNum), message: `re-aligning after a Shopify order: ${(err as Error).message}`, retryable: true });
      });
    }, REALIGN_AFTER_MS);
    t.unref();
    this.realigns.set(key, t);
  }

  private async realign(itemNum: number, locNum: number): Promise<void> {
    const sku = this.catalogue.skuOf(itemNum);
    if (!sku || this.stopped) return;
    const ours = await this.ctx.lastPublished(sku, locationGid(locNum));
    const shown = await this.accountedAvailable(itemNum, locNum);
    if (ours === null || shown === null || ours === shown) return;
    const r = await this.push([{ sku, channelLocation: locationGid(locNum), quantity: ours, expected: shown, idempotencyKey: `realign:${itemNum}:${locNum}:${shown}->${ours}:${Date.now()}` }], AbortSignal.timeout(30_000));
    const o = r.outcomes[0];
    if (o && !o.ok && o.actual === undefined) throw new Error(o.error);
  }

  /**
   * A fulfilment (−quantity) or a restocking refund (+quantity) changed on_hand at a level:
   * remembered so that the change is not taken for a merchant's edit. `cause` dedupes.
   */
  async noteOnHandCause(itemNum: number, locNum: number, cause: string, onHandChange: number): Promise<void> {
    const key = LevelBook.key(itemNum, locNum);
    await this.levels.exclusive(key, async () => {
      const base = await this.levels.get(key);
      if (!base || base.causes.includes(cause)) return;
      await this.levels.put(key, { ...base, pending: base.pending + onHandChange, causes: [...base.causes.slice(-100), cause] });
    });
  }

  /** The catalogue entry for `sku`, looking Shopify up for SKUs created since the last pull. */
  private async resolveSkus(skus: string[], signal: AbortSignal): Promise<void> {
    let missing = [...new Set(skus.filter((s) => this.catalogue.itemOf(s) === undefined))];
    // Many unknown SKUs (a new channel, a big new range): one bulk read of the catalogue costs
    // a few points where a lookup per 25 SKUs would take minutes of the cost budget.
    if (missing.length > BULK_LOOKUP_FROM) {
      await this.refreshCatalogue(signal);
      missing = missing.filter((s) => this.catalogue.itemOf(s) === undefined);
      if (missing.length > BULK_LOOKUP_FROM) return; // not in the shop: parked as not listed
    }
    for (let i = 0; i < missing.length; i += 25) {
      const chunk = missing.slice(i, i + 25);
      const r = await this.client.read<{ inventoryItems: { nodes: Array<{ id: string; sku: string | null }> } }>(ITEMS_BY_SKU, { query: chunk.map((s) => `sku:'${s}'`).join(' OR ') }, signal);
      const found = Catalogue.match(r.inventoryItems.nodes.map((n) => ({ itemNum: numOf(n.id), sku: n.sku })));
      for (const [item, sku] of found.matched) if (chunk.includes(sku)) this.catalogue.add(item, sku);
    }
    if (missing.length) await this.catalogue.save();
  }

  private catalogueRefresh: Promise<void> | null = null;

  /** Reads every mapped location's items with a bulk operation into the catalogue (single flight). */
  private refreshCatalogue(signal: AbortSignal): Promise<void> {
    this.catalogueRefresh ??= (async () => {
      try {
        const mapped = Object.keys(this.ctx.settings.locationMap).map(numOf);
        const levels = await this.bulkLevels(mapped, signal);
        const items = new Map<number, string | null>();
        for (const l of levels) items.set(l.itemNum, l.sku);
        const { matched } = Catalogue.match([...items].map(([itemNum, sku]) => ({ itemNum, sku })));
        for (const [item, sku] of matched) this.catalogue.add(item, sku);
        await this.catalogue.save();
      } finally {
        this.catalogueRefresh = null;
      }
    })();
    return this.catalogueRefresh;
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
    const unknown: Array<{ index: number; itemNum: number; locNum: number }> = [];
    for (const [index, it] of items.entries()) {
      const itemNum = this.catalogue.itemOf(it.sku);
      const locNum = it.channelLocation ? numOf(it.channelLocation) : NaN;
      if (itemNum === undefined || !Number.isFinite(locNum)) {
        outcomes[index] = { ok: false, retryable: false, notListed: true, error: itemNum === undefined ? `no Shopify variant has SKU ${it.sku}` : 'no Shopify location given' };
        continue;
      }
      // Never a blind overwrite (changeFromQuantity null): compare against what we last
      // published, else what Shopify last showed us, else what it shows now.
      const from = it.expected ?? this.levels.lastSeen(LevelBook.key(itemNum, locNum))?.available;
      if (from === undefined) unknown.push({ index, itemNum, locNum });
      else pending.push({ index, inventoryItemId: itemGid(itemNum), locationId: locationGid(locNum), quantity: it.quantity, changeFromQuantity: from });
    }
    if (unknown.length > 0) {
      const now = await this.readLevels(unknown, signal).catch((e: unknown) => e as Error);
      for (const [i, u] of unknown.entries()) {
        const figures = now instanceof Error ? undefined : now[i];
        if (figures === null) outcomes[u.index] = { ok: false, retryable: false, notListed: true, error: `${items[u.index]!.sku} is not stocked at that Shopify location` };
        else if (figures === undefined) outcomes[u.index] = { ok: false, retryable: true, error: `reading the figure to compare against: ${(now as Error).message}` };
        else {
          this.levels.noteSeen(LevelBook.key(u.itemNum, u.locNum), figures);
          pending.push({ index: u.index, inventoryItemId: itemGid(u.itemNum), locationId: locationGid(u.locNum), quantity: items[u.index]!.quantity, changeFromQuantity: figures.available });
        }
      }
      pending.sort((a, b) => a.index - b.index);
    }
    let retryAfterMs: number | undefined;
    // Shopify applies a call all or nothing: items refused for another item's error go again.
    for (let round = 0; pending.length > 0 && round < 3; round++) {
      const keys = pending.map((p) => LevelBook.key(numOf(p.inventoryItemId), numOf(p.locationId)));
      pending.forEach((p, i) => this.levels.notePushing(keys[i]!, p.quantity));
      let answer: { inventorySetQuantities: { userErrors: UserError[]; inventoryAdjustmentGroup: { changes: Array<{ name: string; quantityAfterChange: number | null; item: { id: string } | null; location: { id: string } | null }> } | null } };
      try {
        answer = await this.client.write(SET_QUANTITIES, { input: setQuantitiesInput(pending, this.channelId), key: callIdempotencyKey(items, pending) }, signal);
      } catch (e) {
        const err = e instanceof ShopifyApiError ? e : new ShopifyApiError(String(e), 'UNKNOWN', true);
        for (const p of pending) outcomes[p.index] = { ok: false, retryable: err.retryable, error: `${err.code}: ${err.message}` };
        if (err.retryAfterMs !== undefined) retryAfterMs = err.retryAfterMs;
        pending.forEach((p, i) => this.levels.donePushing(keys[i]!, p.quantity));
        break;
      }
      const { userErrors, inventoryAdjustmentGroup } = answer.inventorySetQuantities;
      if (userErrors.length === 0) {
        // Baselines are recorded in the background: the acknowledgement does not wait for them.
        // Until they are, the figures stay "in flight", so their echo is still recognised.
        const applied = pending;
        this.recordApplied(applied, inventoryAdjustmentGroup?.changes ?? [])
          .catch((err: unknown) => {
            this.ctx.reportError({ message: `recording Shopify's figures after a push: ${(err as Error).message}`, retryable: true });
          })
          .finally(() => applied.forEach((p, i) => this.levels.donePushing(keys[i]!, p.quantity)));
        for (const p of pending) outcomes[p.index] = { ok: true };
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

  /** A successful set: the figures Shopify reports after it become the levels' baselines (one write for the call). */
  private async recordApplied(planned: readonly PlannedQuantity[], changes: ReadonlyArray<{ name: string; quantityAfterChange: number | null; item: { id: string } | null; location: { id: string } | null }>): Promise<void> {
    const onHandAfter = new Map<string, number>();
    for (const c of changes) {
      if (c.name === 'on_hand' && c.item && c.location && c.quantityAfterChange !== null) onHandAfter.set(LevelBook.key(numOf(c.item.id), numOf(c.location.id)), c.quantityAfterChange);
    }
    const quantityOf = new Map(planned.map((p) => [LevelBook.key(numOf(p.inventoryItemId), numOf(p.locationId)), p.quantity] as const));
    await this.levels.putMany([...quantityOf.keys()], (key, base) => {
      const quantity = quantityOf.get(key)!;
      const onHand = onHandAfter.get(key) ?? (base ? base.onHand + (quantity - base.available) : quantity);
      return { ...(base ?? { seq: 0, pending: 0, causes: [] }), available: quantity, onHand };
    });
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
