// The stand-in's shop: locations, products with variants and SKUs, inventory items and levels
// with Shopify's quantity names, and orders. Plain data and functions; the HTTP server, the
// GraphQL resolvers and the webhook sender sit around it.
//
// Shopify's quantity states (shopify.dev "inventory states"): on_hand = available + committed +
// reserved + damaged + safety_stock + quality_control. An order moves units from available to
// committed (on_hand unchanged); a fulfilment takes them out of committed and on_hand; a
// cancellation with restock moves them back to available; a refund that restocks returned units
// adds to available and on_hand; setting `available` (the admin, or inventorySetQuantities) moves
// on_hand by the same delta.

export const QUANTITY_NAMES = ['available', 'committed', 'reserved', 'damaged', 'safety_stock', 'quality_control', 'incoming', 'on_hand'] as const;
export type QuantityName = (typeof QUANTITY_NAMES)[number];

export interface ShopLocation { id: number; name: string; isActive: boolean; createdAt: string }
export interface ShopItem { id: number; variantId: number; productId: number; sku: string | null; title: string; createdAt: string }
export interface ShopLevel {
  itemId: number;
  locationId: number;
  q: Record<Exclude<QuantityName, 'on_hand'>, number>;
  createdAt: string;
  updatedAt: string;
}
export interface ShopOrderLine { id: number; itemId: number; quantity: number; fulfilled: number; refunded: number }
export interface ShopOrder {
  id: number;
  name: string;
  createdAt: string;
  cancelledAt: string | null;
  /** Where Shopify committed the units (its fulfilment-order location). */
  locationId: number;
  pickup: boolean;
  shippingAddress: { latitude: number; longitude: number } | null;
  lines: ShopOrderLine[];
}

/** A change of one level's `available`: Shopify sends inventory_levels/update for it. */
export interface LevelChange { itemId: number; locationId: number; available: number; updatedAt: string }

export const gid = (type: string, id: number | string) => `gid://shopify/${type}/${id}`;
export const levelGid = (locationId: number, itemId: number) => `gid://shopify/InventoryLevel/${locationId}?inventory_item_id=${itemId}`;

/** `gid://shopify/Location/12` → 12 (null when the id is not of that type). */
export function parseGid(value: unknown, type: string): number | null {
  if (typeof value !== 'string') return null;
  const m = new RegExp(`^gid://shopify/${type}/(\\d+)$`).exec(value);
  return m ? Number(m[1]) : null;
}

export function parseLevelGid(value: unknown): { locationId: number; itemId: number } | null {
  if (typeof value !== 'string') return null;
  const m = /^gid:\/\/shopify\/InventoryLevel\/(\d+)\?inventory_item_id=(\d+)$/.exec(value);
  return m ? { locationId: Number(m[1]), itemId: Number(m[2]) } : null;
}

export class InventoryState {
  readonly locations = new Map<number, ShopLocation>();
  readonly items = new Map<number, ShopItem>();
  readonly levels = new Map<string, ShopLevel>();
  readonly orders = new Map<number, ShopOrder>();
  /** The first item with each SKU (a catalogue of 10,000 is looked up by SKU per check). */
  private readonly bySku = new Map<string, ShopItem>();
  private nextId = 1000;

  constructor(private readonly now: () => Date = () => new Date()) {}

  id(): number {
    return ++this.nextId;
  }

  stamp(): string {
    return this.now().toISOString();
  }

  addLocation(name: string): ShopLocation {
    const loc = { id: this.id(), name, isActive: true, createdAt: this.stamp() };
    this.locations.set(loc.id, loc);
    return loc;
  }

  /** A product with one variant (and its inventory item), stocked at `available` per location. */
  addVariant(sku: string | null, available: Record<number, number> = {}): ShopItem {
    const item: ShopItem = { id: this.id(), variantId: this.id(), productId: this.id(), sku, title: sku ?? 'untitled', createdAt: this.stamp() };
    this.items.set(item.id, item);
    if (sku !== null && !this.bySku.has(sku)) this.bySku.set(sku, item);
    for (const [loc, qty] of Object.entries(available)) this.stock(item.id, Number(loc), qty);
    return item;
  }

  /** Activates the item at a location (Shopify: "stocked at") with `available` units. */
  stock(itemId: number, locationId: number, available: number): ShopLevel {
    const at = this.stamp();
    const level: ShopLevel = {
      itemId, locationId, createdAt: at, updatedAt: at,
      q: { available, committed: 0, reserved: 0, damaged: 0, safety_stock: 0, quality_control: 0, incoming: 0 },
    };
    this.levels.set(`${itemId}:${locationId}`, level);
    return level;
  }

  level(itemId: number, locationId: number): ShopLevel | undefined {
    return this.levels.get(`${itemId}:${locationId}`);
  }

  quantity(level: ShopLevel, name: QuantityName): number {
    if (name === 'on_hand') {
      const q = level.q;
      return q.available + q.committed + q.reserved + q.damaged + q.safety_stock + q.quality_control;
    }
    return level.q[name];
  }

  itemBySku(sku: string): ShopItem | undefined {
    return this.bySku.get(sku);
  }

  /** Sets `available` (on_hand follows); returns the change, or null when nothing moved. */
  setAvailable(level: ShopLevel, available: number): LevelChange | null {
    if (level.q.available === available) return null;
    level.q.available = available;
    return this.touched(level);
  }

  touched(level: ShopLevel): LevelChange {
    level.updatedAt = this.stamp();
    return { itemId: level.itemId, locationId: level.locationId, available: level.q.available, updatedAt: level.updatedAt };
  }

  /** Places an order: units move from available to committed at `locationId` (available may go negative, as Shopify allows when overselling is on). */
  placeOrder(o: { locationId: number; lines: Array<{ itemId: number; quantity: number }>; pickup?: boolean; shippingAddress?: { latitude: number; longitude: number } | null }): { order: ShopOrder; changes: LevelChange[] } {
    const id = this.id();
    const order: ShopOrder = {
      id, name: `#${id}`, createdAt: this.stamp(), cancelledAt: null, locationId: o.locationId, pickup: o.pickup ?? false,
      shippingAddress: o.shippingAddress ?? null,
      lines: o.lines.map((l) => ({ id: this.id(), itemId: l.itemId, quantity: l.quantity, fulfilled: 0, refunded: 0 })),
    };
    this.orders.set(id, order);
    const changes: LevelChange[] = [];
    for (const line of order.lines) {
      const level = this.level(line.itemId, o.locationId) ?? this.stock(line.itemId, o.locationId, 0);
      level.q.available -= line.quantity;
      level.q.committed += line.quantity;
      changes.push(this.touched(level));
    }
    return { order, changes };
  }

  /** Cancels with restock: what is still committed goes back to available. */
  cancelOrder(orderId: number): { order: ShopOrder; changes: LevelChange[] } {
    const order = this.mustOrder(orderId);
    if (order.cancelledAt) return { order, changes: [] };
    order.cancelledAt = this.stamp();
    const changes: LevelChange[] = [];
    for (const line of order.lines) {
      const open = line.quantity - line.fulfilled - line.refunded;
      if (open <= 0) continue;
      const level = this.level(line.itemId, order.locationId)!;
      level.q.committed -= open;
      level.q.available += open;
      line.refunded += open;
      changes.push(this.touched(level));
    }
    return { order, changes };
  }

  /** Fulfils lines (all open units when `lines` is absent): committed and on_hand drop; available does not move. */
  fulfil(orderId: number, lines?: Array<{ lineId: number; quantity: number }>): { order: ShopOrder; shipped: Array<{ line: ShopOrderLine; quantity: number }> } {
    const order = this.mustOrder(orderId);
    const wanted = lines ?? order.lines.map((l) => ({ lineId: l.id, quantity: l.quantity - l.fulfilled - l.refunded }));
    const shipped: Array<{ line: ShopOrderLine; quantity: number }> = [];
    for (const w of wanted) {
      const line = order.lines.find((l) => l.id === w.lineId);
      if (!line || w.quantity <= 0) continue;
      const level = this.level(line.itemId, order.locationId)!;
      level.q.committed -= w.quantity;
      line.fulfilled += w.quantity;
      this.touched(level);
      shipped.push({ line, quantity: w.quantity });
    }
    return { order, shipped };
  }

  /** A refund of fulfilled units returned to `locationId`'s shelf (restock_type "return"): available and on_hand rise. */
  refundReturn(orderId: number, lines: Array<{ lineId: number; quantity: number }>, locationId?: number): { order: ShopOrder; refundId: number; refundLines: Array<{ id: number; line: ShopOrderLine; quantity: number; locationId: number }>; changes: LevelChange[] } {
    const order = this.mustOrder(orderId);
    const refundId = this.id();
    const refundLines: Array<{ id: number; line: ShopOrderLine; quantity: number; locationId: number }> = [];
    const changes: LevelChange[] = [];
    for (const w of lines) {
      const line = order.lines.find((l) => l.id === w.lineId);
      if (!line) throw new Error(`order ${orderId} has no line ${w.lineId}`);
      const loc = locationId ?? order.locationId;
      const level = this.level(line.itemId, loc) ?? this.stock(line.itemId, loc, 0);
      level.q.available += w.quantity;
      line.refunded += w.quantity;
      changes.push(this.touched(level));
      refundLines.push({ id: this.id(), line, quantity: w.quantity, locationId: loc });
    }
    return { order, refundId, refundLines, changes };
  }

  private mustOrder(id: number): ShopOrder {
    const o = this.orders.get(id);
    if (!o) throw new Error(`no order ${id}`);
    return o;
  }
}
