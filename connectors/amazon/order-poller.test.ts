// The order poller against the SP-API stand-in (its two-minute visibility window, paging and
// published rates, sped up): no order missed or acted on in the wrong state, whatever happens
// between and during polls, and a restart resumes from the durable cursor.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { AmazonStandIn } from '../../test/standins/amazon/amazon-standin.js';
import { LwaTokenSource } from './lwa-token.js';
import { AmazonOrderPoller, CURSOR_KEY, type OrderSink } from './order-poller.js';
import { SpApiClient } from './sp-api-client.js';

let amazon: AmazonStandIn | null = null;
afterEach(async () => {
  await amazon?.stop();
  amazon = null;
});

/** The sink's end state per order, as the engine's orders sink keeps it (idempotent). */
function recordingSink() {
  const state = new Map<string, string>();
  const calls: string[] = [];
  const sink: OrderSink = {
    async placed(o) { calls.push(`placed ${o.orderRef}`); if (!state.has(o.orderRef)) state.set(o.orderRef, 'reserved'); },
    async cancelled(ref) { calls.push(`cancelled ${ref}`); if (state.get(ref) !== 'fulfilled') state.set(ref, 'cancelled'); },
    async fulfilled(ref) { calls.push(`fulfilled ${ref}`); if (state.get(ref) === 'reserved') state.set(ref, 'fulfilled'); },
  };
  return { sink, state, calls };
}

function memoryState() {
  const m = new Map<string, string>();
  return { get: async (k: string) => m.get(k) ?? null, set: async (k: string, v: string) => { m.set(k, v); }, m };
}

async function setup(now: () => number) {
  amazon = await new AmazonStandIn({ now, rateScale: 1000, orderItemsPageSize: 1 }).start();
  const lwa = new LwaTokenSource({ clientId: amazon.clientId, clientSecret: amazon.clientSecret, refreshToken: amazon.refreshToken, lwaUrl: amazon.lwaUrl }, { now });
  const sp = new SpApiClient({ endpoint: amazon.url, lwa, rateScale: 1000 });
  return { amazon, sp };
}

describe('AmazonOrderPoller', () => {
  it('acts on MFN orders once per state, ignores AFN, and moves the cursor only past a whole window', async () => {
    let now = Date.parse('2026-12-05T10:00:00Z');
    const { amazon: a, sp } = await setup(() => now);
    const { sink, state, calls } = recordingSink();
    const store = memoryState();
    const poller = new AmazonOrderPoller({ sp, marketplaceId: a.marketplaceId, state: store, sink, fulfilmentLocationIds: ['wh-1'], now: () => now, initialLookbackMs: 3600_000 });
    const o1 = a.createOrder({ items: [{ sku: 'A-1', quantity: 1 }, { sku: 'B-2', quantity: 2 }] });
    const afn = a.createOrder({ items: [{ sku: 'A-1', quantity: 1 }], fulfillmentChannel: 'AFN' });
    now += 60_000;
    expect((await poller.poll()).orders).toBe(0); // inside SP-API's two-minute window: not visible yet
    now += 70_000;
    const r = await poller.poll();
    expect(r).toMatchObject({ orders: 1, ignored: 1 });
    expect(store.m.get(CURSOR_KEY)).toBe(new Date(now - 120_000).toISOString());
    a.shipOrder(o1.AmazonOrderId);
    now += 121_000;
    await poller.poll();
    expect(state.get(o1.AmazonOrderId)).toBe('fulfilled');
    expect(state.has(afn.AmazonOrderId)).toBe(false);
    expect(calls).toEqual([`placed ${o1.AmazonOrderId}`, `placed ${o1.AmazonOrderId}`, `fulfilled ${o1.AmazonOrderId}`]);
    expect(a.violations).toEqual([]);
  });

  it('gives an order the destination its postal code has in the lookup, and none otherwise', async () => {
    let now = Date.parse('2026-12-05T10:00:00Z');
    const { amazon: a, sp } = await setup(() => now);
    const placed = new Map<string, unknown>();
    const looked: string[] = [];
    const { sink } = recordingSink();
    const capturing: OrderSink = { ...sink, async placed(o) { placed.set(o.orderRef, o.destination); return sink.placed(o); } };
    const postal = async (code: string, country: string) => {
      looked.push(`${country} ${code}`);
      return code.replace(/\s+/g, '').toUpperCase() === '3511AB' && country === 'NL' ? { lat: 52.09, lon: 5.12 } : null;
    };
    const known = a.createOrder({ items: [{ sku: 'A-1', quantity: 1 }], postalCode: '3511 ab', countryCode: 'NL' });
    const unknown = a.createOrder({ items: [{ sku: 'A-1', quantity: 1 }], postalCode: '9999 ZZ', countryCode: 'NL' });
    const bare = a.createOrder({ items: [{ sku: 'A-1', quantity: 1 }] });
    a.createOrder({ items: [{ sku: 'A-1', quantity: 1 }], postalCode: '3511 AB', countryCode: 'NL', fulfillmentChannel: 'AFN' });
    const poller = new AmazonOrderPoller({ sp, marketplaceId: a.marketplaceId, state: memoryState(), sink: capturing, fulfilmentLocationIds: ['wh-1'], postal, now: () => now, initialLookbackMs: 3600_000 });
    now += 121_000;
    await poller.poll();
    expect(placed.get(known.AmazonOrderId)).toEqual({ lat: 52.09, lon: 5.12 });
    expect([...placed.keys()].sort()).toEqual([known, unknown, bare].map((o) => o.AmazonOrderId).sort());
    expect(placed.get(unknown.AmazonOrderId)).toBeUndefined();
    expect(placed.get(bare.AmazonOrderId)).toBeUndefined();
    expect(looked.sort()).toEqual(['NL 3511 ab', 'NL 9999 ZZ']); // AFN and address-less orders: no lookup
    expect(a.violations).toEqual([]);
  });

  it('catches an order updated while the window is being read in the next window', async () => {
    let now = Date.parse('2026-12-05T10:00:00Z');
    const { amazon: a, sp } = await setup(() => now);
    const { sink, state } = recordingSink();
    const ids = [1, 2, 3].map(() => a.createOrder({ items: [{ sku: 'A-1', quantity: 1 }] }).AmazonOrderId);
    let cancelledMidPoll = false;
    const racing: OrderSink = {
      ...sink,
      async placed(o) {
        await sink.placed(o);
        if (!cancelledMidPoll) { cancelledMidPoll = true; now += 1000; a.cancelOrder(ids[2]!); }
      },
    };
    const poller = new AmazonOrderPoller({ sp, marketplaceId: a.marketplaceId, state: memoryState(), sink: racing, fulfilmentLocationIds: ['wh-1'], now: () => now, initialLookbackMs: 3600_000 });
    now += 121_000;
    await poller.poll();
    expect(state.get(ids[2]!)).toBe('reserved'); // read before the cancellation
    now += 121_000;
    await poller.poll();
    expect(ids.map((id) => state.get(id))).toEqual(['reserved', 'reserved', 'cancelled']);
  });

  it('ends in each order\'s last state whatever happens between and during polls, across restarts', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ kind: fc.constantFrom('create', 'create', 'cancel', 'ship', 'poll', 'restart'), pick: fc.nat(), advance: fc.integer({ min: 0, max: 150_000 }) }), { minLength: 1, maxLength: 25 }),
      async (steps) => {
        let now = Date.parse('2026-12-05T10:00:00Z');
        const { amazon: a, sp } = await setup(() => now);
        try {
          const { sink, state } = recordingSink();
          const store = memoryState();
          const make = () => new AmazonOrderPoller({ sp, marketplaceId: a.marketplaceId, state: store, sink, fulfilmentLocationIds: ['wh-1'], now: () => now, initialLookbackMs: 3600_000 });
          let poller = make();
          const ids: string[] = [];
          for (const s of steps) {
            now += s.advance;
            const id = ids.length ? ids[s.pick % ids.length]! : null;
            if (s.kind === 'create') ids.push(a.createOrder({ items: [{ sku: `S-${s.pick % 3}`, quantity: 1 + (s.pick % 2) }], fulfillmentChannel: s.pick % 5 === 0 ? 'AFN' : 'MFN' }).AmazonOrderId);
            else if (s.kind === 'cancel' && id && a.order(id)!.OrderStatus === 'Unshipped') a.cancelOrder(id);
            else if (s.kind === 'ship' && id && a.order(id)!.OrderStatus === 'Unshipped') a.shipOrder(id);
            else if (s.kind === 'poll') await poller.poll();
            else if (s.kind === 'restart') poller = make();
          }
          // once everything is older than the visibility window, one more poll settles all
          now += 121_000;
          await poller.poll();
          for (const id of ids) {
            const o = a.order(id)!;
            const expected = o.FulfillmentChannel === 'AFN' ? undefined : o.OrderStatus === 'Canceled' ? 'cancelled' : o.OrderStatus === 'Shipped' ? 'fulfilled' : 'reserved';
            expect([id, state.get(id)]).toEqual([id, expected]);
          }
          expect(a.violations).toEqual([]);
        } finally {
          await a.stop();
        }
      },
    ), { numRuns: 25 });
  }, 120_000);
});
