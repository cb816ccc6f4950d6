// The connector contract suite (connectors/contract-suite.ts) for the `shopify` kind, against
// the Shopify stand-in.
import { defineConnectorContract, type ContractItem, type SignedDelivery } from '../connectors/contract-suite.js';
import { shopifyKind } from '../connectors/shopify/shopify-kind.js';
import type { ChannelKindDefinition } from '../connectors/channel-connector.js';
import { ShopifyStandIn } from './standins/shopify/shopify-stand-in.js';
import { webhookHeaders } from './standins/shopify/webhook-sender.js';

defineConnectorContract({
  name: 'shopify',
  kind: shopifyKind as ChannelKindDefinition<unknown>,
  async setUp() {
    const shop = await new ShopifyStandIn({ shop: 'contract.myshopify.com' }).start();
    const ams = shop.addLocation('Amsterdam');
    const items: ContractItem[] = ['C-1', 'C-2', 'C-3'].map((sku) => {
      shop.addProduct(sku, { [ams]: 0 });
      return { sku, channelLocation: ams };
    });
    const signed = (topic: string, body: unknown): SignedDelivery => {
      const raw = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      const headers = webhookHeaders(
        { webhookId: crypto.randomUUID(), eventId: crypto.randomUUID(), topic, body: raw.toString(), triggeredAt: new Date().toISOString() },
        { url: '', secret: shop.apiSecret, shopDomain: shop.shop, apiVersion: '2026-04' },
      );
      return { raw, headers };
    };
    return {
      settings: { shop: shop.shop, accessToken: shop.accessToken, apiSecret: shop.apiSecret, adminUrl: shop.adminUrl, locationMap: { [ams]: 'ams-01' } },
      pool: ['ams-01'],
      items,
      unlisted: { sku: 'C-404', channelLocation: ams },
      shown: async (i) => shop.quantity(i.sku, i.channelLocation!),
      setShown: async (i, q) => shop.merchantSetAvailable(i.sku, i.channelLocation!, q),
      webhooks: {
        valid: () => signed('orders/create', { id: 4242, created_at: new Date().toISOString(), line_items: [{ id: 1, sku: 'C-1', quantity: 1 }] }),
        unknownTopic: () => signed('products/update', { id: 1 }),
        malformed: () => signed('orders/create', { id: 'not-a-number', line_items: 'none' }),
      },
      tearDown: () => shop.stop(),
    };
  },
});
