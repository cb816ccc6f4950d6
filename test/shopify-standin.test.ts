// The Shopify stand-in itself: it must refuse what Shopify refuses (schema validation, the
// 2026-04 rules of inventorySetQuantities, the cost limit) and keep inventory as Shopify does.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShopifyStandIn } from './standins/shopify/shopify-stand-in.js';

interface Received { headers: http.IncomingHttpHeaders; body: string }

let shop: ShopifyStandIn;
let hook: http.Server;
const received: Received[] = [];
let ams: string;
let utr: string;

async function gql(query: string, variables: Record<string, unknown> = {}, version = '2026-04', token?: string) {
  const res = await fetch(`${shop.adminUrl}/admin/api/${version}/graphql.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-shopify-access-token': token ?? shop.accessToken },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const SET = `mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { changes(quantityNames: ["available", "on_hand"]) { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}`;

beforeAll(async () => {
  shop = await new ShopifyStandIn().start();
  hook = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  shop.deliverWebhooksTo(`http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`);
  ams = shop.addLocation('Amsterdam');
  utr = shop.addLocation('Utrecht');
  for (let i = 1; i <= 5; i++) shop.addProduct(`SKU-${i}`, { [ams]: 10 * i, [utr]: i });
});

afterAll(async () => {
  await shop.stop();
  await new Promise<void>((r) => hook.close(() => r()));
});

describe('Shopify stand-in: schema validation', () => {
  it('refuses a field the published schema does not have, as Shopify does (200 with errors, no data)', async () => {
    const r = await gql('{ shop { name inventoryWizard } }');
    expect(r.status).toBe(200);
    expect(r.body.data).toBeUndefined();
    expect(r.body.errors[0].message).toMatch(/Cannot query field "inventoryWizard" on type "Shop"/);
  });

  it('refuses a wrong argument type and an unknown directive', async () => {
    const r = await gql('{ locations(first: "ten") { nodes { id } } }');
    expect(r.body.errors[0].message).toMatch(/Int cannot represent/);
    const d = await gql('{ locations(first: 1) @cached { nodes { id } } }');
    expect(d.body.errors[0].message).toMatch(/Unknown directive "@cached"/);
  });

  it('answers 401 to a wrong access token', async () => {
    const r = await gql('{ locations(first: 1) { nodes { id } } }', {}, '2026-04', 'shpat_wrong');
    expect(r.status).toBe(401);
  });

  it('refuses a query over the single-query cost limit', async () => {
    const r = await gql('{ inventoryItems(first: 250) { nodes { inventoryLevels(first: 250) { nodes { id location { id } } } } } }');
    expect(r.body.errors[0].extensions.code).toBe('MAX_COST_EXCEEDED');
  });
});

describe('Shopify stand-in: reading inventory', () => {
  it('pages locations and inventory items by cursor, with quantities(names:)', async () => {
    const locs = await gql('{ locations(first: 10) { nodes { id name isActive } } }');
    expect(locs.body.data.locations.nodes.map((l: any) => l.name)).toEqual(['Amsterdam', 'Utrecht']);
    expect(locs.body.extensions.cost.throttleStatus.maximumAvailable).toBe(2000);
    const skus: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const r: any = await gql(`query Items($after: String) { inventoryItems(first: 2, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node { sku variant { id } inventoryLevels(first: 5) { nodes { location { id } quantities(names: ["available", "on_hand"]) { name quantity } } } } } } }`, { after });
      pages++;
      for (const e of r.body.data.inventoryItems.edges) skus.push(e.node.sku);
      after = r.body.data.inventoryItems.pageInfo.hasNextPage ? r.body.data.inventoryItems.pageInfo.endCursor : null;
    } while (after);
    expect(pages).toBe(3);
    expect(skus).toEqual(['SKU-1', 'SKU-2', 'SKU-3', 'SKU-4', 'SKU-5']);
  });

  it('runs a bulk operation and serves JSONL with __parentId for nested nodes', async () => {
    const run = await gql(`mutation { bulkOperationRunQuery(query: """{ inventoryItems { edges { node { id sku inventoryLevels { edges { node { location { id } quantities(names: ["available"]) { name quantity } } } } } } } }""") { bulkOperation { id status } userErrors { field message } } }`);
    expect(run.body.data.bulkOperationRunQuery.userErrors).toEqual([]);
    let op: any;
    for (let i = 0; i < 50; i++) {
      op = (await gql('{ currentBulkOperation { id status url objectCount } }')).body.data.currentBulkOperation;
      if (op.status === 'COMPLETED') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(op.status).toBe('COMPLETED');
    const lines = (await (await fetch(op.url)).text()).trim().split('\n').map((l) => JSON.parse(l));
    const items = lines.filter((l) => !l.__parentId);
    const levels = lines.filter((l) => l.__parentId);
    expect(items).toHaveLength(5);
    expect(levels).toHaveLength(10);
    expect(levels.every((l) => items.some((i) => i.id === l.__parentId))).toBe(true);
  });
});

describe('Shopify stand-in: inventorySetQuantities (2026-04)', () => {
  const input = (quantity: number, changeFromQuantity: number | null | undefined, sku = 'SKU-1') => {
    const item = shop.state.itemBySku(sku)!;
    const q: Record<string, unknown> = { inventoryItemId: `gid://shopify/InventoryItem/${item.id}`, locationId: ams, quantity };
    if (changeFromQuantity !== undefined) q.changeFromQuantity = changeFromQuantity;
    return { name: 'available', reason: 'correction', referenceDocumentUri: 'omnistock://test', quantities: [q] };
  };

  it('requires @idempotent from 2026-04', async () => {
    const r = await gql('mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { code } } }', { input: input(5, 10) });
    expect(r.body.errors[0].message).toMatch(/@idempotent directive is required/);
    expect(shop.quantity('SKU-1', ams)).toBe(10);
  });

  it('requires changeFromQuantity and refuses a stale one, changing nothing', async () => {
    const missing = await gql(SET, { input: input(5, undefined), key: 'k-missing' });
    expect(missing.body.data.inventorySetQuantities.userErrors[0].field).toEqual(['input', 'quantities', '0', 'changeFromQuantity']);
    const stale = await gql(SET, { input: input(5, 9), key: 'k-stale' });
    expect(stale.body.data.inventorySetQuantities.userErrors[0].code).toBe('CHANGE_FROM_QUANTITY_STALE');
    expect(shop.quantity('SKU-1', ams)).toBe(10);
  });

  it('sets available (on_hand follows) once per idempotency key, and refuses the key with other parameters', async () => {
    const ok = await gql(SET, { input: input(7, 10), key: 'k-1' });
    expect(ok.body.data.inventorySetQuantities.userErrors).toEqual([]);
    expect(ok.body.data.inventorySetQuantities.inventoryAdjustmentGroup.changes).toEqual([
      { name: 'available', delta: -3, quantityAfterChange: 7 }, { name: 'on_hand', delta: -3, quantityAfterChange: 7 },
    ]);
    shop.merchantSetAvailable('SKU-1', ams, 8);
    const again = await gql(SET, { input: input(7, 10), key: 'k-1' });
    expect(again.body.data.inventorySetQuantities.userErrors).toEqual([]);
    expect(shop.quantity('SKU-1', ams)).toBe(8); // the replay applied nothing
    const mismatch = await gql(SET, { input: input(6, 8), key: 'k-1' });
    expect(mismatch.body.data.inventorySetQuantities.userErrors[0].code).toBe('IDEMPOTENCY_KEY_PARAMETER_MISMATCH');
    expect(shop.quantity('SKU-1', ams)).toBe(8);
  });

  it('refuses an unknown inventory item with a userError', async () => {
    const bad = input(1, 0);
    (bad.quantities[0] as any).inventoryItemId = 'gid://shopify/InventoryItem/999999';
    const r = await gql(SET, { input: bad, key: 'k-bad' });
    expect(r.body.data.inventorySetQuantities.userErrors[0].code).toBe('INVALID_INVENTORY_ITEM');
  });
});

describe('Shopify stand-in: cost bucket and faults', () => {
  it('answers THROTTLED with throttleStatus when the bucket is short, and recovers at the restore rate', async () => {
    // Restore paused while the bucket is empty, so the first answer is THROTTLED however slow
    // the machine is; then the bucket refills at the rate set.
    shop.setRestoreRate(0);
    shop.bucket.drain();
    const r = await gql('{ locations(first: 10) { nodes { id } } }');
    expect(r.body.errors[0].extensions.code).toBe('THROTTLED');
    expect(r.body.extensions.cost.throttleStatus.currentlyAvailable).toBe(0);
    expect(r.body.extensions.cost.requestedQueryCost).toBeGreaterThan(0);
    shop.setRestoreRate(1000);
    const at1000 = await gql('{ shop { id } }');
    expect(at1000.body.extensions.cost.throttleStatus.restoreRate).toBe(1000);
    await expect.poll(async () => (await gql('{ locations(first: 10) { nodes { id } } }')).body.data?.locations.nodes.length, { timeout: 5_000, interval: 20 }).toBe(2);
    shop.setRestoreRate(100);
  });

  it('answers an injected 5xx without doing anything', async () => {
    shop.failNext(1, 502);
    expect((await gql('{ locations(first: 1) { nodes { id } } }')).status).toBe(502);
    expect((await gql('{ locations(first: 1) { nodes { id } } }')).status).toBe(200);
  });
});

describe('Shopify stand-in: orders and webhooks', () => {
  it('an order commits units (available drops, on_hand does not) and sends signed webhooks with Shopify headers', async () => {
    received.length = 0;
    const before = shop.quantity('SKU-2', utr)!;
    const id = shop.placeOrder({ lines: [{ sku: 'SKU-2', quantity: 1 }], locationId: utr });
    await shop.webhooks.flush();
    expect(shop.quantity('SKU-2', utr)).toBe(before - 1);
    expect(shop.quantity('SKU-2', utr, 'committed')).toBe(1);
    expect(shop.quantity('SKU-2', utr, 'on_hand')).toBe(before);
    expect(received.map((r) => r.headers['x-shopify-topic'])).toEqual(['orders/create', 'inventory_levels/update']);
    for (const r of received) {
      expect(r.headers['x-shopify-hmac-sha256']).toBe(createHmac('sha256', shop.apiSecret).update(r.body).digest('base64'));
      expect(r.headers['x-shopify-shop-domain']).toBe(shop.shop);
      expect(r.headers['x-shopify-api-version']).toBe('2026-04');
      expect(r.headers['x-shopify-webhook-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.headers['x-shopify-triggered-at']).toBeTruthy();
    }
    const order = JSON.parse(received[0]!.body);
    expect(order.id).toBe(id);
    expect(order.line_items[0]).toMatchObject({ sku: 'SKU-2', quantity: 1 });
    const level = JSON.parse(received[1]!.body);
    expect(level).toMatchObject({ location_id: Number(utr.split('/').pop()), available: before - 1 });

    shop.cancelOrder(id);
    await shop.webhooks.flush();
    expect(shop.quantity('SKU-2', utr)).toBe(before);
    expect(shop.quantity('SKU-2', utr, 'committed')).toBe(0);
  });

  it('fulfilment takes units out of on_hand; a refund with restock returns them to available', async () => {
    const id = shop.placeOrder({ lines: [{ sku: 'SKU-3', quantity: 2 }], locationId: ams });
    shop.fulfil(id);
    expect(shop.quantity('SKU-3', ams, 'on_hand')).toBe(28);
    shop.refundWithRestock(id, [{ sku: 'SKU-3', quantity: 1 }]);
    expect(shop.quantity('SKU-3', ams)).toBe(29);
    await shop.webhooks.flush();
    const refund = JSON.parse(received.filter((r) => r.headers['x-shopify-topic'] === 'refunds/create').at(-1)!.body);
    expect(refund.refund_line_items[0]).toMatchObject({ quantity: 1, restock_type: 'return', line_item: { sku: 'SKU-3' } });
  });

  it('duplicates and reorders deliveries on request', async () => {
    received.length = 0;
    shop.webhooks.duplicateNext(1);
    shop.webhooks.hold();
    const id = shop.placeOrder({ lines: [{ sku: 'SKU-4', quantity: 1 }], locationId: ams });
    shop.cancelOrder(id);
    shop.webhooks.release('reversed');
    await shop.webhooks.flush();
    const topics = received.map((r) => r.headers['x-shopify-topic']);
    expect(topics[0]).toBe('inventory_levels/update');
    expect(topics.indexOf('orders/cancelled')).toBeLessThan(topics.indexOf('orders/create'));
    const ids = received.map((r) => r.headers['x-shopify-webhook-id']);
    expect(new Set(ids).size).toBe(ids.length - 1);
  });
});
