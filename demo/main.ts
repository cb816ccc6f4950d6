// `npm run demo`: the service on its embedded defaults (PGlite and the embedded log, in a fresh
// temporary directory) with a Shopify stand-in as a live `shopify` channel, and a bounded
// traffic generator: Shopify orders, cancellations, fulfilments and refunds, POS sales, counts,
// a merchant editing stock in the Shopify admin, and now and then drift. Everything listens on
// 127.0.0.1 only. Ctrl-C stops it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { startService } from '../src/service/service.js';
import { ShopifyStandIn } from '../test/standins/shopify/shopify-stand-in.js';
import { runTraffic, type DemoWorld } from './traffic.js';

const TOKEN = 'demo-token';
const CHANNEL = 'shopify-demo';
const SKUS = ['TEE-S', 'TEE-M', 'TEE-L', 'MUG-01', 'CAP-01'];
const LOCATIONS = [
  { id: 'ams-01', name: 'Amsterdam store', type: 'store', lat: 52.37, lon: 4.89 },
  { id: 'utr-02', name: 'Utrecht store', type: 'store', lat: 52.09, lon: 5.12 },
  { id: 'wh-1', name: 'Rotterdam warehouse', type: 'warehouse', lat: 51.92, lon: 4.48 },
] as const;

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'omnistock-demo-'));
  const port = process.env.PORT ?? '8080';
  const ticks = Number(process.env.DEMO_TICKS ?? 150);
  const everyMs = Number(process.env.DEMO_INTERVAL_MS ?? 2000);
  const config = loadConfig({
    DATA_DIR: dataDir, PORT: port, HOST: '127.0.0.1', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    API_TOKENS: `demo:${TOKEN}:events:write+stock:read+stock:write+reservations+routing+admin`,
  });
  let service;
  try {
    service = await startService({ config, roles: ['api', 'reconciler'], channelDriftCron: '*/1 * * * *', announce: () => {} });
  } catch (e) {
    console.error(`Could not start the service on 127.0.0.1:${port}: ${(e as Error).message}\nTry another port: PORT=8090 npm run demo`);
    process.exit(1);
  }
  const url = service.url;
  const call = async (method: string, p: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${url}${p}`, {
      method, body: body === undefined ? undefined : JSON.stringify(body),
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    });
    const text = await res.text();
    if (res.status >= 400) throw new Error(`${method} ${p} answered ${res.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  };

  for (const l of LOCATIONS) await call('PUT', `/v1/locations/${l.id}`, { name: l.name, type: l.type, lat: l.lat, lon: l.lon, shipFromStore: true, pickup: l.type === 'store' });

  // The shop: the same three places, each product listed at 0 until we publish.
  const shop = await new ShopifyStandIn({ shop: 'omnistock-demo.myshopify.com' }).start(Number(process.env.SHOPIFY_PORT ?? 0));
  const shopLocations: Record<string, string> = {};
  for (const l of LOCATIONS) shopLocations[l.id] = shop.addLocation(l.name);
  for (const sku of SKUS) shop.addProduct(sku, Object.fromEntries(Object.values(shopLocations).map((g) => [g, 0])));
  shop.deliverWebhooksTo(`${url}/webhooks/shopify/${CHANNEL}`);

  // Opening counts in the ledger.
  const now = new Date().toISOString();
  await call('POST', '/v1/events?wait=true', {
    events: SKUS.flatMap((sku, i) => LOCATIONS.map((l, j) => ({
      eventId: `demo-open-${sku}-${l.id}`, type: 'stock.counted', sku, locationId: l.id, quantity: 4 + ((i * 3 + j * 5) % 9), occurredAt: now, source: 'demo:opening-count',
    }))),
  });
  await call('PUT', `/v1/channels/${CHANNEL}`, {
    kind: 'shopify', pool: LOCATIONS.map((l) => l.id), bufferUnits: 0,
    settings: {
      shop: shop.shop, accessToken: shop.accessToken, apiSecret: shop.apiSecret, adminUrl: shop.adminUrl,
      locationMap: Object.fromEntries(LOCATIONS.map((l) => [shopLocations[l.id], l.id])),
    },
  });

  // Wait until Shopify shows what the ledger offers, so that the traffic starts from a synced shop.
  type Avail = { locations: Array<{ locationId: string; atp: number }> };
  for (let waited = 0; ; waited += 200) {
    const synced = await Promise.all(SKUS.map(async (sku) => {
      const a = (await call('GET', `/v1/availability/${sku}`)) as Avail;
      return LOCATIONS.every((l) => shop.quantity(sku, shopLocations[l.id]!) === (a.locations.find((x) => x.locationId === l.id)?.atp ?? 0));
    }));
    if (synced.every(Boolean)) break;
    if (waited > 30_000) { console.error('Shopify did not receive the opening figures within 30 s; see the channel status.'); break; }
    await new Promise((r) => setTimeout(r, 200));
  }

  const b = (s: string) => `\x1b[1m${s}\x1b[0m`;
  console.log(`
${b('omnistock demo')}: the ledger service with a Shopify stand-in as a live channel.

  Service        ${url}   (embedded: PGlite + embedded log in ${dataDir})
  API docs       ${url}/docs
  Token          ${TOKEN}     (every scope; send it as "Authorization: Bearer ${TOKEN}")
  Shopify        ${shop.adminUrl}/admin/api/2026-04/graphql.json   (stand-in; X-Shopify-Access-Token: ${shop.accessToken})

${b('Where to look')}
  curl -s -H 'authorization: Bearer ${TOKEN}' ${url}/v1/channels/${CHANNEL}/status      # pushes, errors, throttling, drift
  curl -s -H 'authorization: Bearer ${TOKEN}' ${url}/v1/availability/TEE-M              # the ledger per location
  curl -s -H 'authorization: Bearer ${TOKEN}' ${url}/v1/channels/${CHANNEL}/quarantine  # what could not be mapped
  curl -s ${url}/metrics | grep omnistock_channel                                          # sync metrics

${b('Try')}
  A POS sale of 2 TEE-M in Amsterdam, then watch Shopify's Amsterdam figure drop in the next lines:
  curl -s -H 'authorization: Bearer ${TOKEN}' -H 'content-type: application/json' ${url}/v1/events \\
    -d '{"events":[{"eventId":"try-1","type":"stock.sold","sku":"TEE-M","locationId":"ams-01","quantity":2,"occurredAt":"${now}","source":"pos-ams"}]}'
  Ask Shopify (the stand-in) what it shows:
  curl -s -H 'x-shopify-access-token: ${shop.accessToken}' -H 'content-type: application/json' ${shop.adminUrl}/admin/api/2026-04/graphql.json \\
    -d '{"query":"{ inventoryItems(first: 5) { nodes { sku inventoryLevels(first: 3) { nodes { location { name } quantities(names: [\\"available\\"]) { quantity } } } } } }"}'

Traffic: ${ticks} steps, one every ${everyMs / 1000} s (DEMO_TICKS, DEMO_INTERVAL_MS). Ctrl-C stops everything.
Each line: what happened, then ${b('ledger ATP')} and what ${b('Shopify shows')} per location (ams / utr / wh).
`);

  const world: DemoWorld = { shop, call, skus: SKUS, stores: ['ams-01', 'utr-02'], locations: LOCATIONS.map((l) => l.id), shopLocations };
  const controller = new AbortController();
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    controller.abort();
    console.log('\nstopping…');
    await shop.stop();
    await service.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
  await runTraffic(world, { ticks, everyMs, signal: controller.signal });
  if (!stopping) console.log(`\nTraffic done. The service and the stand-in keep running for you to explore; Ctrl-C to stop.`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
