// Staff app first load (issue 16): what a browser transfers to show the app, ≤ 300 kB
// compressed. Measured in Chromium (Debian's, driven by playwright-core) with request.sizes():
// every request of the page until the network is idle, response headers plus encoded body,
// twice: the sign-in screen (a new device), and the stock screen of a signed-in user (session
// check and all). Baseline in the same run: the same assets uncompressed (what the transfer
// would be without the precompression).
//
// Run: npx tsx bench/staff-first-load.ts  (BENCH_PG_ADMIN_URL)
import { chromium, type Page } from 'playwright-core';
import { loadConfig, SCOPES } from '../src/config.js';
import { buildApp } from '../src/http/app.js';
import { staffRoutes } from '../src/http/routes/staff.js';
import { buildWebBundle, webAppRoutes } from '../src/http/web-app.js';
import { upsertLocation } from '../src/locations/location-store.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { StoreQueue } from '../src/staff/store-queue.js';
import { UserStore } from '../src/staff/user-store.js';
import { benchDatabase } from './staff-db.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

async function transfer(page: Page, url: string, after?: (p: Page) => Promise<void>) {
  const requests: Array<{ url: string; headers: number; body: number }> = [];
  page.on('requestfinished', (r) => {
    void r.sizes().then((s) => requests.push({ url: new URL(r.url()).pathname, headers: s.responseHeadersSize, body: s.responseBodySize }));
  });
  await page.goto(url, { waitUntil: 'networkidle' });
  if (after) await after(page);
  await page.waitForLoadState('networkidle');
  await new Promise((r) => setTimeout(r, 200));
  const bodyBytes = requests.reduce((n, r) => n + r.body, 0);
  const headerBytes = requests.reduce((n, r) => n + r.headers, 0);
  return { requests: requests.length, bodyBytes, totalBytes: bodyBytes + headerBytes, items: requests };
}

export async function benchStaffFirstLoad() {
  const { db, drop } = await benchDatabase('omnistock_bench_staffload');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    await upsertLocation(db, 'ams-01', { name: 'Amsterdam', type: 'store', lat: 52.37, lon: 4.89, shipFromStore: true, pickup: true, rank: 100, dailyCapacity: null, safetyStock: 0, active: true });
    await new UserStore(db).upsert('bench', { name: 'Bench', role: 'manager', locationIds: ['ams-01'], password: 'bench password 1' });
    const app = await buildApp(
      { config: loadConfig({}), db, log: null as never, ingest: null as never, metrics: createMetrics(), logger: createLogger('silent'), isStarted: () => true },
      [{ name: 'bench', secret: 'bench', scopes: [...SCOPES] }],
      [staffRoutes(new StoreQueue({ db, rejects: null })), webAppRoutes()],
    );
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    const bundle = await buildWebBundle();

    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const signIn = await transfer(await ctx.newPage(), `${base}/app`);
    // Sign in, then a fresh page in the same context: the stock screen's first load.
    const p = await ctx.newPage();
    await p.goto(`${base}/app`);
    await p.getByLabel('User').fill('bench');
    await p.getByLabel('Password').fill('bench password 1');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('button', { name: 'Sign out' }).waitFor();
    const fresh = await browser.newContext({ viewport: { width: 390, height: 844 }, storageState: await ctx.storageState() });
    const signedIn = await transfer(await fresh.newPage(), `${base}/app#/lookup`);
    await app.close();

    const raw = bundle.sizes.reduce((n, s) => n + s.raw, 0);
    const br = bundle.sizes.reduce((n, s) => n + s.br, 0);
    return {
      assets: bundle.sizes,
      signInScreen: { requests: signIn.requests, bodyBytes: signIn.bodyBytes, totalBytes: signIn.totalBytes, items: signIn.items },
      stockScreenSignedIn: { requests: signedIn.requests, bodyBytes: signedIn.bodyBytes, totalBytes: signedIn.totalBytes },
      baselineUncompressedAssetBytes: raw,
      ratioCompressedToRaw: Math.round((br / raw) * 1000) / 1000,
      targetBytes: 300 * 1000,
      met: Math.max(signIn.totalBytes, signedIn.totalBytes) <= 300 * 1000,
    };
  } finally {
    await browser.close();
    await drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await benchStaffFirstLoad(), null, 2)}\n`);
}
