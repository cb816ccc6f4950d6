// The Amazon SP-API stand-in itself: LWA tokens, orders with paging and a visibility window,
// listings patches, the feed lifecycle with item-level errors, published rate limits and 429
// storms, and refusal of requests that break the Swagger models.
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { AmazonStandIn, type AmazonStandInOptions } from './standins/amazon/amazon-standin.js';
import { newAjv, SwaggerModel } from './standins/amazon/swagger.js';

let amazon: AmazonStandIn;
afterEach(async () => {
  await amazon?.stop();
});

async function start(o: AmazonStandInOptions = {}) {
  amazon = await new AmazonStandIn({ ordersVisibilityLagMs: 0, feedQueueMs: 50, feedProcessingMs: 50, ...o }).start();
  return amazon;
}

async function token(a = amazon): Promise<string> {
  const res = await fetch(a.lwaUrl, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: a.refreshToken, client_id: a.clientId, client_secret: a.clientSecret }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function call(tok: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${amazon.url}${path}`, {
    method, headers: { 'x-amz-access-token': tok, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

const ordersPath = (q: Record<string, string>) => `/orders/v0/orders?${new URLSearchParams({ MarketplaceIds: amazon.marketplaceId, ...q })}`;
const listingPath = (sku: string) => `/listings/2021-08-01/items/${amazon.sellerId}/${encodeURIComponent(sku)}?marketplaceIds=${amazon.marketplaceId}`;
const availability = (quantity: unknown) => ({
  productType: 'PRODUCT',
  patches: [{ op: 'replace', path: '/attributes/fulfillment_availability', value: [{ fulfillment_channel_code: 'DEFAULT', quantity }] }],
});

describe('Amazon SP-API stand-in', () => {
  it('checks answers against the models (a wrong one is caught)', () => {
    const model = new SwaggerModel(newAjv(), 'models/ordersV0.json');
    const { op } = model.match('GET', '/orders/v0/orders')!;
    expect(model.validateResponse(op, 200, { payload: { Orders: [{ AmazonOrderId: '1', LastUpdateDate: 'x', OrderStatus: 'Lost', PurchaseDate: 'x' }] } })).toEqual([expect.stringMatching(/OrderStatus: must be equal to one of the allowed values/)]);
    expect(model.validateResponse(op, 200, { payload: { Orders: [] } })).toEqual([]);
  });

  it('issues LWA access tokens for the refresh token and refuses calls without a live one', async () => {
    let now = Date.parse('2026-12-01T10:00:00Z');
    await start({ accessTokenTtlSeconds: 1, now: () => now });
    const bad = await fetch(amazon.lwaUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: amazon.refreshToken, client_id: amazon.clientId, client_secret: 'nope' }) });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
    const res = await fetch(amazon.lwaUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: amazon.refreshToken, client_id: amazon.clientId, client_secret: amazon.clientSecret }) });
    expect(await res.json()).toEqual({ access_token: expect.stringMatching(/^Atza\|/), refresh_token: amazon.refreshToken, token_type: 'bearer', expires_in: 1 });
    expect((await call('Atza|forged', 'GET', ordersPath({ LastUpdatedAfter: '2026-01-01T00:00:00Z' }))).body.errors[0].code).toBe('Unauthorized');
    const tok = await token();
    expect((await call(tok, 'GET', ordersPath({ LastUpdatedAfter: '2026-01-01T00:00:00Z' }))).status).toBe(200);
    now += 1000;
    expect((await call(tok, 'GET', ordersPath({ LastUpdatedAfter: '2026-01-01T00:00:00Z' }))).status).toBe(403);
    expect(amazon.violations).toEqual([]);
  });

  it('pages orders by last update with NextToken, filters by channel and status, and states the window it covered', async () => {
    let now = Date.parse('2026-12-01T10:00:00Z');
    await start({ now: () => now });
    const tok = await token();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      now += 1000;
      ids.push(amazon.createOrder({ items: [{ sku: `A-${i}`, quantity: 1 }], fulfillmentChannel: i === 2 ? 'AFN' : 'MFN', postalCode: '10115' }).AmazonOrderId);
    }
    now += 1000;
    const first = await call(tok, 'GET', ordersPath({ LastUpdatedAfter: '2026-12-01T10:00:00Z', FulfillmentChannels: 'MFN', MaxResultsPerPage: '2' }));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-amzn-ratelimit-limit')).toBe('0.0167');
    expect(first.body.payload.Orders.map((o: any) => o.AmazonOrderId)).toEqual([ids[0], ids[1]]);
    expect(first.body.payload.LastUpdatedBefore).toBe(new Date(now).toISOString());
    // an order updated while the pages are read leaves this window and shows in the next one
    now += 1000;
    amazon.shipOrder(ids[0]!);
    const second = await call(tok, 'GET', ordersPath({ NextToken: first.body.payload.NextToken }));
    expect(second.body.payload.Orders.map((o: any) => o.AmazonOrderId)).toEqual([ids[3], ids[4]]);
    expect(second.body.payload.NextToken).toBeUndefined();
    const next = await call(tok, 'GET', ordersPath({ LastUpdatedAfter: first.body.payload.LastUpdatedBefore }));
    expect(next.body.payload.Orders).toEqual([expect.objectContaining({ AmazonOrderId: ids[0], OrderStatus: 'Shipped', FulfillmentChannel: 'MFN', ShippingAddress: { Name: '', PostalCode: '10115', CountryCode: 'DE' } })]);
    const canceled = await call(tok, 'GET', ordersPath({ LastUpdatedAfter: '2026-12-01T10:00:00Z', OrderStatuses: 'Canceled' }));
    expect(canceled.body.payload.Orders).toEqual([]);
    expect(amazon.violations).toEqual([]);
  });

  it('hides updates younger than two minutes, as SP-API does, and refuses a LastUpdatedBefore inside them', async () => {
    let now = Date.parse('2026-12-01T10:00:00Z');
    await start({ ordersVisibilityLagMs: 120_000, now: () => now });
    const tok = await token();
    amazon.createOrder({ items: [{ sku: 'A-1', quantity: 1 }] });
    now += 60_000;
    const early = await call(tok, 'GET', ordersPath({ LastUpdatedAfter: '2026-12-01T09:00:00Z' }));
    expect(early.body.payload.Orders).toEqual([]);
    expect(early.body.payload.LastUpdatedBefore).toBe('2026-12-01T09:59:00.000Z');
    now += 61_000;
    expect((await call(tok, 'GET', ordersPath({ LastUpdatedAfter: early.body.payload.LastUpdatedBefore }))).body.payload.Orders).toHaveLength(1);
    const tooLate = await call(tok, 'GET', ordersPath({ LastUpdatedAfter: '2026-12-01T09:00:00Z', LastUpdatedBefore: new Date(now - 1000).toISOString() }));
    expect(tooLate.status).toBe(400);
    expect(tooLate.body.errors[0]).toMatchObject({ code: 'InvalidInput', message: expect.stringMatching(/two minutes/) });
  });

  it('serves order items with paging, and MFN orders take units off the listing until cancelled', async () => {
    await start({ orderItemsPageSize: 1 });
    const tok = await token();
    amazon.setListing('A-1', 10);
    amazon.setListing('B-2', 4);
    const o = amazon.createOrder({ items: [{ sku: 'A-1', quantity: 2 }, { sku: 'B-2', quantity: 1 }] });
    expect(amazon.listingQuantity('A-1')).toBe(8);
    const p1 = await call(tok, 'GET', `/orders/v0/orders/${o.AmazonOrderId}/orderItems`);
    expect(p1.body.payload.OrderItems).toEqual([expect.objectContaining({ SellerSKU: 'A-1', QuantityOrdered: 2, QuantityShipped: 0 })]);
    const p2 = await call(tok, 'GET', `/orders/v0/orders/${o.AmazonOrderId}/orderItems?NextToken=${p1.body.payload.NextToken}`);
    expect(p2.body.payload.OrderItems).toEqual([expect.objectContaining({ SellerSKU: 'B-2', QuantityOrdered: 1 })]);
    expect(p2.body.payload.NextToken).toBeUndefined();
    amazon.cancelOrder(o.AmazonOrderId);
    expect(amazon.listingQuantity('A-1')).toBe(10);
    amazon.createOrder({ items: [{ sku: 'A-1', quantity: 3 }], fulfillmentChannel: 'AFN' });
    expect(amazon.listingQuantity('A-1')).toBe(10);
    expect(amazon.violations).toEqual([]);
  });

  it('patches fulfillment_availability, and answers INVALID with issues for bad values, unknown SKUs and injected errors', async () => {
    await start();
    const tok = await token();
    amazon.setListing('A-1', 0);
    const ok = await call(tok, 'PATCH', listingPath('A-1'), availability(7));
    expect(ok.body).toEqual({ sku: 'A-1', status: 'ACCEPTED', submissionId: expect.any(String), issues: [] });
    expect(amazon.listingQuantity('A-1')).toBe(7);
    const read = await call(tok, 'GET', `${listingPath('A-1')}&includedData=fulfillmentAvailability`);
    expect(read.body).toEqual({ sku: 'A-1', fulfillmentAvailability: [{ fulfillmentChannelCode: 'DEFAULT', quantity: 7 }] });
    expect((await call(tok, 'PATCH', listingPath('A-1'), availability(1.5))).body).toMatchObject({ status: 'INVALID', issues: [{ code: '90244', severity: 'ERROR' }] });
    expect((await call(tok, 'PATCH', listingPath('NOPE'), availability(1))).body).toMatchObject({ status: 'INVALID', issues: [{ code: '4000001' }] });
    amazon.injectPatchError('A-1', { code: '5000', message: 'temporarily unavailable' });
    expect((await call(tok, 'PATCH', listingPath('A-1'), availability(3))).body).toMatchObject({ status: 'INVALID', issues: [{ code: '5000' }] });
    expect(amazon.listingQuantity('A-1')).toBe(7);
    expect(amazon.violations).toEqual([]);
  });

  it('refuses requests that break the models, naming the problem', async () => {
    await start();
    const tok = await token();
    const noMarket = await call(tok, 'GET', '/orders/v0/orders?LastUpdatedAfter=2026-01-01T00:00:00Z');
    expect(noMarket.status).toBe(400);
    expect(noMarket.body.errors).toEqual([{ code: 'InvalidInput', message: 'query parameter MarketplaceIds: required', details: '' }]);
    expect((await call(tok, 'GET', ordersPath({ LastUpdatedAfter: '2026-01-01T00:00:00Z', Since: 'x' }))).body.errors[0].message).toBe('query parameter Since is not part of getOrders');
    expect((await call(tok, 'GET', ordersPath({ LastUpdatedAfter: '2026-01-01T00:00:00Z', OrderStatuses: 'Unshipped,Lost' }))).status).toBe(400);
    expect((await call(tok, 'GET', ordersPath({}))).body.errors[0].message).toMatch(/CreatedAfter or LastUpdatedAfter/);
    const noProductType = await call(tok, 'PATCH', listingPath('A-1'), { patches: availability(1).patches });
    expect(noProductType.status).toBe(400);
    expect(noProductType.body.errors[0].message).toMatch(/body: must have required property 'productType'/);
    const badOp = await call(tok, 'PATCH', listingPath('A-1'), { productType: 'PRODUCT', patches: [{ op: 'set', path: '/attributes/fulfillment_availability', value: [] }] });
    expect(badOp.body.errors[0].message).toMatch(/body\.patches\.0\.op: must be equal to one of the allowed values/);
    expect((await call(tok, 'POST', '/feeds/2021-06-30/feeds', { feedType: 'JSON_LISTINGS_FEED', marketplaceIds: [] })).status).toBe(400);
    expect(amazon.violations.length).toBeGreaterThanOrEqual(6);
    expect(amazon.violations.every((v) => v.where.startsWith('request of'))).toBe(true);
  });

  it('enforces each operation\'s published rate and burst with 429 QuotaExceeded and x-amzn-RateLimit-Limit', async () => {
    let t = 0;
    await start({ rateClock: () => t });
    expect(amazon.plan('patchListingsItem')).toEqual({ perSecond: 5, burst: 5 });
    expect(amazon.plan('createFeed')).toEqual({ perSecond: 0.0083, burst: 15 });
    expect(amazon.plan('getOrders')).toEqual({ perSecond: 0.0167, burst: 20 });
    expect(amazon.plan('getOrderItems')).toEqual({ perSecond: 0.5, burst: 30 });
    expect(amazon.plan('getFeed')).toEqual({ perSecond: 2, burst: 15 });
    const tok = await token();
    amazon.setListing('A-1', 0);
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await call(tok, 'PATCH', listingPath('A-1'), availability(i))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    const limited = await call(tok, 'PATCH', listingPath('A-1'), availability(9));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-amzn-ratelimit-limit')).toBe('5');
    expect(limited.body).toEqual({ errors: [{ code: 'QuotaExceeded', message: 'You exceeded your quota for the requested resource.', details: '' }] });
    t += 200; // one token at 5/s
    expect((await call(tok, 'PATCH', listingPath('A-1'), availability(9))).status).toBe(200);
    expect((await call(tok, 'PATCH', listingPath('A-1'), availability(9))).status).toBe(429);
    const orders = [];
    for (let i = 0; i < 21; i++) orders.push((await call(tok, 'GET', ordersPath({ LastUpdatedAfter: '2026-01-01T00:00:00Z' }))).status);
    expect(orders.filter((s) => s === 200)).toHaveLength(20);
    expect(orders[20]).toBe(429);
    t += 60_000; // getOrders refills one token a minute (0.0167/s)
    expect((await call(tok, 'GET', ordersPath({ LastUpdatedAfter: '2026-01-01T00:00:00Z' }))).status).toBe(200);
    expect((await call(tok, 'GET', ordersPath({ LastUpdatedAfter: '2026-01-01T00:00:00Z' }))).status).toBe(429);
    expect(amazon.violations).toEqual([]);
  });

  it('throttles everything named in a 429 storm, then recovers', async () => {
    let t = 0;
    await start({ rateClock: () => t });
    const tok = await token();
    amazon.storm({ operations: ['getOrders'], count: 3 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(tok, 'GET', ordersPath({ LastUpdatedAfter: '2026-01-01T00:00:00Z' }))).status);
    expect(statuses).toEqual([429, 429, 429, 200]);
    amazon.setListing('A-1', 1);
    expect((await call(tok, 'PATCH', listingPath('A-1'), availability(2))).status).toBe(200);
    amazon.storm({ forMs: 200 });
    expect((await call(tok, 'PATCH', listingPath('A-1'), availability(3))).status).toBe(429);
    t += 250;
    expect((await call(tok, 'PATCH', listingPath('A-1'), availability(3))).status).toBe(200);
  });

  it('runs a JSON_LISTINGS_FEED through its states and reports item-level errors per SKU', async () => {
    await start({ gzipReports: true });
    const tok = await token();
    for (const sku of ['A-1', 'B-2', 'C-3']) amazon.setListing(sku, 0);
    amazon.injectFeedItemError('B-2', { code: '8541', message: 'SKU mismatch' });
    const created = await call(tok, 'POST', '/feeds/2021-06-30/documents', { contentType: 'application/json; charset=UTF-8' });
    expect(created.status).toBe(201);
    const feedDoc = {
      header: { sellerId: amazon.sellerId, version: '2.0', issueLocale: 'en_US' },
      messages: ['A-1', 'B-2', 'C-3', 'NOPE'].map((sku, i) => ({ messageId: i + 1, sku, operationType: 'PATCH', productType: 'PRODUCT', patches: availability(10 + i).patches })),
    };
    const wrongType = await fetch(created.body.url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(feedDoc) });
    expect(wrongType.status).toBe(403);
    amazon.violations.length = 0;
    const put = await fetch(created.body.url, { method: 'PUT', headers: { 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify(feedDoc) });
    expect(put.status).toBe(200);
    const feed = await call(tok, 'POST', '/feeds/2021-06-30/feeds', { feedType: 'JSON_LISTINGS_FEED', marketplaceIds: [amazon.marketplaceId], inputFeedDocumentId: created.body.feedDocumentId });
    expect(feed.status).toBe(202);
    const seen = new Set<string>();
    let status: any;
    for (let i = 0; i < 100; i++) {
      status = (await call(tok, 'GET', `/feeds/2021-06-30/feeds/${feed.body.feedId}`)).body;
      seen.add(status.processingStatus);
      if (status.processingStatus === 'DONE') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect([...seen]).toEqual(expect.arrayContaining(['IN_QUEUE', 'DONE']));
    const docInfo = await call(tok, 'GET', `/feeds/2021-06-30/documents/${status.resultFeedDocumentId}`);
    expect(docInfo.body.compressionAlgorithm).toBe('GZIP');
    const report = JSON.parse(gunzipSync(Buffer.from(await (await fetch(docInfo.body.url)).arrayBuffer())).toString('utf8'));
    expect(report.summary).toEqual({ errors: 2, warnings: 0, messagesProcessed: 4, messagesAccepted: 2, messagesInvalid: 2 });
    expect(report.issues).toEqual([
      expect.objectContaining({ messageId: 2, sku: 'B-2', code: '8541', severity: 'ERROR' }),
      expect.objectContaining({ messageId: 4, sku: 'NOPE', code: '4000001' }),
    ]);
    expect([amazon.listingQuantity('A-1'), amazon.listingQuantity('B-2'), amazon.listingQuantity('C-3')]).toEqual([10, 0, 12]);
    expect(amazon.violations).toEqual([]);
  });

  it('lists feeds by getFeeds: filters by type, status and creation time, pages by nextToken sent alone', async () => {
    await start({ feedQueueMs: 60_000 });
    const tok = await token();
    amazon.setListing('L-1', 0);
    const feedIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const doc = await call(tok, 'POST', '/feeds/2021-06-30/documents', { contentType: 'application/json; charset=UTF-8' });
      const body = { header: { sellerId: amazon.sellerId, version: '2.0' }, messages: [{ messageId: 1, sku: 'L-1', operationType: 'PATCH', productType: 'PRODUCT', patches: availability(i).patches }] };
      expect((await fetch(doc.body.url, { method: 'PUT', headers: { 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify(body) })).status).toBe(200);
      const feed = await call(tok, 'POST', '/feeds/2021-06-30/feeds', { feedType: 'JSON_LISTINGS_FEED', marketplaceIds: [amazon.marketplaceId], inputFeedDocumentId: doc.body.feedDocumentId });
      feedIds.push(feed.body.feedId);
    }
    const since = new Date(Date.now() - 60_000).toISOString();
    const first = await call(tok, 'GET', `/feeds/2021-06-30/feeds?${new URLSearchParams({ feedTypes: 'JSON_LISTINGS_FEED', processingStatuses: 'IN_QUEUE,IN_PROGRESS', createdSince: since, pageSize: '2' })}`);
    expect(first.status).toBe(200);
    expect(first.body.feeds).toHaveLength(2);
    expect(first.body.feeds.every((f: { processingStatus: string }) => f.processingStatus === 'IN_QUEUE')).toBe(true);
    const second = await call(tok, 'GET', `/feeds/2021-06-30/feeds?${new URLSearchParams({ nextToken: first.body.nextToken })}`);
    expect(second.body.nextToken).toBeUndefined();
    expect([...first.body.feeds, ...second.body.feeds].map((f: { feedId: string }) => f.feedId).sort()).toEqual([...feedIds].sort());
    const done = await call(tok, 'GET', `/feeds/2021-06-30/feeds?${new URLSearchParams({ feedTypes: 'JSON_LISTINGS_FEED', processingStatuses: 'DONE' })}`);
    expect(done.body.feeds, JSON.stringify(done.body)).toEqual([]);
    const before = await call(tok, 'GET', `/feeds/2021-06-30/feeds?${new URLSearchParams({ feedTypes: 'JSON_LISTINGS_FEED', createdSince: since, createdUntil: new Date(Date.parse(since) + 1_000).toISOString() })}`);
    expect(before.body.feeds).toEqual([]);
    expect(amazon.violations).toEqual([]);
    // nextToken must come alone; without it feedTypes is required.
    expect((await call(tok, 'GET', `/feeds/2021-06-30/feeds?${new URLSearchParams({ nextToken: first.body.nextToken, pageSize: '2' })}`)).status).toBe(400);
    expect((await call(tok, 'GET', '/feeds/2021-06-30/feeds?pageSize=2')).status).toBe(400);
    expect((await call(tok, 'GET', '/feeds/2021-06-30/feeds?feedTypes=JSON_LISTINGS_FEED&pageSize=500')).status).toBe(400);
  });

  it('fails a feed whose document breaks the JSON_LISTINGS_FEED schema (FATAL, and listed as a violation)', async () => {
    await start();
    const tok = await token();
    amazon.setListing('A-1', 5);
    const created = await call(tok, 'POST', '/feeds/2021-06-30/documents', { contentType: 'application/json' });
    const bad = { header: { sellerId: amazon.sellerId, version: '1.0' }, messages: [{ messageId: 0, sku: 'A-1', operationType: 'PATCH' }] };
    await fetch(created.body.url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(bad) });
    const feed = await call(tok, 'POST', '/feeds/2021-06-30/feeds', { feedType: 'JSON_LISTINGS_FEED', marketplaceIds: [amazon.marketplaceId], inputFeedDocumentId: created.body.feedDocumentId });
    await new Promise((r) => setTimeout(r, 200));
    const status = await call(tok, 'GET', `/feeds/2021-06-30/feeds/${feed.body.feedId}`);
    expect(status.body.processingStatus).toBe('FATAL');
    const report = await (await fetch((await call(tok, 'GET', `/feeds/2021-06-30/documents/${status.body.resultFeedDocumentId}`)).body.url)).json() as any;
    expect(report.summary.messagesAccepted).toBe(0);
    expect(report.issues.length).toBeGreaterThan(0);
    expect(amazon.listingQuantity('A-1')).toBe(5);
    expect(amazon.violations).toEqual([expect.objectContaining({ where: `feed ${feed.body.feedId}` })]);
  });
});
