// The SP-API client against the stand-in: plans agree with the models, calls wait for their
// operation's bucket instead of collecting 429s, a 429 storm and a revoked token converge, and
// an error list that retrying cannot fix is thrown with its codes.
import { afterEach, describe, expect, it } from 'vitest';
import { AmazonStandIn } from '../../test/standins/amazon/amazon-standin.js';
import { LwaTokenSource } from './lwa-token.js';
import { PUBLISHED_PLANS } from './rate-plan.js';
import { SpApiCallError, SpApiClient } from './sp-api-client.js';

let amazon: AmazonStandIn;
afterEach(async () => {
  await amazon?.stop();
});

function client(a: AmazonStandIn, rateScale = 1) {
  const lwa = new LwaTokenSource({ clientId: a.clientId, clientSecret: a.clientSecret, refreshToken: a.refreshToken, lwaUrl: a.lwaUrl });
  return new SpApiClient({ endpoint: a.url, lwa, rateScale });
}

const patch = (q: number) => ({ productType: 'PRODUCT', patches: [{ op: 'replace', path: '/attributes/fulfillment_availability', value: [{ fulfillment_channel_code: 'DEFAULT', quantity: q }] }] });

describe('SpApiClient', () => {
  it('uses the plans the models publish', async () => {
    amazon = await new AmazonStandIn().start();
    for (const [op, plan] of Object.entries(PUBLISHED_PLANS)) expect([op, plan]).toEqual([op, amazon.plan(op)]);
  });

  it('waits for its bucket: twelve patches at 5/s burst 5, paced instead of throttled', async () => {
    amazon = await new AmazonStandIn().start();
    amazon.setListing('A-1', 0);
    const sp = client(amazon);
    const t0 = performance.now();
    for (let q = 1; q <= 12; q++) {
      const r = await sp.call<{ status: string }>('patchListingsItem', 'PATCH', `/listings/2021-08-01/items/${amazon.sellerId}/A-1`, { query: { marketplaceIds: amazon.marketplaceId }, body: patch(q) });
      expect(r.status).toBe('ACCEPTED');
    }
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1300); // 7 beyond the burst at 5/s
    // at most the odd 429 from travel-time jitter between the two buckets (retried), not a stream of them
    expect(amazon.calls.filter((c) => c.status === 429).length).toBeLessThanOrEqual(1);
    expect(amazon.calls.filter((c) => c.status === 200)).toHaveLength(12);
    expect(amazon.listingQuantity('A-1')).toBe(12);
    expect(amazon.violations).toEqual([]);
  });

  it('rides out a 429 storm and a revoked token', async () => {
    // getOrders refills one token a minute: both sides sped up 100× (0.6 s a token)
    amazon = await new AmazonStandIn({ ordersVisibilityLagMs: 0, rateScale: 100 }).start();
    const sp = client(amazon, 100);
    amazon.storm({ operations: ['getFeed', 'getOrders'], count: 3 });
    amazon.createOrder({ items: [{ sku: 'A-1', quantity: 1 }] });
    await new Promise((r) => setTimeout(r, 5));
    const orders = await sp.call<{ payload: { Orders: unknown[] } }>('getOrders', 'GET', '/orders/v0/orders', { query: { MarketplaceIds: amazon.marketplaceId, LastUpdatedAfter: '2026-01-01T00:00:00Z' } });
    expect(orders.payload.Orders).toHaveLength(1);
    expect(sp.throttled).toBe(3);
    amazon.revokeAccessTokens();
    const again = await sp.call<{ payload: { Orders: unknown[] } }>('getOrders', 'GET', '/orders/v0/orders', { query: { MarketplaceIds: amazon.marketplaceId, LastUpdatedAfter: '2026-01-01T00:00:00Z' } });
    expect(again.payload.Orders).toHaveLength(1);
    expect(amazon.tokenRequests).toBe(2);
    expect(amazon.violations).toEqual([]);
  });

  it('follows x-amzn-RateLimit-Limit when the account\'s plan is below the model\'s', async () => {
    amazon = await new AmazonStandIn().start();
    amazon.limits.setRate('patchListingsItem', 2);
    amazon.setListing('A-1', 0);
    const sp = client(amazon);
    for (let q = 1; q <= 10; q++) {
      await sp.call('patchListingsItem', 'PATCH', `/listings/2021-08-01/items/${amazon.sellerId}/A-1`, { query: { marketplaceIds: amazon.marketplaceId }, body: patch(q) });
    }
    expect(sp.bucket('patchListingsItem').perSecond).toBeCloseTo(2 * 0.9);
    // Paced at the advertised 2/s after the burst, so at most the odd 429, not one per call.
    expect(amazon.calls.filter((c) => c.status === 429).length).toBeLessThanOrEqual(1);
    expect(amazon.listingQuantity('A-1')).toBe(10);
  });

  it('throws what cannot be fixed by retrying, with the error list', async () => {
    amazon = await new AmazonStandIn().start();
    const sp = client(amazon);
    const err = await sp.call('getOrders', 'GET', '/orders/v0/orders', { query: { MarketplaceIds: amazon.marketplaceId } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpApiCallError);
    expect(err).toMatchObject({ status: 400, retryable: false, errors: [{ code: 'InvalidInput', message: expect.stringMatching(/CreatedAfter or LastUpdatedAfter/) }] });
  });
});
