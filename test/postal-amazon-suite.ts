// Postal-code coordinates (docs/API.md "Postal-code coordinates") on a deployment: the bulk load
// and read API with its validation, and merchant-fulfilled Amazon orders polled from the SP-API
// stand-in routed to the location nearest their postal code when it is loaded, and without a
// destination (contract §7: fewest shipments, then rank, then id) when it is not.
// Run by postal-amazon-*.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../src/service/service.js';
import type { Deployment } from './spine/deployments.js';
import { amazonChannel, api, counted, postEvents, putLocations, startWith, waitUntil } from './channels-harness.js';
import { AmazonStandIn } from './standins/amazon/amazon-standin.js';

const UTRECHT = { country: 'NL', postalCode: '3511 AB', lat: 52.09, lon: 5.12 };
const ROTTERDAM = { country: 'nl', postalCode: '3011aa', lat: 51.92, lon: 4.48 };

export function definePostalAmazonSuite(makeDeployment: () => Promise<Deployment>) {
  let d: Deployment;
  let s: RunningService;
  let amz: AmazonStandIn;

  beforeAll(async () => {
    d = await makeDeployment();
    s = await startWith(d);
    await putLocations(s);
    amz = await new AmazonStandIn({ rateScale: 100, ordersVisibilityLagMs: 0 }).start();
    // Every location holds the SKU: without a destination the tie on shipments and rank goes to
    // the lowest id (ams-01); with one, the nearest location wins.
    await postEvents(s, ['ams-01', 'utr-02', 'wh-1'].map((l) => counted('PC-1', l, 10)));
    amz.setListing('PC-1', 0);
    const put = await api(s, 'PUT', '/v1/channels/amz', amazonChannel(amz, ['ams-01', 'utr-02', 'wh-1']));
    expect(put.status, JSON.stringify(put.json)).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await s?.stop();
    await amz?.stop();
    await d?.cleanup();
  });

  describe('postal-code API', () => {
    it('loads rows in bulk, normalised, replaces a row loaded again, and reads one back', async () => {
      const first = await api(s, 'PUT', '/v1/postal-codes', { rows: [UTRECHT, { ...ROTTERDAM, lat: 0, lon: 0 }] });
      expect(first.status, JSON.stringify(first.json)).toBe(200);
      expect(first.json).toEqual({ created: 2, updated: 0 });
      const again = await api(s, 'PUT', '/v1/postal-codes', { rows: [ROTTERDAM] });
      expect(again.json).toEqual({ created: 0, updated: 1 });
      const one = await api(s, 'GET', '/v1/postal-codes/nl/3011%20AA');
      expect(one.status).toBe(200);
      expect(one.json).toEqual({ country: 'NL', postalCode: '3011AA', lat: 51.92, lon: 4.48 });
      const missing = await api(s, 'GET', '/v1/postal-codes/NL/9999ZZ');
      expect(missing.status).toBe(404);
      expect(missing.type).toContain('application/problem+json');
    });

    it('refuses bad rows with problem+json naming the field, and loads nothing of that request', async () => {
      const cases: Array<[unknown, string]> = [
        [{ rows: [{ ...UTRECHT, postalCode: '1234AB', lat: 91 }] }, 'body.rows.0.lat'],
        [{ rows: [UTRECHT, { ...UTRECHT, postalCode: '1234AB', country: 'NLD' }] }, 'body.rows.1.country'],
        [{ rows: [{ ...UTRECHT, postalCode: '12<34' }] }, 'body.rows.0.postalCode'],
        [{ rows: [{ ...UTRECHT, postalCode: '1234AB', extra: 1 }] }, 'body.rows.0'],
        [{ rows: [] }, 'body.rows'],
        [{ rows: [{ ...UTRECHT, postalCode: '1234 AB' }, { ...UTRECHT, postalCode: '1234ab' }] }, 'body.rows.1.postalCode'],
      ];
      for (const [body, field] of cases) {
        const r = await api(s, 'PUT', '/v1/postal-codes', body);
        expect([r.status, r.type], JSON.stringify(r.json)).toEqual([400, expect.stringContaining('application/problem+json')]);
        expect(r.json.errors.map((e: { field: string }) => e.field), JSON.stringify(r.json)).toContain(field);
      }
      expect((await api(s, 'GET', '/v1/postal-codes/NL/1234AB')).status).toBe(404);
    });

    it('needs a token with the admin scope, and is in the OpenAPI at /docs', async () => {
      expect((await api(s, 'PUT', '/v1/postal-codes', { rows: [UTRECHT] }, {})).status).toBe(401);
      expect((await api(s, 'GET', '/v1/postal-codes/NL/3511AB', undefined, { authorization: 'Bearer reader-secret' })).status).toBe(403);
      const docs = await fetch(`${s.url}/docs`);
      const paths = ((await docs.json()) as { paths: Record<string, unknown> }).paths;
      expect(Object.keys(paths)).toEqual(expect.arrayContaining(['/v1/postal-codes', '/v1/postal-codes/{country}/{postalCode}']));
    });
  });

  describe('Amazon orders with postal codes', () => {
    const heldAt = async (orderId: string) => {
      const r = await api(s, 'GET', `/v1/reservations/ch:amz:${orderId}`);
      return r.status === 200 ? (r.json.lines as Array<{ locationId: string; quantity: number }>).map((l) => `${l.locationId}:${l.quantity}`) : null;
    };

    it('routes an MFN order to the location nearest a loaded postal code, and without a destination otherwise', async () => {
      const utrecht = amz.createOrder({ items: [{ sku: 'PC-1', quantity: 1 }], postalCode: '3511 ab', countryCode: 'NL' });
      const rotterdam = amz.createOrder({ items: [{ sku: 'PC-1', quantity: 2 }], postalCode: '3011 AA', countryCode: 'NL' });
      const unknownCode = amz.createOrder({ items: [{ sku: 'PC-1', quantity: 1 }], postalCode: '9999 ZZ', countryCode: 'NL' });
      const otherCountry = amz.createOrder({ items: [{ sku: 'PC-1', quantity: 1 }], postalCode: '3511 AB', countryCode: 'BE' });
      const noAddress = amz.createOrder({ items: [{ sku: 'PC-1', quantity: 1 }] });
      await new Promise((r) => setTimeout(r, 20));
      expect((await api(s, 'POST', '/v1/channels/amz/sync')).status).toBe(202);
      const ids = [utrecht, rotterdam, unknownCode, otherCountry, noAddress].map((o) => o.AmazonOrderId);
      await waitUntil(async () => (await Promise.all(ids.map(heldAt))).every((h) => h !== null), 20_000, 'every order held');
      expect(await Promise.all(ids.map(heldAt))).toEqual([['utr-02:1'], ['wh-1:2'], ['ams-01:1'], ['ams-01:1'], ['ams-01:1']]);
      expect(amz.violations).toEqual([]);
    });
  });
}
