// The staff web app in a real Chromium (playwright-core + Debian's chromium) against the real
// service: PostgreSQL, the embedded event log, the reconciler, routing. Every flow of issue 16,
// with screenshots of each main screen (phone and desktop) under test/artifacts/.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startService, type RunningService } from '../src/service/service.js';
import { UserStore } from '../src/staff/user-store.js';
import { ARTIFACTS, DESKTOP, launchChromium, PHONE } from './support/browser.js';
import { createPgTestDatabase } from './support/databases.js';

const ADMIN = 'browser-admin-secret';
const PASSWORD = 'correct horse battery';
const EVIL_NAME = `Eve <script>window.__pwned=1</script> "O'Neil" <img src=x onerror="window.__pwned=2">`;

let service: RunningService;
let base: string;
let browser: Browser;
let dropDb: () => Promise<void>;

async function call(method: string, p: string, body?: unknown) {
  const res = await fetch(`${base}${p}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

let seq = 0;
async function stock(type: string, sku: string, locationId: string, quantity: number, occurredAt = new Date().toISOString()) {
  seq += 1;
  const r = await call('POST', '/v1/events?wait=true', { events: [{ eventId: `seed-${seq}-${Date.now()}`, type, sku, locationId, quantity, occurredAt, source: 'test' }] });
  expect(r.status).toBe(202);
  expect(r.body.accepted).toBe(1);
}

async function onHand(sku: string, locationId: string): Promise<number> {
  const r = await call('GET', `/v1/availability/${encodeURIComponent(sku)}`);
  return r.body.locations.find((l: { locationId: string }) => l.locationId === locationId)?.onHand ?? 0;
}

async function newPage(viewport = DESKTOP): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'Europe/Amsterdam' });
  const page = await ctx.newPage();
  page.on('dialog', (d) => void d.accept());
  return { ctx, page };
}

async function signIn(page: Page, user: string, password = PASSWORD, expectOk = true) {
  await page.goto(`${base}/app`);
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (expectOk) await poll(() => page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);
}

// Polls generously: on a shared two-core machine a scrypt sign-in or a render can take seconds.
const poll = <T>(fn: () => Promise<T> | T, opts: { timeout?: number } = {}) => expect.poll(fn, { timeout: 15_000, interval: 100, ...opts });

const shot = async (page: Page, name: string) => {
  await page.evaluate(() => scrollTo(0, 0)); // a sticky header would otherwise sit mid-page in a full-page shot
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
};

describe('staff web app in Chromium', () => {
  beforeAll(async () => {
    const db = await createPgTestDatabase();
    dropDb = db.drop;
    service = await startService({
      config: loadConfig({ DATABASE_URL: db.url, PORT: '0', API_TOKENS: `admin:${ADMIN}:events:write+stock:read+stock:write+reservations+routing+admin` }),
      roles: ['api', 'reconciler'], logger: createLogger('warn'),
    });
    base = service.url!;
    const loc = (name: string, lat: number, lon: number, type = 'store') => ({ name, type, lat, lon, shipFromStore: true, pickup: true });
    for (const [id, body] of Object.entries({
      'ams-01': loc('Amsterdam Centrum', 52.37, 4.89), 'utr-02': loc('Utrecht Hoog Catharijne', 52.09, 5.12),
      'rot-03': loc('Rotterdam Lijnbaan', 51.92, 4.48), 'wh-1': loc('Warehouse Tilburg', 51.56, 5.09, 'warehouse'),
    })) expect((await call('PUT', `/v1/locations/${id}`, body)).status).toBe(201);
    const users = new UserStore(service.db);
    await users.upsert('alice', { name: 'Alice de Vries', role: 'manager', locationIds: ['ams-01'], password: PASSWORD });
    await users.upsert('sam', { name: 'Sam Jansen', role: 'staff', locationIds: ['ams-01'], password: PASSWORD });
    await users.upsert('bob', { name: 'Bob Bakker', role: 'staff', locationIds: ['utr-02'], password: PASSWORD });
    await users.upsert('eve', { name: EVIL_NAME, role: 'admin', locationIds: ['ams-01'], password: PASSWORD });
    await stock('stock.received', 'A-1', 'ams-01', 5);
    await stock('stock.received', 'A-1', 'utr-02', 7);
    await stock('stock.received', 'A-1', 'rot-03', 3);
    await stock('stock.received', 'A-1', 'wh-1', 40);
    await stock('stock.received', 'A-2', 'ams-01', 1);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await dropDb?.();
  });

  it('signs in, and refuses a wrong password with a message', async () => {
    const { ctx, page } = await newPage(PHONE);
    await page.goto(`${base}/app`);
    await poll(() => page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    await shot(page, 'sign-in-phone');
    await signIn(page, 'alice', 'wrong password!', false);
    await poll(() => page.getByRole('alert').textContent()).toContain('wrong user or password');
    await shot(page, 'sign-in-refused-phone');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await poll(() => page.getByRole('heading', { name: 'Stock lookup' }).isVisible()).toBe(true);
    const first = (await ctx.cookies()).find((c) => c.name === 'omnistock_session')!;
    expect(first.httpOnly).toBe(true);
    expect(first.sameSite).toBe('Strict');
    // A session that ends on the server (expired, signed out elsewhere) goes back to sign-in.
    await service.db.query(`DELETE FROM staff_sessions WHERE user_id = 'alice'`);
    await page.getByRole('link', { name: 'Queue' }).click();
    await poll(() => page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    await signIn(page, 'alice');
    const cookie = (await ctx.cookies()).find((c) => c.name === 'omnistock_session')!;
    // Signing out returns to the sign-in screen, and the old cookie no longer works.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await poll(() => page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    expect((await page.request.get(`${base}/v1/session`, { headers: { cookie: `omnistock_session=${cookie.value}` } })).status()).toBe(401);
    await ctx.close();
  });

  it('looks a SKU up by prefix and shows per-store ATP, the nearest stores and the ledger history', async () => {
    const { ctx, page } = await newPage();
    await signIn(page, 'sam');
    const box = page.getByLabel('SKU or barcode');
    await box.fill('A-');
    await poll(() => page.getByRole('list', { name: 'Matching SKUs' }).textContent()).toContain('A-2');
    await page.getByRole('button', { name: 'A-1', exact: true }).click();
    const table = page.getByRole('region', { name: 'Stock per location' });
    await poll(() => table.textContent()).toContain('Utrecht Hoog Catharijne');
    const rows = await table.getByRole('row').allTextContents();
    expect(rows[1]).toMatch(/Amsterdam Centrum.*5/); // the user's store first
    expect(rows.some((r) => /Warehouse Tilburg.*40/.test(r))).toBe(true);
    const nearest = await page.getByRole('list', { name: 'Nearest stores with stock' }).getByRole('listitem').allTextContents();
    expect(nearest).toHaveLength(2); // stores only, not the warehouse nor ams-01 itself
    expect(nearest[0]).toMatch(/Utrecht.*34\.9 km.*ATP 7/);
    expect(nearest[1]).toMatch(/Rotterdam.*ATP 3/);
    await shot(page, 'lookup-desktop');
    await page.getByRole('button', { name: 'Ledger history' }).click();
    const history = page.getByRole('region', { name: 'Ledger history', exact: true });
    await poll(() => history.textContent()).toContain('stock.received');
    expect(await history.getByRole('row').count()).toBe(5); // header + four receipts of A-1
    await shot(page, 'ledger-history-desktop');
    // A barcode scanner: types the code and presses Enter.
    await box.fill('');
    await box.pressSequentially('A-2\n');
    await poll(() => page.locator('h2').textContent()).toBe('A-2');
    await ctx.close();
  });

  it('adjusts stock with a reason, shows the new figure, and a double click records it once', async () => {
    const { ctx, page } = await newPage(PHONE);
    await signIn(page, 'alice');
    await page.getByRole('link', { name: 'Correct' }).click();
    await page.getByLabel('Adjust').check();
    await page.getByLabel('SKU').fill('A-1');
    await page.getByLabel('Change (+ or −)').fill('-2');
    await page.getByRole('button', { name: 'Record' }).click();
    await poll(() => page.getByText('Say why').isVisible()).toBe(true); // validated before sending
    await page.getByLabel('Reason').fill('shelf damage "aisle 4"');
    await page.getByRole('button', { name: 'Record' }).dblclick();
    await poll(() => page.getByRole('status').textContent()).toContain('Now on hand: 3');
    await shot(page, 'correction-phone');
    expect(await onHand('A-1', 'ams-01')).toBe(3);
    const ledger = await call('GET', '/v1/ledger/A-1?locationId=ams-01');
    const adjustments = ledger.body.items.filter((i: { kind: string }) => i.kind === 'stock.adjusted');
    expect(adjustments).toHaveLength(1);
    expect(adjustments[0].source).toBe('staff:alice');
    expect(adjustments[0].reason).toBe('shelf damage "aisle 4"');
    // A manager cannot correct another store's stock, whatever the request says.
    const session = await (await page.request.get(`${base}/v1/session`)).json();
    const other = await page.request.post(`${base}/v1/events`, {
      headers: { 'x-csrf-token': session.csrfToken },
      data: { events: [{ eventId: 'x-1', type: 'stock.received', sku: 'A-1', locationId: 'utr-02', quantity: 1, occurredAt: new Date().toISOString(), source: 'x' }] },
    });
    expect(other.status()).toBe(403);
    // Nor write without the CSRF token.
    const noCsrf = await page.request.post(`${base}/v1/events`, {
      data: { events: [{ eventId: 'x-2', type: 'stock.received', sku: 'A-1', locationId: 'ams-01', quantity: 1, occurredAt: new Date().toISOString(), source: 'x' }] },
    });
    expect(noCsrf.status()).toBe(403);
    expect(await onHand('A-1', 'ams-01')).toBe(3);
    await ctx.close();
  });

  it('counts during concurrent sales: the count is as of its start and sales during it land on top', async () => {
    await stock('stock.received', 'C-1', 'ams-01', 10);
    const { ctx, page } = await newPage(PHONE);
    await signIn(page, 'alice');
    await page.getByRole('link', { name: 'Count' }).click();
    await page.getByRole('button', { name: 'Start counting' }).click();
    const scan = page.getByLabel('Scan item');
    for (let i = 0; i < 6; i++) await scan.pressSequentially('C-1\n');
    // Two sales at the till while the count goes on (they occur after it started).
    await new Promise((r) => setTimeout(r, 20));
    await stock('stock.sold', 'C-1', 'ams-01', 2);
    for (let i = 0; i < 4; i++) await scan.pressSequentially('C-1\n');
    await poll(() => page.getByLabel('Counted C-1').inputValue()).toBe('10');
    // A typo'd scan is refused as text, not counted.
    await scan.pressSequentially('<b>bad scan</b>\n');
    await poll(() => page.getByRole('alert').textContent()).toContain('"<b>bad scan</b>" is not a SKU');
    await shot(page, 'cycle-count-phone');
    await page.getByRole('button', { name: 'Submit count' }).click();
    await poll(() => page.getByRole('status').textContent()).toContain('Count of 1 SKU recorded');
    expect(await onHand('C-1', 'ams-01')).toBe(8); // 10 counted as of the start, minus the 2 sold since
    await ctx.close();
  });

  it('shows an order routed to the store without a reload, and walks it pick → pack → ready → handed over', async () => {
    const { ctx, page } = await newPage(PHONE);
    await signIn(page, 'sam');
    await page.getByRole('link', { name: 'Queue' }).click();
    await poll(() => page.getByText('No orders waiting').isVisible()).toBe(true);
    const plan = await call('POST', '/v1/routing/plan', {
      orderRef: 'P-100', channel: 'web', method: 'pickup', pickupLocationId: 'ams-01', lines: [{ sku: 'A-1', quantity: 2 }], reserve: { ttlSeconds: 900 },
    });
    expect(plan.status).toBe(200);
    const id = plan.body.reservationId as string;
    const order = page.getByRole('listitem', { name: 'Order P-100' });
    await poll(() => order.isVisible()).toBe(true);
    await shot(page, 'queue-order-phone');
    // The printable pick list: only it is printed, with what to take off the shelves.
    await page.emulateMedia({ media: 'print' });
    await poll(() => page.getByText('Pick list · ams-01').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Print pick list' }).isVisible()).toBe(false);
    const pickRow = page.locator('.pick-list tbody tr', { hasText: 'A-1' });
    expect(await pickRow.textContent()).toMatch(/A-1.*2.*P-100/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'pick-list-print.png') });
    await page.emulateMedia({ media: 'screen' });
    for (const step of ['Picked', 'Packed', 'Ready for pickup']) {
      await order.getByRole('button', { name: step, exact: true }).click();
      await poll(() => order.locator('.status').textContent()).toBe(step);
    }
    await order.getByRole('button', { name: 'Handed over' }).click();
    await poll(() => order.isVisible()).toBe(false);
    await poll(() => page.getByRole('status').first().textContent()).toContain('fulfilled');
    const r = await call('GET', `/v1/reservations/${id}`);
    expect(r.body.status).toBe('fulfilled');
    expect(await onHand('A-1', 'ams-01')).toBe(1); // 3 − 2 handed over
    // The API refuses an action the status forbids.
    const again = await call('POST', `/v1/locations/ams-01/queue/${id}/pick`);
    expect(again.status).toBe(409);
    await ctx.close();
  });

  it("re-routes a line the store can't find and shows where it went", async () => {
    await stock('stock.received', 'D-1', 'ams-01', 1);
    await stock('stock.received', 'D-1', 'utr-02', 4);
    const plan = await call('POST', '/v1/routing/plan', {
      orderRef: 'S-200', channel: 'web', method: 'ship', destination: { lat: 52.37, lon: 4.9 }, lines: [{ sku: 'D-1', quantity: 1 }], reserve: { ttlSeconds: 900 },
    });
    expect(plan.body.shipments[0].locationId).toBe('ams-01');
    const { ctx, page } = await newPage();
    await signIn(page, 'sam');
    await page.goto(`${base}/app#/queue`);
    const order = page.getByRole('listitem', { name: 'Order S-200' });
    await poll(() => order.isVisible()).toBe(true);
    await order.getByRole('button', { name: "Can't find D-1" }).click();
    await poll(() => page.getByRole('status').first().textContent()).toContain('re-routed to utr-02');
    await shot(page, 'queue-cant-find-desktop');
    const r = await call('GET', `/v1/reservations/${plan.body.reservationId}`);
    expect(r.body.lines.map((l: { locationId: string; state: string }) => `${l.locationId}:${l.state}`)).toEqual(['ams-01:rejected', 'utr-02:held']);
    // Utrecht's queue now has it.
    const utr = await call('GET', '/v1/locations/utr-02/queue');
    expect(utr.body.orders.map((o: { orderRef: string }) => o.orderRef)).toContain('S-200');
    await ctx.close();
  });

  it("refuses another store's user, on the screen and at the API", async () => {
    const { ctx, page } = await newPage();
    await signIn(page, 'bob');
    await page.goto(`${base}/app#/queue/ams-01`);
    await poll(() => page.getByRole('alert').first().textContent()).toContain('does not work at "ams-01"');
    await shot(page, 'queue-refused-desktop');
    expect((await page.request.get(`${base}/v1/locations/ams-01/queue`)).status()).toBe(403);
    const session = await (await page.request.get(`${base}/v1/session`)).json();
    const plan = await call('POST', '/v1/routing/plan', {
      orderRef: 'P-300', channel: 'web', method: 'pickup', pickupLocationId: 'ams-01', lines: [{ sku: 'A-2', quantity: 1 }], reserve: { ttlSeconds: 900 },
    });
    const act = await page.request.post(`${base}/v1/locations/ams-01/queue/${plan.body.reservationId}/pick`, { headers: { 'x-csrf-token': session.csrfToken } });
    expect(act.status()).toBe(403);
    // Staff may not post stock events at all, nor manage users.
    expect((await page.request.get(`${base}/v1/users`)).status()).toBe(403);
    // His own store's queue works, and the screen has no Correct or Channels for him.
    await page.goto(`${base}/app#/queue`);
    await poll(() => page.getByRole('heading', { name: 'Queue at utr-02' }).isVisible()).toBe(true);
    expect(await page.getByRole('link', { name: 'Correct' }).count()).toBe(0);
    await ctx.close();
  });

  it('shows script and quotes typed by users as text, never running them', async () => {
    const { ctx, page } = await newPage();
    await signIn(page, 'eve');
    await poll(() => page.locator('.who .user').textContent()).toBe(EVIL_NAME);
    await page.getByRole('link', { name: 'Correct' }).click();
    await page.getByLabel('Damaged').check();
    await page.getByLabel('SKU').fill('A-2');
    await page.getByLabel('Quantity').fill('1');
    const evilReason = `<script>window.__pwned=3</script>"'><img src=x onerror="window.__pwned=4">`;
    await page.getByLabel('Reason').fill(evilReason);
    await page.getByRole('button', { name: 'Record' }).click();
    await poll(() => page.getByRole('status').textContent()).toContain('Marked 1 damaged');
    await page.goto(`${base}/app#/lookup/A-2`);
    await page.getByRole('button', { name: 'Ledger history' }).click();
    const history = page.getByRole('region', { name: 'Ledger history', exact: true });
    await poll(() => history.textContent()).toContain(`damaged: ${evilReason}`);
    // A SKU that is markup is refused as text too.
    await page.getByLabel('SKU or barcode').fill('<script>alert(1)</script>');
    await page.getByLabel('SKU or barcode').press('Enter');
    await poll(() => page.getByRole('alert').textContent()).toContain('A SKU is 1–64 characters');
    await shot(page, 'injection-as-text-desktop');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('script:not([src])').count()).toBe(0);
    expect(await page.locator('img').count()).toBe(0);
    await ctx.close();
  });

  it('fits a phone: every screen without sideways scrolling, keyboard reachable, and says so when the service is unreachable', async () => {
    const { ctx, page } = await newPage(PHONE);
    await signIn(page, 'eve');
    for (const [hash, name] of [['lookup/A-1', 'lookup'], ['correct', 'correct'], ['count', 'count'], ['queue', 'queue'], ['channels', 'channels'], ['users', 'users']] as const) {
      await page.goto(`${base}/app#/${hash}`);
      await poll(() => page.locator('main h1').first().isVisible()).toBe(true);
      await page.waitForLoadState('networkidle');
      if (name === 'lookup') await poll(() => page.getByRole('region', { name: 'Stock per location' }).isVisible()).toBe(true);
      if (name === 'channels') await poll(() => page.locator('main').textContent()).toMatch(/No channels configured|Channel/);
      await shot(page, `${name}-phone`);
      // What sticks out, to name it when this fails (scrolling tables and the nav scroll by design).
      const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap, nav'))
        .slice(0, 5).map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`));
      expect(await page.evaluate(() => document.documentElement.scrollWidth), `${name}: ${wide.join(', ')}`).toBeLessThanOrEqual(PHONE.width);
    }
    await page.setViewportSize(DESKTOP);
    for (const [hash, name] of [['queue', 'queue'], ['count', 'count'], ['channels', 'channels']] as const) {
      await page.goto(`${base}/app#/${hash}`);
      await page.waitForLoadState('networkidle');
      await shot(page, `${name}-desktop`);
    }
    await page.setViewportSize(PHONE);
    // Keyboard alone: Tab reaches the search box and Enter looks up.
    await page.goto(`${base}/app#/lookup`);
    await page.getByLabel('SKU or barcode').focus();
    await page.keyboard.type('A-1');
    await page.keyboard.press('Enter');
    await poll(() => page.locator('h2').textContent()).toBe('A-1');
    // The service goes away: the screen says so instead of going blank.
    await page.route('**/v1/**', (r) => r.abort('connectionrefused'));
    await page.getByLabel('SKU or barcode').fill('A-2');
    await page.keyboard.press('Enter');
    await poll(() => page.getByText('Cannot reach the omnistock service').isVisible()).toBe(true);
    await shot(page, 'unreachable-phone');
    await ctx.close();
  });

  it('lets an admin add a user on screen, who can then sign in at their store', async () => {
    const { ctx, page } = await newPage(PHONE);
    await signIn(page, 'eve');
    await page.getByRole('link', { name: 'Users' }).click();
    await poll(() => page.getByRole('region', { name: 'User list' }).textContent()).toContain('alice');
    await page.getByLabel('User id').fill('nina');
    await page.getByLabel('Name').fill('Nina <b>Nieuw</b>');
    await page.getByLabel('Role').selectOption('staff');
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Add user' }).click();
    await poll(() => page.getByText('Choose at least one location.').isVisible()).toBe(true);
    await page.getByLabel('Rotterdam Lijnbaan (rot-03)').check();
    await page.getByRole('button', { name: 'Add user' }).click();
    await poll(() => page.getByText('A password needs at least 10 characters.').isVisible()).toBe(true);
    await page.getByLabel('Password').fill('nina password 1');
    await page.getByRole('button', { name: 'Add user' }).click();
    await poll(() => page.getByRole('status').textContent()).toContain('Created nina (staff).');
    await poll(() => page.getByRole('region', { name: 'User list' }).textContent()).toContain('Nina <b>Nieuw</b>');
    await shot(page, 'users-phone');
    const other = await newPage(PHONE);
    await signIn(other.page, 'nina', 'nina password 1');
    await other.page.getByRole('link', { name: 'Queue' }).click();
    await poll(() => other.page.getByRole('heading', { name: 'Queue at rot-03' }).isVisible()).toBe(true);
    await other.ctx.close();
    await ctx.close();
  });

  // The real channel API: a `custom` channel whose endpoint does not answer, so its pushes fail
  // and wait to be retried, as an operator would see a channel that is down.
  it('shows a real channel\'s status from the channel API, and its retry button asks the server to sync', async () => {
    const put = await call('PUT', '/v1/channels/own-shop', {
      kind: 'custom', pool: ['ams-01'], bufferUnits: 0,
      settings: { endpoint: 'http://127.0.0.1:9/', secret: 'a-secret-of-at-least-16', ratePerSecond: 5, burst: 5 },
    });
    expect(put.status).toBeLessThan(300);
    await stock('stock.received', 'CH-1', 'ams-01', 4);
    const { ctx, page } = await newPage(PHONE);
    await signIn(page, 'eve');
    await page.goto(`${base}/app#/channels`);
    const card = page.getByRole('article', { name: 'Channel own-shop' });
    await poll(() => card.textContent()).toContain('Pending pushes');
    const status = await call('GET', '/v1/channels/own-shop/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ channelId: 'own-shop', kind: 'custom', active: true });
    expect(await card.textContent()).toContain('Quarantined');
    const synced = page.waitForResponse((r) => r.url().endsWith('/v1/channels/own-shop/sync') && r.request().method() === 'POST');
    await card.getByRole('button', { name: 'Retry / sync now' }).click();
    expect((await synced).status()).toBe(202);
    await shot(page, 'channels-real-api-phone');
    await ctx.close();
  });

  // Rendering edge cases (a throttled channel, drift, hostile text in errors and quarantined
  // references) are set up through the browser's request interception, in the API's shape.
  it('shows last push, pending pushes, drift, throttling and quarantined items, and retries', async () => {
    const { ctx, page } = await newPage(PHONE);
    await signIn(page, 'eve');
    const syncs: Array<string | undefined> = [];
    const json = (body: unknown) => ({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
    await page.route('**/v1/channels', (r) => r.fulfill(json({ channels: [
      { id: 'shopify-main', kind: 'shopify', pool: ['ams-01'], bufferUnits: 2, settings: {}, active: true, createdAt: '2026-12-01T10:00:00Z', updatedAt: '2026-12-01T10:00:00Z' },
    ] })));
    await page.route('**/v1/channels/shopify-main/status', (r) => r.fulfill(json({
      channelId: 'shopify-main', kind: 'shopify', active: true, lastPushAt: '2026-12-05T09:30:00Z', lastPullAt: '2026-12-05T09:31:00Z', pendingPushes: 1234,
      errors: [{ at: '2026-12-05T09:29:00Z', sku: 'A-1', message: '<script>window.__pwned=5</script> 429 Too Many Requests', retryable: true }],
      throttle: { throttled: true, until: '2026-12-05T09:35:00Z', tokens: 0, ratePerSecond: 2, burst: 40 },
      drift: { checkedAt: '2026-12-05T09:00:00Z', items: 3, units: 17 }, quarantined: 2,
    })));
    await page.route('**/v1/channels/shopify-main/quarantine', (r) => r.fulfill(json({ items: [
      { id: 'q1', channelRef: 'gid://shopify/ProductVariant/1"><img src=x onerror=alert(1)>', reason: 'no SKU match', payload: {}, at: '2026-12-05T08:00:00Z' },
    ] })));
    await page.route('**/v1/channels/shopify-main/sync', (r) => {
      syncs.push(r.request().headers()['x-csrf-token']);
      return r.fulfill({ status: 202, contentType: 'application/json', body: '{}' });
    });
    await page.goto(`${base}/app#/channels`);
    const card = page.getByRole('article', { name: 'Channel shopify-main' });
    await poll(() => card.textContent()).toContain('1,234');
    // The quarantine list is a request of its own: it may render after the status figures.
    await poll(() => card.textContent()).toContain('gid://shopify/ProductVariant/1"><img src=x onerror=alert(1)>');
    const text = (await card.textContent())!;
    expect(text).toContain('3 items, 17 units');
    expect(text).toMatch(/throttled until Dec 5, 2026/);
    expect(text).toContain('<script>window.__pwned=5</script> 429 Too Many Requests');
    expect(text).toContain('gid://shopify/ProductVariant/1"><img src=x onerror=alert(1)>');
    await shot(page, 'channels-with-data-phone');
    await card.getByRole('button', { name: 'Retry / sync now' }).click();
    await poll(() => syncs.length).toBe(1);
    expect(syncs[0]).toMatch(/\S{20,}/); // the session's CSRF token
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await ctx.close();
  });
});
