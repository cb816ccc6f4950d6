// Keeps the routing core's in-memory AtpIndex in step with the database, so planning never
// queries the database per candidate.
//
// Sources of change, from cheapest to the safety net:
//  - notePositionsChanged(keys): fed by the service's onPositionsChanged (reconciler batches,
//    reservation holds/releases, routing itself). Keys are coalesced and re-read in batches of
//    up to 5,000 per query, one batch in flight at a time; the same read refreshes today's
//    capacity use of the locations involved (a release gives capacity back).
//  - location writes in this process (onLocationUpserted hook of the location store).
//  - on PostgreSQL, a ledger tail every 2 s: every change of a position appends a ledger entry,
//    so new entry ids name the positions another process (reconciler, CLI) changed.
//  - a full reload every 30 s into a fresh index, swapped in whole: catches anything missed
//    (ids committed out of order, capacity changed elsewhere, a location edited by another process).
// Capacity is per UTC day; when the day turns, every location's use drops to 0 at once.
import { AtpIndex } from '../core/routing/atp-index.js';
import type { RoutingLocation } from '../core/routing/types.js';
import { positionKey } from '../core/ids.js';
import type { Database, Sql } from '../db/database.js';
import type { PositionKey } from '../ledger/ledger-row.js';
import { onLocationUpserted } from '../locations/location-store.js';
import type { Logger } from '../logger.js';

export interface RoutingIndexOptions {
  db: Database;
  now?: () => Date;
  /** Full reload period; 0 turns it off. Default 30 s. */
  fullRefreshMs?: number;
  /** Ledger tail period (PostgreSQL only); 0 turns it off. Default 2 s. */
  tailMs?: number;
  logger?: Logger;
}

const KEY_BATCH = 5_000;
const PAGE = 50_000;
const TAIL_LIMIT = 20_000;

/** The UTC calendar day of a time, YYYY-MM-DD: the day whose capacity a shipment uses. */
export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

interface LocationRow {
  id: string;
  type: 'store' | 'warehouse';
  lat: number;
  lon: number;
  ship_from_store: boolean;
  pickup: boolean;
  rank: number;
  daily_capacity: number | null;
  safety_stock: number;
  active: boolean;
}

interface PositionRow {
  sku: string;
  location_id: string;
  on_hand: number;
  reserved: number;
  unavailable: number;
}

const LOCATION_COLUMNS = 'id, type, lat, lon, ship_from_store, pickup, rank, daily_capacity, safety_stock, active';
// Not-found units (missing) are unavailable to routing exactly as to availability (§4).
const POSITION_COLUMNS = 'p.sku, p.location_id, p.on_hand, p.reserved, p.unavailable + p.missing AS unavailable';

function toRoutingLocation(r: LocationRow): RoutingLocation {
  return {
    id: r.id, type: r.type, lat: r.lat, lon: r.lon, shipFromStore: r.ship_from_store, pickup: r.pickup, rank: r.rank,
    dailyCapacity: r.daily_capacity, safetyStock: r.safety_stock, active: r.active,
  };
}

function applyPosition(index: AtpIndex, r: PositionRow): void {
  index.upsertPosition({ sku: r.sku, locationId: r.location_id, onHand: r.on_hand, reserved: r.reserved, unavailable: r.unavailable });
}

export class RoutingIndex {
  private current = new AtpIndex();
  private day: string;
  private readonly now: () => Date;
  private pending = new Map<string, PositionKey>();
  private flushing: Promise<void> | null = null;
  private reloading: Promise<void> | null = null;
  /** Keys changed while a full reload runs: re-read once the new index is in place. */
  private changedDuringReload: Map<string, PositionKey> | null = null;
  private tailFrom = 0;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | null = null;
  private stopped = false;
  /** Counters for tests and diagnostics. */
  readonly stats = { fullReloads: 0, positionReads: 0, keysRead: 0 };

  constructor(private readonly o: RoutingIndexOptions) {
    this.now = o.now ?? (() => new Date());
    this.day = utcDay(this.now());
  }

  /** The live index; capacity use is reset in place when the UTC day has turned. */
  get index(): AtpIndex {
    const today = utcDay(this.now());
    if (today !== this.day) {
      this.day = today;
      for (const loc of this.current.locations()) this.current.setCapacityUsed(loc.id, 0);
      void this.refreshCapacity(null).catch((err: unknown) => this.o.logger?.warn({ err }, 'routing capacity refresh failed'));
    }
    return this.current;
  }

  /** Today as routing counts capacity (UTC). */
  today(): string {
    return utcDay(this.now());
  }

  async start(): Promise<void> {
    await this.reload();
    this.unsubscribe = onLocationUpserted((db, loc) => {
      if (db !== this.o.db) return;
      this.current.upsertLocation(toRoutingLocation({
        id: loc.id, type: loc.type, lat: loc.lat, lon: loc.lon, ship_from_store: loc.shipFromStore, pickup: loc.pickup,
        rank: loc.rank, daily_capacity: loc.dailyCapacity, safety_stock: loc.safetyStock, active: loc.active,
      }));
    });
    const every = (ms: number, fn: () => Promise<unknown>, what: string) => {
      if (ms <= 0) return;
      const t = setInterval(() => {
        fn().catch((err: unknown) => this.o.logger?.warn({ err }, `routing index ${what} failed; retrying next period`));
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.o.fullRefreshMs ?? 30_000, () => this.reload(), 'full refresh');
    if (this.o.db.kind === 'pg') every(this.o.tailMs ?? 2_000, () => this.tail(), 'ledger tail');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.unsubscribe?.();
    await this.flushing?.catch(() => {});
    await this.reloading?.catch(() => {});
  }

  /** Queues positions to re-read; coalesced into batched reads. */
  notePositionsChanged(keys: readonly PositionKey[]): void {
    if (this.stopped) return;
    for (const k of keys) {
      const id = positionKey(k.sku, k.locationId);
      this.pending.set(id, k);
      this.changedDuringReload?.set(id, k);
    }
    this.scheduleFlush();
  }

  /** Resolves once every change noted so far is in the index. */
  async settle(): Promise<void> {
    while (this.flushing || this.pending.size > 0) {
      if (!this.flushing) this.scheduleFlush();
      await this.flushing;
    }
  }

  /** Re-reads positions now (a hold missed: the index was behind for these). */
  async refreshPositions(keys: readonly PositionKey[]): Promise<void> {
    const index = this.current;
    for (let i = 0; i < keys.length; i += KEY_BATCH) {
      const chunk = keys.slice(i, i + KEY_BATCH);
      const rows = await this.o.db.query<PositionRow>(
        `SELECT ${POSITION_COLUMNS} FROM unnest($1::text[], $2::text[]) AS k(sku, location_id)
           JOIN positions p ON p.sku = k.sku AND p.location_id = k.location_id`,
        [chunk.map((k) => k.sku), chunk.map((k) => k.locationId)],
      );
      this.stats.positionReads += 1;
      this.stats.keysRead += chunk.length;
      for (const r of rows) applyPosition(index, r);
    }
  }

  /** Re-reads every position of these SKUs, and the locations and capacity involved. */
  async refreshSkus(skus: readonly string[], locationIds: readonly string[] = []): Promise<void> {
    const index = this.current;
    const rows = await this.o.db.query<PositionRow>(`SELECT ${POSITION_COLUMNS} FROM positions p WHERE p.sku = ANY($1::text[])`, [skus]);
    this.stats.positionReads += 1;
    for (const r of rows) applyPosition(index, r);
    await this.refreshLocations(locationIds);
    await this.refreshCapacity(locationIds);
  }

  /** Re-reads locations (all when `ids` is null). */
  async refreshLocations(ids: readonly string[] | null): Promise<void> {
    if (ids !== null && ids.length === 0) return;
    const rows = await this.o.db.query<LocationRow>(
      `SELECT ${LOCATION_COLUMNS} FROM locations WHERE $1::text[] IS NULL OR id = ANY($1::text[])`,
      [ids],
    );
    for (const r of rows) this.current.upsertLocation(toRoutingLocation(r));
  }

  /** Re-reads today's capacity use (all locations when `ids` is null). */
  async refreshCapacity(ids: readonly string[] | null): Promise<void> {
    if (ids !== null && ids.length === 0) return;
    const day = this.today();
    const index = this.current;
    const rows = await this.o.db.query<{ location_id: string; used: number }>(
      `SELECT l.id AS location_id, coalesce(c.used, 0)::int8 AS used
         FROM locations l LEFT JOIN location_capacity_usage c ON c.location_id = l.id AND c.day = $1::date
        WHERE $2::text[] IS NULL OR l.id = ANY($2::text[])`,
      [day, ids],
    );
    if (day !== this.day) return; // the day turned meanwhile; the getter resets and reloads
    for (const r of rows) index.setCapacityUsed(r.location_id, r.used);
  }

  /** Loads everything into a fresh index and swaps it in. */
  reload(): Promise<void> {
    this.reloading ??= this.doReload().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async doReload(): Promise<void> {
    this.changedDuringReload = new Map();
    try {
      const next = new AtpIndex();
      const db: Sql = this.o.db;
      const day = this.today();
      if (this.tailFrom === 0) {
        const m = await db.query<{ id: number | null }>('SELECT max(id)::int8 AS id FROM ledger_entries');
        this.tailFrom = m[0]?.id ?? 0;
      }
      for (const r of await db.query<LocationRow>(`SELECT ${LOCATION_COLUMNS} FROM locations`)) next.upsertLocation(toRoutingLocation(r));
      let after: PositionKey | null = null;
      for (;;) {
        const rows: PositionRow[] = await db.query<PositionRow>(
          `SELECT ${POSITION_COLUMNS} FROM positions p
            WHERE $1::text IS NULL OR (p.sku, p.location_id) > ($1, $2)
            ORDER BY p.sku, p.location_id LIMIT ${PAGE}`,
          [after?.sku ?? null, after?.locationId ?? null],
        );
        for (const r of rows) applyPosition(next, r);
        const last = rows[rows.length - 1];
        if (!last || rows.length < PAGE) break;
        after = { sku: last.sku, locationId: last.location_id };
      }
      const cap = await db.query<{ location_id: string; used: number }>(
        'SELECT location_id, used FROM location_capacity_usage WHERE day = $1::date',
        [day],
      );
      for (const r of cap) next.setCapacityUsed(r.location_id, r.used);
      this.current = next;
      this.day = day;
      this.stats.fullReloads += 1;
      const missed = [...this.changedDuringReload.values()];
      this.changedDuringReload = null;
      if (missed.length > 0) this.notePositionsChanged(missed);
    } finally {
      this.changedDuringReload = null;
    }
  }

  private scheduleFlush(): void {
    if (this.flushing || this.pending.size === 0) return;
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.flushOnce())
      .catch((err: unknown) => this.o.logger?.warn({ err }, 'routing index position refresh failed; the full refresh will catch up'))
      .finally(() => {
        this.flushing = null;
        if (this.pending.size > 0 && !this.stopped) this.scheduleFlush();
      });
  }

  private async flushOnce(): Promise<void> {
    const keys = [...this.pending.values()];
    this.pending = new Map();
    await this.refreshPositions(keys);
    await this.refreshCapacity([...new Set(keys.map((k) => k.locationId))]);
  }

  /** Positions other processes changed: the ledger entries appended since the last look. */
  private async tail(): Promise<void> {
    const rows = await this.o.db.query<{ id: number; sku: string; location_id: string }>(
      'SELECT id, sku, location_id FROM ledger_entries WHERE id > $1 ORDER BY id LIMIT $2',
      [this.tailFrom, TAIL_LIMIT],
    );
    const last = rows[rows.length - 1];
    if (!last) return;
    this.tailFrom = last.id;
    this.notePositionsChanged(rows.map((r) => ({ sku: r.sku, locationId: r.location_id })));
  }
}
