// In-memory ATP index for routing, fed by a change stream (locations, positions, capacity use).
//
// API (class AtpIndex)
//   upsertLocation(loc: RoutingLocation): void          add or replace a location (O(1))
//   upsertPosition(p: PositionUpdate): void             set a (sku, location) position (O(1) amortised)
//   setCapacityUsed(locationId: string, usedToday: number): void   shipments assigned today (O(1))
//   atp(sku, locationId): number                        contract §4 ATP (0 for inactive/unknown)
//   locationsWithStock(sku): { locationId, atp }[]      locations with ATP > 0, in feed order
//   networkAtp(sku): number                             sum of location ATP (§4)
//   getLocation(id) / hasLocation(id) / locations()     location lookups (known locations only)
//   capacityUsed(id): number; hasCapacity(id): boolean  daily capacity state (null capacity = unlimited)
//   canShip(id): boolean                                active, ships (warehouse or shipFromStore), capacity left
//   stats(): { locations, skus, positions }
//
// ATP (§4): max(0, onHand − reserved − unavailable − safetyStock), 0 when the location is
// inactive. The index keeps only net = onHand − reserved − unavailable per position, so a
// location's safetyStock/active change is O(1) and never touches its positions; ATP is derived
// on read with core/atp.ts. Positions may arrive before their location: they count as ATP 0
// until the location is upserted.
//
// Memory layout: locations are interned to dense integer slots with per-slot typed arrays
// (coordinates in radians, flags, rank, safety stock, capacity); each SKU owns a growable pair
// of typed arrays (location slot, net) of exactly the locations that reported it — ~12 bytes
// per position, no per-position objects. SKUs seen at more than 16 locations also get an
// open-addressing slot→offset table (Int32Array, load ≤ 1/2, ~8 more bytes per position) so
// that updates stay O(1). ≈ 20–25 bytes per position in all (1M positions ≈ 25 MB).
//
// The fields and methods marked @internal are the planner's fast path (same folder only).

import { atp as coreAtp } from '../atp.js';
import { LOCATION_ID_PATTERN } from '../ids.js';
import { coordinateError, toRadians } from './geo.js';
import type { PositionUpdate, RoutingLocation } from './types.js';

/** @internal flag bits of AtpIndex.flags */
export const F_KNOWN = 1;
export const F_ACTIVE = 2;
export const F_SHIPS = 4; // warehouse, or store with shipFromStore
export const F_PICKUP = 8;
export const F_CAPACITY = 16; // capacity left today (or unlimited)
/** All bits a location needs to be a ship candidate. */
export const F_SHIP_OK = F_KNOWN | F_ACTIVE | F_SHIPS | F_CAPACITY;
/** All bits a location needs to be a pickup point. */
export const F_PICKUP_OK = F_KNOWN | F_ACTIVE | F_PICKUP;

/** @internal one SKU's positions: parallel arrays, `size` entries used. */
export interface SkuRow {
  size: number;
  locs: Int32Array;
  nets: Float64Array;
  /** Open-addressing slot → offset + 1 (0 = empty), built once the row exceeds LINEAR_MAX. */
  table: Int32Array | null;
}

const LINEAR_MAX = 16;

export interface AtpIndexStats {
  locations: number;
  skus: number;
  positions: number;
}

export class AtpIndex {
  /** @internal slot → id (includes placeholders for locations not yet upserted). */
  readonly ids: string[] = [];
  /** @internal slot → location, undefined for placeholders. */
  readonly locs: (RoutingLocation | undefined)[] = [];
  /** @internal per-slot arrays; valid for indices < slotCount. */
  latRad = new Float64Array(64);
  lonRad = new Float64Array(64);
  cosLat = new Float64Array(64);
  rank = new Float64Array(64);
  safety = new Float64Array(64);
  capUsed = new Float64Array(64);
  flags = new Uint8Array(64);

  private readonly slotById = new Map<string, number>();
  private readonly rows = new Map<string, SkuRow>();
  private positionCount = 0;
  private knownCount = 0;

  /** @internal number of slots (upper bound for slot indices). */
  get slotCount(): number {
    return this.ids.length;
  }

  /** @internal slot of a location id, or -1. */
  slotOf(id: string): number {
    return this.slotById.get(id) ?? -1;
  }

  /** @internal the positions of a SKU. */
  row(sku: string): SkuRow | undefined {
    return this.rows.get(sku);
  }

  upsertLocation(loc: RoutingLocation): void {
    if (typeof loc.id !== 'string' || !LOCATION_ID_PATTERN.test(loc.id)) {
      throw new RangeError(`id must match ${String(LOCATION_ID_PATTERN)}`);
    }
    if (loc.type !== 'store' && loc.type !== 'warehouse') throw new RangeError('type must be store or warehouse');
    const geoErr = coordinateError(loc, 'location');
    if (geoErr !== null) throw new RangeError(geoErr);
    if (!Number.isFinite(loc.rank)) throw new RangeError('rank must be a finite number');
    if (!Number.isFinite(loc.safetyStock) || loc.safetyStock < 0) throw new RangeError('safetyStock must be ≥ 0');
    if (loc.dailyCapacity !== null && !(Number.isFinite(loc.dailyCapacity) && loc.dailyCapacity >= 0)) {
      throw new RangeError('dailyCapacity must be null or ≥ 0');
    }
    const s = this.slot(loc.id);
    if (this.locs[s] === undefined) this.knownCount++;
    const copy: RoutingLocation = { ...loc };
    this.locs[s] = copy;
    const lat = toRadians(copy.lat);
    this.latRad[s] = lat;
    this.lonRad[s] = toRadians(copy.lon);
    this.cosLat[s] = Math.cos(lat);
    this.rank[s] = copy.rank;
    this.safety[s] = copy.safetyStock;
    this.refreshFlags(s);
  }

  upsertPosition(p: PositionUpdate): void {
    const net = p.onHand - p.reserved - p.unavailable;
    if (!Number.isFinite(net)) throw new RangeError('onHand, reserved and unavailable must be finite numbers');
    const s = this.slot(p.locationId);
    let row = this.rows.get(p.sku);
    if (row === undefined) {
      row = { size: 0, locs: new Int32Array(4), nets: new Float64Array(4), table: null };
      this.rows.set(p.sku, row);
    }
    const off = findOffset(row, s);
    if (off >= 0) {
      row.nets[off] = net;
      return;
    }
    if (row.size === row.locs.length) {
      const cap = row.size * 2;
      const locs = new Int32Array(cap);
      locs.set(row.locs);
      const nets = new Float64Array(cap);
      nets.set(row.nets);
      row.locs = locs;
      row.nets = nets;
    }
    const at = row.size++;
    row.locs[at] = s;
    row.nets[at] = net;
    this.positionCount++;
    if (row.table !== null && row.size * 2 <= row.table.length) tableInsert(row.table, s, at);
    else if (row.size > LINEAR_MAX) rebuildTable(row);
  }

  setCapacityUsed(locationId: string, usedToday: number): void {
    if (!Number.isFinite(usedToday) || usedToday < 0) throw new RangeError('usedToday must be ≥ 0');
    const s = this.slot(locationId);
    this.capUsed[s] = usedToday;
    this.refreshFlags(s);
  }

  atp(sku: string, locationId: string): number {
    const s = this.slotById.get(locationId);
    if (s === undefined) return 0;
    const row = this.rows.get(sku);
    if (row === undefined) return 0;
    const off = findOffset(row, s);
    if (off < 0) return 0;
    return this.atpAt(s, row.nets[off]!);
  }

  /** @internal ATP of a net position at a slot (contract §4 via core/atp.ts). */
  atpAt(slot: number, net: number): number {
    const loc = this.locs[slot];
    if (loc === undefined) return 0;
    return coreAtp({ onHand: net, reserved: 0, unavailable: 0, safetyStock: loc.safetyStock, active: loc.active });
  }

  locationsWithStock(sku: string): { locationId: string; atp: number }[] {
    const row = this.rows.get(sku);
    const out: { locationId: string; atp: number }[] = [];
    if (row === undefined) return out;
    for (let i = 0; i < row.size; i++) {
      const s = row.locs[i]!;
      const a = this.atpAt(s, row.nets[i]!);
      if (a > 0) out.push({ locationId: this.ids[s]!, atp: a });
    }
    return out;
  }

  networkAtp(sku: string): number {
    const row = this.rows.get(sku);
    if (row === undefined) return 0;
    let sum = 0;
    for (let i = 0; i < row.size; i++) sum += this.atpAt(row.locs[i]!, row.nets[i]!);
    return sum;
  }

  getLocation(id: string): RoutingLocation | undefined {
    const s = this.slotById.get(id);
    if (s === undefined) return undefined;
    const loc = this.locs[s];
    return loc === undefined ? undefined : { ...loc };
  }

  hasLocation(id: string): boolean {
    const s = this.slotById.get(id);
    return s !== undefined && this.locs[s] !== undefined;
  }

  /** Known locations, in the order they were first seen. */
  *locations(): IterableIterator<RoutingLocation> {
    for (const loc of this.locs) if (loc !== undefined) yield { ...loc };
  }

  capacityUsed(id: string): number {
    const s = this.slotById.get(id);
    return s === undefined ? 0 : this.capUsed[s]!;
  }

  hasCapacity(id: string): boolean {
    const s = this.slotById.get(id);
    return s !== undefined && (this.flags[s]! & F_CAPACITY) !== 0;
  }

  canShip(id: string): boolean {
    const s = this.slotById.get(id);
    return s !== undefined && (this.flags[s]! & F_SHIP_OK) === F_SHIP_OK;
  }

  stats(): AtpIndexStats {
    return { locations: this.knownCount, skus: this.rows.size, positions: this.positionCount };
  }

  private slot(id: string): number {
    let s = this.slotById.get(id);
    if (s !== undefined) return s;
    s = this.ids.length;
    this.ids.push(id);
    this.locs.push(undefined);
    this.slotById.set(id, s);
    if (s >= this.flags.length) this.grow(s * 2);
    this.flags[s] = 0;
    this.capUsed[s] = 0;
    return s;
  }

  private grow(cap: number): void {
    const g = <T extends Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    const f64 = (n: number) => new Float64Array(n);
    this.latRad = g(this.latRad, f64);
    this.lonRad = g(this.lonRad, f64);
    this.cosLat = g(this.cosLat, f64);
    this.rank = g(this.rank, f64);
    this.safety = g(this.safety, f64);
    this.capUsed = g(this.capUsed, f64);
    this.flags = g(this.flags, (n) => new Uint8Array(n));
  }

  private refreshFlags(s: number): void {
    const loc = this.locs[s];
    if (loc === undefined) {
      this.flags[s] = 0;
      return;
    }
    let f = F_KNOWN;
    if (loc.active) f |= F_ACTIVE;
    if (loc.type === 'warehouse' || loc.shipFromStore) f |= F_SHIPS;
    if (loc.pickup) f |= F_PICKUP;
    if (loc.dailyCapacity === null || this.capUsed[s]! < loc.dailyCapacity) f |= F_CAPACITY;
    this.flags[s] = f;
  }
}

function hashSlot(slot: number, mask: number): number {
  return (Math.imul(slot, 0x9e3779b1) >>> 7) & mask;
}

function tableInsert(table: Int32Array, slot: number, offset: number): void {
  const mask = table.length - 1;
  let h = hashSlot(slot, mask);
  while (table[h] !== 0) h = (h + 1) & mask;
  table[h] = offset + 1;
}

function rebuildTable(row: SkuRow): void {
  let cap = 64;
  while (cap < row.size * 2) cap *= 2;
  const table = new Int32Array(cap);
  for (let i = 0; i < row.size; i++) tableInsert(table, row.locs[i]!, i);
  row.table = table;
}

function findOffset(row: SkuRow, slot: number): number {
  const locs = row.locs;
  const table = row.table;
  if (table !== null) {
    const mask = table.length - 1;
    let h = hashSlot(slot, mask);
    for (;;) {
      const e = table[h]!;
      if (e === 0) return -1;
      if (locs[e - 1] === slot) return e - 1;
      h = (h + 1) & mask;
    }
  }
  for (let i = 0; i < row.size; i++) if (locs[i] === slot) return i;
  return -1;
}
