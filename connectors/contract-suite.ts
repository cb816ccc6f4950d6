// The contract every channel connector passes, whatever its vendor: run it from the
// connector's own test file against the vendor's stand-in (test/channels-contract.test.ts does
// so for `custom`; Shopify, Amazon and Square each call defineConnectorContract with theirs).
//
// It drives the connector through its ports only, with a recording ConnectorContext, and
// checks what the engine relies on: settings validation and secrets, sane rate limits, absolute
// and idempotent pushes with one outcome per item, compare-and-set reported with the channel's
// figure, read-back for drift, "not listed" for unknown items, and webhook signature checks
// over the raw body with a stable delivery id. A publisher that answers `pending` (an
// asynchronous submission, Amazon's feeds) is followed through `poll` to its final outcomes, and
// its `poll` must settle to the same outcomes again without applying anything twice.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  ChannelConnector, ChannelKindDefinition, ChannelOrders, ConnectorContext, OrderOutcome, PushItem, PushOutcome, QuarantinedItem, StockPublisher, WebhookHeaders,
} from './channel-connector.js';
import type { StockEvent } from '../src/core/stock-event.js';

export interface ContractItem {
  sku: string;
  channelLocation: string | null;
}

export interface SignedDelivery {
  raw: Buffer;
  headers: WebhookHeaders;
}

export interface ContractFixture {
  /** Valid settings (as PUT would carry them) pointing at the stand-in. */
  settings: Record<string, unknown>;
  pool: string[];
  /** At least three items the channel lists. */
  items: ContractItem[];
  /** An item the channel does not list. */
  unlisted: ContractItem;
  /**
   * Publishers that choose their call by volume (Amazon: patch or feed): enough listed items that
   * one push of them all goes the bulk way (a `pending` submission).
   */
  bulkItems?: ContractItem[];
  /** What the channel shows, read from the stand-in directly (null: not listed). */
  shown(item: ContractItem): Promise<number | null>;
  /** Changes the channel's figure behind the connector's back (a merchant, an order there). */
  setShown(item: ContractItem, quantity: number): Promise<void>;
  /** Signed deliveries, for kinds with webhooks. */
  webhooks?: {
    /** A valid delivery of a topic the connector handles. */
    valid(): SignedDelivery;
    /** Absent for kinds with one message type (pos). */
    unknownTopic?(): SignedDelivery;
    /** Correctly signed, but not a payload the topic allows. */
    malformed(): SignedDelivery;
  };
  tearDown(): Promise<void>;
}

export interface ContractHarness {
  name: string;
  /**
   * Kinds that only receive (pos: a till shows no channel figures): the suite checks that they
   * declare no publisher, and skips nothing else; `items`, `shown` and `setShown` are not used.
   */
  inboundOnly?: boolean;
  kind: ChannelKindDefinition<unknown>;
  setUp(): Promise<ContractFixture>;
}

export interface RecordingContext extends ConnectorContext<unknown> {
  ingested: StockEvent[];
  quarantined: QuarantinedItem[];
  orderCalls: Array<{ call: string; args: unknown[] }>;
  errors: Array<{ sku?: string; message: string; retryable: boolean }>;
  published: Map<string, number>;
}

/** A ConnectorContext that records what the connector hands the engine. */
export function recordingContext(channelId: string, settings: unknown, pool: readonly string[]): RecordingContext {
  const state = new Map<string, string>();
  const ingested: StockEvent[] = [];
  const quarantined: QuarantinedItem[] = [];
  const orderCalls: Array<{ call: string; args: unknown[] }> = [];
  const published = new Map<string, number>();
  const outcome = (orderRef: string): OrderOutcome => ({ orderRef, state: 'reserved', duplicate: false, reservationId: null, allocations: [] });
  const orders: ChannelOrders = {
    placed: async (o) => { orderCalls.push({ call: 'placed', args: [o] }); return outcome(o.orderRef); },
    cancelled: async (ref, at) => { orderCalls.push({ call: 'cancelled', args: [ref, at] }); return { ...outcome(ref), state: 'cancelled' }; },
    fulfilled: async (ref, at, lines) => { orderCalls.push({ call: 'fulfilled', args: [ref, at, lines] }); return { ...outcome(ref), state: 'fulfilled' }; },
    restocked: async (ref, refund, lines, at) => { orderCalls.push({ call: 'restocked', args: [ref, refund, lines, at] }); return { ...outcome(ref), state: 'fulfilled' }; },
  };
  const errors: RecordingContext['errors'] = [];
  return {
    channelId, settings, pool, bufferUnits: 0, logger: pino({ level: 'silent' }),
    ingest: async (events) => {
      ingested.push(...events);
      return { accepted: events.length, duplicates: 0, rejected: [], acceptedIds: events.map((e) => e.eventId) };
    },
    orders,
    quarantine: async (items) => { quarantined.push(...items); },
    lastPublished: async (sku, loc) => published.get(`${sku}|${loc ?? ''}`) ?? null,
    state: { get: async (k) => state.get(k) ?? null, set: async (k, v) => { state.set(k, v); } },
    knownSkus: async (skus) => new Set(skus),
    reportError: (e) => { errors.push(e); },
    ingested, quarantined, orderCalls, errors, published,
  };
}

/**
 * The final outcomes of a push: `pending` ones are polled (as the engine does) until settled,
 * `deferred` ones pushed again. Answers the submissions seen, for a repeated poll.
 */
export async function pushSettled(p: StockPublisher, items: readonly PushItem[], signal: AbortSignal): Promise<{ outcomes: PushOutcome[]; submissions: Map<string, PushItem[]> }> {
  const outcomes: Array<PushOutcome | undefined> = items.map(() => undefined);
  const submissions = new Map<string, PushItem[]>();
  let todo = items.map((_, i) => i);
  for (let round = 0; todo.length > 0; round++) {
    if (round > 1_000) throw new Error('pushes kept being deferred');
    const answer = await p.push(todo.map((i) => items[i]!), signal);
    expect(answer.outcomes).toHaveLength(todo.length);
    const next: number[] = [];
    const pendingIn = new Map<string, number[]>();
    todo.forEach((itemIndex, k) => {
      const o = answer.outcomes[k]!;
      if (o.ok === 'deferred') next.push(itemIndex);
      else if (o.ok === 'pending') pendingIn.set(o.submissionId, [...(pendingIn.get(o.submissionId) ?? []), itemIndex]);
      else outcomes[itemIndex] = o;
    });
    for (const [id, idx] of pendingIn) {
      expect(p.poll, 'a publisher that answers pending must offer poll').toBeDefined();
      const subItems = idx.map((i) => items[i]!);
      submissions.set(id, subItems);
      for (;;) {
        const r = await p.poll!({ id, items: subItems }, signal);
        if (!r.pending) {
          expect(r.outcomes).toHaveLength(subItems.length);
          idx.forEach((itemIndex, k) => { outcomes[itemIndex] = r.outcomes[k]!; });
          break;
        }
        await new Promise((res) => setTimeout(res, Math.min(1_000, Math.max(5, r.pollInMs))));
      }
    }
    todo = next;
    if (todo.length > 0) await new Promise((res) => setTimeout(res, 20));
  }
  return { outcomes: outcomes as PushOutcome[], submissions };
}

let keySeq = 0;
const key = (tag: string) => `contract-${tag}-${process.pid}-${Date.now()}-${++keySeq}`;

export function defineConnectorContract(h: ContractHarness): void {
  describe(`connector contract: ${h.name}`, () => {
    let f: ContractFixture;
    let ctx: RecordingContext;
    let c: ChannelConnector;
    const signal = () => AbortSignal.timeout(15_000);
    const push = async (items: Array<ContractItem & { quantity: number; expected: number | null }>, tag = 'p') => {
      const req: PushItem[] = items.map((i) => ({ sku: i.sku, channelLocation: i.channelLocation, quantity: i.quantity, expected: i.expected, idempotencyKey: key(tag) }));
      return pushSettled(c.publisher!, req, signal());
    };
    /** Pushes until acknowledged, following compare-and-set answers as the engine does. */
    const pushUntilOk = async (item: ContractItem, quantity: number) => {
      let expected: number | null = await f.shown(item);
      for (let i = 0; i < 5; i++) {
        const r = await push([{ ...item, quantity, expected }]);
        const o = r.outcomes[0]!;
        if (o.ok) {
          ctx.published.set(`${item.sku}|${item.channelLocation ?? ''}`, quantity);
          return;
        }
        if (o.actual === undefined) throw new Error(`push refused: ${o.error}`);
        expected = o.actual;
      }
      throw new Error('push never acknowledged');
    };

    beforeAll(async () => {
      f = await h.setUp();
      const parsed = h.kind.settingsSchema.parse(f.settings);
      ctx = recordingContext(`contract-${h.kind.kind}`, parsed, f.pool);
      c = h.kind.create(ctx);
      await c.start?.();
    }, 60_000);

    afterAll(async () => {
      await c?.stop?.();
      await f?.tearDown();
    });

    it('validates settings: the fixture passes, an empty object fails naming fields, secrets are declared fields', () => {
      expect(h.kind.settingsSchema.safeParse(f.settings).success).toBe(true);
      const empty = h.kind.settingsSchema.safeParse({});
      expect(empty.success).toBe(false);
      if (!empty.success) expect(empty.error.issues.every((i) => i.path.length > 0)).toBe(true);
      for (const s of h.kind.secretFields) expect(Object.keys(f.settings)).toContain(s);
      const parsed = h.kind.settingsSchema.parse(f.settings);
      for (const l of h.kind.referencedLocations(parsed)) expect(typeof l).toBe('string');
      if (h.kind.scope === 'per-location' && !h.kind.scopeFor) expect(h.kind.channelLocations).toBeDefined();
    });

    it('declares a usable rate limit and call size', () => {
      const parsed = h.kind.settingsSchema.parse(f.settings);
      const rl = h.kind.rateLimit(parsed);
      expect(rl.ratePerSecond).toBeGreaterThan(0);
      expect(rl.burst).toBeGreaterThan(0);
      if (h.inboundOnly) return expect(c.publisher).toBeUndefined();
      expect(c.publisher).toBeDefined();
      const p = c.publisher!;
      expect(p.maxItemsPerCall).toBeGreaterThanOrEqual(1);
      expect(p.cost(1)).toBeGreaterThan(0);
      expect(p.cost(p.maxItemsPerCall)).toBeGreaterThanOrEqual(p.cost(1));
    });

    it('pushes absolute figures, one outcome per item, and reads them back', async () => {
      if (h.inboundOnly) return expect(c.publisher).toBeUndefined();
      const figures = f.items.map((it, i) => ({ ...it, quantity: 7 + i }));
      for (const it of figures) await pushUntilOk(it, it.quantity);
      for (const it of figures) expect(await f.shown(it)).toBe(it.quantity);
      const back = await c.publisher!.readBack(figures, signal());
      expect(back).toEqual(figures.map((x) => x.quantity));
      // Several items in one call, with the expected figures: all acknowledged.
      const next = figures.map((x) => ({ ...x, expected: x.quantity, quantity: x.quantity + 10 }));
      const r = await push(next);
      expect(r.outcomes).toHaveLength(next.length);
      expect(r.outcomes.every((o) => o.ok === true)).toBe(true);
      for (const x of next) expect(await f.shown(x)).toBe(x.quantity);
    });

    it('a retried call with the same idempotency key does not apply twice', async () => {
      if (h.inboundOnly) return expect(c.publisher).toBeUndefined();
      const item = f.items[0]!;
      const cur = await f.shown(item);
      const req: PushItem[] = [{ ...item, quantity: 3, expected: cur, idempotencyKey: key('idem') }];
      expect((await pushSettled(c.publisher!, req, signal())).outcomes[0]!.ok).toBe(true);
      await f.setShown(item, 20); // the channel moves on after our push
      const again = await pushSettled(c.publisher!, req, signal());
      expect(again.outcomes).toHaveLength(1);
      expect(await f.shown(item)).toBe(20); // the replay did not set 3 again over the newer figure
    });

    it('reports a stale compare-and-set with the channel\'s figure, and succeeds with it', async () => {
      if (h.inboundOnly) return expect(c.publisher).toBeUndefined();
      const item = f.items[1]!;
      await pushUntilOk(item, 5);
      await f.setShown(item, 9);
      const r = await push([{ ...item, quantity: 4, expected: 5 }]);
      const o = r.outcomes[0]!;
      expect(o.ok).toBe(false);
      if (!o.ok) {
        expect(o.actual).toBe(9);
        expect(o.retryable).toBe(true);
      }
      expect(await f.shown(item)).toBe(9);
      const ok = await push([{ ...item, quantity: 4, expected: 9 }]);
      expect(ok.outcomes[0]!.ok).toBe(true);
      expect(await f.shown(item)).toBe(4);
    });

    it('settles a bulk push (asynchronous where the publisher submits), and a repeated poll applies nothing again', async () => {
      if (h.inboundOnly || !f.bulkItems) return;
      const p = c.publisher!;
      const items = f.bulkItems.map((it, i) => ({ ...it, quantity: 30 + (i % 7), expected: null }));
      const r = await push(items, 'bulk');
      expect(r.outcomes.every((o) => o.ok === true)).toBe(true);
      for (const it of items) expect(await f.shown(it)).toBe(it.quantity);
      if (p.poll) expect(r.submissions.size).toBeGreaterThan(0);
      // The channel moves on; polling the settled submission again (a restarted engine would) resends nothing.
      await f.setShown(items[0]!, 1);
      for (const [id, subItems] of r.submissions) {
        const again = await p.poll!({ id, items: subItems }, signal());
        expect(again.pending).toBe(false);
        if (!again.pending) expect(again.outcomes.every((o) => o.ok)).toBe(true);
      }
      expect(await f.shown(items[0]!)).toBe(1);
    });

    it('answers "not listed" for an item the channel does not have, and reads it back as null', async () => {
      if (h.inboundOnly) return expect(c.publisher).toBeUndefined();
      const r = await push([{ ...f.unlisted, quantity: 1, expected: null }]);
      const o = r.outcomes[0]!;
      expect(o.ok).toBe(false);
      if (!o.ok) expect(o.notListed).toBe(true);
      expect(await c.publisher!.readBack([f.unlisted], signal())).toEqual([null]);
    });

    it('checks webhook signatures over the raw body and names deliveries stably', async () => {
      if (!f.webhooks) return expect(c.webhook).toBeUndefined();
      const w = c.webhook!;
      const good = f.webhooks.valid();
      expect(w.verify(good.raw, good.headers)).toBe(true);
      const tampered = Buffer.from(good.raw);
      tampered[tampered.length - 2] = tampered[tampered.length - 2]! ^ 1;
      expect(w.verify(tampered, good.headers)).toBe(false);
      expect(w.verify(Buffer.concat([good.raw, Buffer.from(' ')]), good.headers)).toBe(false);
      expect(w.verify(good.raw, {})).toBe(false);
      const id = w.deliveryId(good.raw, good.headers);
      expect(id).toBe(w.deliveryId(good.raw, good.headers));
      const r = await w.handle(good.raw, good.headers);
      expect(['applied', 'ignored', 'quarantined']).toContain(r.outcome);
    });

    it('sorts out unknown topics and malformed payloads without throwing', async () => {
      if (!f.webhooks) return;
      const w = c.webhook!;
      const unknown = f.webhooks.unknownTopic?.();
      if (unknown) {
        expect(w.verify(unknown.raw, unknown.headers)).toBe(true);
        expect((await w.handle(unknown.raw, unknown.headers)).outcome).toBe('unknown-topic');
      }
      const bad = f.webhooks.malformed();
      expect(w.verify(bad.raw, bad.headers)).toBe(true);
      const before = ctx.ingested.length;
      const r = await w.handle(bad.raw, bad.headers);
      expect(['malformed', 'quarantined']).toContain(r.outcome);
      expect(ctx.ingested.length).toBe(before);
    });
  });
}
