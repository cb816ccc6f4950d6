// The demo's traffic: a bounded number of steps, each one thing a shop sees in a day, printed
// with what the ledger offers and what Shopify shows afterwards.
import type { ShopifyStandIn } from '../test/standins/shopify/shopify-stand-in.js';

export interface DemoWorld {
  shop: ShopifyStandIn;
  call(method: string, path: string, body?: unknown): Promise<unknown>;
  skus: string[];
  stores: string[];
  locations: string[];
  /** Our location id → the stand-in's location gid. */
  shopLocations: Record<string, string>;
}

type Avail = { locations: Array<{ locationId: string; atp: number }> };

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const sleep = (ms: number, signal: AbortSignal) => new Promise<void>((resolve) => {
  const done = () => { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); };
  const t = setTimeout(done, ms);
  signal.addEventListener('abort', done, { once: true });
});

export async function runTraffic(w: DemoWorld, o: { ticks: number; everyMs: number; signal: AbortSignal }): Promise<void> {
  const open: number[] = [];
  const shipped: Array<{ id: number; sku: string }> = [];
  const lines = new Map<number, string>();
  let seq = 0;
  const event = (type: string, sku: string, locationId: string, extra: Record<string, unknown>) => ({
    eventId: `demo-${Date.now()}-${++seq}`, type, sku, locationId, occurredAt: new Date().toISOString(), source: 'demo-traffic', ...extra,
  });
  const atp = async (sku: string) => (await w.call('GET', `/v1/availability/${sku}`) as Avail).locations;
  const figures = async (sku: string) => {
    const ledger = await atp(sku);
    const l = w.locations.map((id) => String(ledger.find((x) => x.locationId === id)?.atp ?? 0).padStart(2)).join(' /');
    const s = w.locations.map((id) => String(w.shop.quantity(sku, w.shopLocations[id]!) ?? '-').padStart(2)).join(' /');
    return `ledger ATP ${l}   Shopify shows ${s}`;
  };

  for (let i = 1; i <= o.ticks && !o.signal.aborted; i++) {
    const sku = pick(w.skus);
    const r = Math.random();
    let what: string;
    let shown = sku;
    try {
      if (r < 0.3) {
        // A web order: Shopify commits it where it has most available, as its own routing would.
        const where = w.locations.map((id) => ({ id, q: w.shop.quantity(sku, w.shopLocations[id]!) ?? 0 })).sort((a, b) => b.q - a.q)[0]!;
        if (where.q <= 0) { what = `Shopify order for ${sku}: sold out on Shopify, nobody can buy it`; }
        else {
          const pickup = Math.random() < 0.3 && w.stores.includes(where.id);
          const id = w.shop.placeOrder({ lines: [{ sku, quantity: 1 }], locationId: w.shopLocations[where.id]!, pickup, shippingAddress: pickup ? undefined : { latitude: 51.9 + Math.random() * 0.6, longitude: 4.4 + Math.random() * 0.8 } });
          open.push(id);
          lines.set(id, sku);
          what = `Shopify order #${id}: 1 × ${sku} (${pickup ? `pickup at ${where.id}` : 'ship'}) → a reservation where routing chooses`;
        }
      } else if (r < 0.55) {
        const store = pick(w.stores);
        const here = (await atp(sku)).find((x) => x.locationId === store)?.atp ?? 0;
        if (here <= 0) what = `POS at ${store}: no ${sku} on the shelf`;
        else { await w.call('POST', '/v1/events', { events: [event('stock.sold', sku, store, { quantity: 1 })] }); what = `POS sale at ${store}: 1 × ${sku}`; }
      } else if (r < 0.65) {
        const loc = pick(w.locations);
        const q = 3 + Math.floor(Math.random() * 10);
        await w.call('POST', '/v1/events', { events: [event('stock.counted', sku, loc, { quantity: q })] });
        what = `Count at ${loc}: ${sku} counted ${q}`;
      } else if (r < 0.75 && open.length) {
        const id = open.splice(Math.floor(Math.random() * open.length), 1)[0]!;
        w.shop.cancelOrder(id);
        shown = lines.get(id)!;
        what = `Shopify order #${id} cancelled → its reservation is released`;
      } else if (r < 0.85 && open.length) {
        const id = open.shift()!;
        w.shop.fulfil(id);
        shipped.push({ id, sku: lines.get(id)! });
        shown = lines.get(id)!;
        what = `Shopify order #${id} fulfilled → shipped from where it was reserved`;
      } else if (r < 0.9 && shipped.length) {
        const s = shipped.shift()!;
        w.shop.refundWithRestock(s.id, [{ sku: s.sku, quantity: 1 }]);
        shown = s.sku;
        what = `Refund with restock for order #${s.id}: 1 × ${s.sku} back on the shelf`;
      } else if (r < 0.96) {
        const loc = pick(w.locations);
        const cur = w.shop.quantity(sku, w.shopLocations[loc]!) ?? 0;
        const next = Math.max(0, cur + pick([-2, -1, 1, 2, 3]));
        w.shop.merchantSetAvailable(sku, w.shopLocations[loc]!, next);
        what = `Merchant edit in the Shopify admin: ${sku} at ${loc} ${cur} → ${next} (becomes an adjustment in the ledger)`;
      } else {
        const loc = pick(w.locations);
        const cur = w.shop.quantity(sku, w.shopLocations[loc]!) ?? 0;
        if (cur > 0) w.shop.injectDrift(sku, w.shopLocations[loc]!, cur - 1);
        what = `Drift: Shopify's ${sku} at ${loc} changed without a webhook (the drift job, every minute, puts it right)`;
      }
    } catch (e) {
      what = `(step failed: ${(e as Error).message})`;
    }
    await sleep(Math.min(800, o.everyMs / 2), o.signal);
    if (o.signal.aborted) return;
    const f = await figures(shown).catch(() => '');
    console.log(`${new Date().toISOString().slice(11, 19)} ${String(i).padStart(3)}/${o.ticks} ${what}\n             ${shown.padEnd(7)} ${f}`);
    await sleep(Math.max(0, o.everyMs - Math.min(800, o.everyMs / 2)), o.signal);
  }
}
