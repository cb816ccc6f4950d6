// The GraphQL documents the connector sends (all valid against Shopify's Admin schema; the
// stand-in checks every one).
export const LOCATIONS = `query OmnistockLocations { locations(first: 250, includeInactive: true) { nodes { id name isActive } } }`;

export const LOCATION_LEVELS = `query OmnistockLevels($location: ID!, $after: String) {
  location(id: $location) {
    inventoryLevels(first: 100, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { item { id sku } quantities(names: ["available", "on_hand"]) { name quantity } }
    }
  }
}`;

export const BULK_LEVELS = `{ locations { edges { node { id inventoryLevels { edges { node { id item { id sku } quantities(names: ["available", "on_hand"]) { name quantity } } } } } } } }`;

export const RUN_BULK = `mutation OmnistockBulk($query: String!) { bulkOperationRunQuery(query: $query) { bulkOperation { id status } userErrors { field message } } }`;
export const CURRENT_BULK = `query OmnistockBulkStatus { currentBulkOperation { id status errorCode url objectCount } }`;

export const LEVELS_BY_ID = `query OmnistockReadLevels($ids: [ID!]!) {
  nodes(ids: $ids) { ... on InventoryLevel { id quantities(names: ["available", "on_hand"]) { name quantity } } }
}`;

export const ITEMS_BY_SKU = `query OmnistockItemsBySku($query: String!) { inventoryItems(first: 25, query: $query) { nodes { id sku } } }`;
export const ITEM_SKU = `query OmnistockItem($id: ID!) { inventoryItem(id: $id) { id sku } }`;

export interface QuantityNode { name: string; quantity: number }
export const figuresOf = (qs: readonly QuantityNode[]) => ({
  available: qs.find((q) => q.name === 'available')?.quantity ?? 0,
  onHand: qs.find((q) => q.name === 'on_hand')?.quantity ?? 0,
});
