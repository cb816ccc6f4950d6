// The orders sink through the real webhook path on PostgreSQL, property-tested: any sequence of
// order deliveries (placed, cancelled, fulfilled), duplicated and in any order, leaves the
// ledger as the order's story says: a cancellation before fulfilment always wins, even when it
// arrives before its order; a fulfilment takes the units once; nothing is held twice.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../src/service/service.js';
import { pgEmbeddedLogDeployment, type Deployment } from './spine/deployments.js';
import { api, counted, customChannel, postEvents, putLocations, SECRET, startStandin, startWith } from './channels-harness.js';
import { CustomChannelStandin } from './support/custom-channel-standin.js';

let d: Deployment;
let s: RunningService;
let st: CustomChannelStandin;

beforeAll(async () => {
  d = await pgEmbeddedLogDeployment();
  s = await startWith(d);
  await putLocations(s);
  st = await startStandin();
  expect((await api(s, 'PUT', '/v1/channels/orders', customChannel(st, { pool: ['ams-01', 'utr-02'] }))).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await s?.stop();
  await st?.stop();
  await d?.cleanup();
});

type Kind = 'placed' | 'cancelled' | 'fulfilled';
interface Delivery { order: number; kind: Kind; newDeliveryId: boolean }

const delivery: fc.Arbitrary<Delivery> = fc.record({
  order: fc.integer({ min: 0, max: 2 }),
  kind: fc.constantFrom<Kind>('placed', 'cancelled', 'fulfilled'),
  newDeliveryId: fc.boolean(),
});

let run = 0;

describe('orders sink', () => {
  it('is idempotent and order-tolerant for any sequence of deliveries', async () => {
    await fc.assert(fc.asyncProperty(fc.array(delivery, { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }), async (seq, qty) => {
      const r = ++run;
      const sku = `OP-${process.pid}-${r}`;
      await postEvents(s, [counted(sku, 'ams-01', 20), counted(sku, 'utr-02', 20)]);
      const ref = (o: number) => `r${r}-o${o}`;
      let n = 0;
      const first: Array<Partial<Record<Kind, number>>> = [{}, {}, {}];
      for (const [i, dl] of seq.entries()) {
        const at = new Date().toISOString();
        const body = dl.kind === 'placed'
          ? { type: 'order.placed', order: { orderRef: ref(dl.order), method: 'ship', destination: { lat: 52.3, lon: 4.9 }, lines: [{ sku, quantity: qty[dl.order]!, lineRef: 'l1' }], occurredAt: at } }
          : { type: `order.${dl.kind}`, orderRef: ref(dl.order), occurredAt: at };
        // A redelivery reuses the vendor's delivery id (deduped by it); a fresh id is the same event sent again.
        const id = dl.newDeliveryId ? `r${r}-${++n}` : `r${r}-${dl.order}-${dl.kind}`;
        const res = await CustomChannelStandin.sendWebhook(`${s.url}/webhooks/custom/orders`, SECRET, body, { deliveryId: id });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        first[dl.order]![dl.kind] ??= i;
      }
      let reserved = 0;
      let taken = 0;
      for (let o = 0; o < 3; o++) {
        const f = first[o]!;
        const placed = f.placed !== undefined;
        const cancel = f.cancelled;
        const fulfil = f.fulfilled;
        const fulfilled = placed && fulfil !== undefined && (cancel === undefined || (fulfil < cancel && f.placed! < cancel));
        if (fulfilled) taken += qty[o]!;
        else if (placed && cancel === undefined && fulfil === undefined) reserved += qty[o]!;
      }
      const a = (await api(s, 'GET', `/v1/availability/${sku}`)).json as { network: { onHand: number; reserved: number } };
      expect(a.network.reserved, JSON.stringify(seq)).toBe(reserved);
      expect(a.network.onHand, JSON.stringify(seq)).toBe(40 - taken);
    }), { numRuns: 30 });
  }, 240_000);
});
