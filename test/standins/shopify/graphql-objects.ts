// GraphQL values for the stand-in's shop: plain objects whose function-valued fields graphql-js
// calls with their arguments (its default field resolver), with `__typename` for Node lookups.
import { GraphQLError } from 'graphql';
import { gid, levelGid, QUANTITY_NAMES, type InventoryState, type QuantityName, type ShopItem, type ShopLevel, type ShopLocation } from './inventory-state.js';

export interface ConnectionArgs { first?: number | null; last?: number | null; after?: string | null; before?: string | null; reverse?: boolean | null; query?: string | null }

const MAX_PAGE = 250;
const cursorOf = (id: number) => Buffer.from(JSON.stringify({ last_id: id }), 'utf8').toString('base64');
function idOfCursor(cursor: string): number {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64').toString('utf8')) as { last_id?: unknown };
    if (typeof v.last_id === 'number') return v.last_id;
  } catch { /* fall through */ }
  throw new GraphQLError(`Invalid cursor for current pagination sort.`, { extensions: { code: 'BAD_REQUEST' } });
}

/** Shopify's cursor pagination over items sorted by id; `bulk` (a bulk operation) returns everything. */
export function connection<T>(all: Array<{ id: number; value: T }>, args: ConnectionArgs, bulk: boolean) {
  const list = [...all].sort((a, b) => a.id - b.id);
  if (args.reverse) list.reverse();
  if (!bulk) {
    if (args.first == null && args.last == null) throw new GraphQLError('you must provide one of first or last', { extensions: { code: 'BAD_REQUEST' } });
    const size = args.first ?? args.last ?? 0;
    if (size > MAX_PAGE) throw new GraphQLError(`The first argument must be less than or equal to ${MAX_PAGE}`, { extensions: { code: 'BAD_REQUEST' } });
  }
  const startIdx = args.after ? list.findIndex((x) => x.id === idOfCursor(args.after!)) + 1 : 0;
  const endIdx = args.before ? list.findIndex((x) => x.id === idOfCursor(args.before!)) : list.length;
  const window = list.slice(startIdx, endIdx < 0 ? list.length : endIdx);
  let page = window;
  if (!bulk) page = args.first != null ? window.slice(0, args.first) : window.slice(Math.max(0, window.length - (args.last ?? 0)));
  const hasNextPage = !bulk && args.first != null && window.length > page.length;
  const hasPreviousPage = !bulk && (startIdx > 0 || (args.last != null && window.length > page.length));
  return {
    edges: page.map((x) => ({ cursor: cursorOf(x.id), node: x.value })),
    nodes: page.map((x) => x.value),
    pageInfo: {
      hasNextPage, hasPreviousPage,
      startCursor: page[0] ? cursorOf(page[0].id) : null,
      endCursor: page.at(-1) ? cursorOf(page.at(-1)!.id) : null,
    },
  };
}

/** Shopify search syntax, the parts the stand-in knows: `sku:ABC` (also `sku:'A B'`), space-separated OR of terms. */
function matchesQuery(item: ShopItem, query: string | null | undefined): boolean {
  if (!query) return true;
  const skus = [...query.matchAll(/sku:(?:'([^']*)'|"([^"]*)"|(\S+))/g)].map((m) => m[1] ?? m[2] ?? m[3]);
  return skus.length === 0 || skus.includes(item.sku ?? '');
}

export class GraphqlObjects {
  constructor(private readonly state: InventoryState, private readonly bulk: boolean) {}

  location(loc: ShopLocation) {
    return {
      __typename: 'Location', id: gid('Location', loc.id), legacyResourceId: String(loc.id), name: loc.name, isActive: loc.isActive,
      isPrimary: false, fulfillsOnlineOrders: true, hasActiveInventory: true, shipsInventory: true, isFulfillmentService: false,
      activatable: false, deactivatable: true, deletable: false, addressVerified: true, hasUnfulfilledOrders: false,
      createdAt: loc.createdAt, updatedAt: loc.createdAt, deactivatedAt: null,
      inventoryLevels: (args: ConnectionArgs) => connection(
        [...this.state.levels.values()].filter((l) => l.locationId === loc.id).map((l) => ({ id: l.itemId, value: this.level(l) })), args, this.bulk),
      inventoryLevel: ({ inventoryItemId }: { inventoryItemId: string }) => this.levelById(inventoryItemId, gid('Location', loc.id)),
    };
  }

  item(item: ShopItem) {
    return {
      __typename: 'InventoryItem', id: gid('InventoryItem', item.id), legacyResourceId: String(item.id), sku: item.sku, tracked: true,
      requiresShipping: true, duplicateSkuCount: 0, createdAt: item.createdAt, updatedAt: item.createdAt,
      variant: () => this.variant(item),
      inventoryLevels: (args: ConnectionArgs) => connection(
        [...this.state.levels.values()].filter((l) => l.itemId === item.id).map((l) => ({ id: l.locationId, value: this.level(l) })), args, this.bulk),
      inventoryLevel: ({ locationId }: { locationId: string }) => this.levelById(gid('InventoryItem', item.id), locationId),
    };
  }

  variant(item: ShopItem) {
    return {
      __typename: 'ProductVariant', id: gid('ProductVariant', item.variantId), legacyResourceId: String(item.variantId), sku: item.sku,
      title: item.title, displayName: item.title, createdAt: item.createdAt, updatedAt: item.createdAt,
      inventoryItem: () => this.item(item),
      product: () => ({ __typename: 'Product', id: gid('Product', item.productId), title: item.title, legacyResourceId: String(item.productId) }),
    };
  }

  level(level: ShopLevel) {
    const item = this.state.items.get(level.itemId)!;
    const loc = this.state.locations.get(level.locationId)!;
    return {
      __typename: 'InventoryLevel', id: levelGid(level.locationId, level.itemId), canDeactivate: true, deactivationAlert: null,
      createdAt: level.createdAt, updatedAt: level.updatedAt,
      item: () => this.item(item),
      location: () => this.location(loc),
      quantities: ({ names }: { names: string[] }) => names.map((name) => {
        if (!(QUANTITY_NAMES as readonly string[]).includes(name)) {
          throw new GraphQLError(`The quantity name '${name}' is not valid. Valid names: ${QUANTITY_NAMES.join(', ')}.`, { extensions: { code: 'BAD_REQUEST' } });
        }
        return {
          __typename: 'InventoryQuantity', id: `gid://shopify/InventoryQuantity/${level.locationId}?inventory_item_id=${level.itemId}&name=${name}`,
          name, quantity: this.state.quantity(level, name as QuantityName), updatedAt: level.updatedAt,
        };
      }),
    };
  }

  levelById(itemGid: string, locationGid: string) {
    const itemId = /\/(\d+)$/.exec(itemGid)?.[1];
    const locId = /\/(\d+)$/.exec(locationGid)?.[1];
    const level = itemId && locId ? this.state.level(Number(itemId), Number(locId)) : undefined;
    return level ? this.level(level) : null;
  }

  locations(args: ConnectionArgs & { includeInactive?: boolean | null }) {
    const list = [...this.state.locations.values()].filter((l) => l.isActive || args.includeInactive);
    return connection(list.map((l) => ({ id: l.id, value: this.location(l) })), args, this.bulk);
  }

  inventoryItems(args: ConnectionArgs) {
    const list = [...this.state.items.values()].filter((i) => matchesQuery(i, args.query));
    return connection(list.map((i) => ({ id: i.id, value: this.item(i) })), args, this.bulk);
  }

  productVariants(args: ConnectionArgs) {
    const list = [...this.state.items.values()].filter((i) => matchesQuery(i, args.query));
    return connection(list.map((i) => ({ id: i.variantId, value: this.variant(i) })), args, this.bulk);
  }

  node(id: string): unknown {
    const m = /^gid:\/\/shopify\/(\w+)\/(\d+)(?:\?inventory_item_id=(\d+))?$/.exec(id);
    if (!m) return null;
    const n = Number(m[2]);
    switch (m[1]) {
      case 'Location': { const l = this.state.locations.get(n); return l ? this.location(l) : null; }
      case 'InventoryItem': { const i = this.state.items.get(n); return i ? this.item(i) : null; }
      case 'ProductVariant': { const i = [...this.state.items.values()].find((x) => x.variantId === n); return i ? this.variant(i) : null; }
      case 'InventoryLevel': { const l = m[3] ? this.state.level(Number(m[3]), n) : undefined; return l ? this.level(l) : null; }
      default: return null;
    }
  }
}
