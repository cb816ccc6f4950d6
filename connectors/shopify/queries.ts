// The GraphQL documents the connector sends (all valid against Shopify's Admin schema; the
// stand-in checks every one).
/** Cost: 2 + first (a location node is 1 point). */
export const LOCATIONS = `query OmnistockLocations($first: Int!, $after: String) { locations(first: $first, after: $after, includeInactive: true) { pageInfo { hasNextPage endCursor } nodes { id name isActive } } }`;
export const LOCATIONS_COST = { fixed: 2, perNode: 1 };

/** Cost: 3 + 3 × first (the level, its item and its quantities, 1 point each). */
export const LOCATION_LEVELS_COST = { fixed: 3, perNode: 3 };
export const LOCATION_LEVELS = `query OmnistockLevels($location: ID!, $after: String, $first: Int!) {
  location(id: $location) {
    inventoryLevels(first: $first, after: $after) {
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
