// Channels as stored (PUT /v1/channels/{id}): settings include secrets; the HTTP layer masks them.
import type { Sql } from '../db/database.js';

export interface ChannelRecord {
  id: string;
  kind: string;
  pool: string[];
  bufferUnits: number;
  lowStockThreshold: number;
  settings: Record<string, unknown>;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

function toRecord(r: Record<string, unknown>): ChannelRecord {
  return {
    id: r.id as string,
    kind: r.kind as string,
    pool: (r.pool as string[]) ?? [],
    bufferUnits: Number(r.buffer_units),
    lowStockThreshold: Number(r.low_stock_threshold),
    settings: (r.settings as Record<string, unknown>) ?? {},
    active: r.active as boolean,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

const COLUMNS = 'id, kind, pool, buffer_units, low_stock_threshold, settings, active, created_at, updated_at';

export async function readChannel(db: Sql, id: string): Promise<ChannelRecord | null> {
  const rows = await db.query<Record<string, unknown>>(`SELECT ${COLUMNS} FROM channels WHERE id = $1`, [id]);
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function listChannels(db: Sql, opts: { activeOnly?: boolean } = {}): Promise<ChannelRecord[]> {
  const rows = await db.query<Record<string, unknown>>(`SELECT ${COLUMNS} FROM channels ${opts.activeOnly ? 'WHERE active' : ''} ORDER BY id`);
  return rows.map(toRecord);
}

/** Creates or replaces; a PUT on a deleted channel makes it active again. Answers whether it was new. */
export async function upsertChannel(db: Sql, c: Omit<ChannelRecord, 'createdAt' | 'updatedAt' | 'active'>): Promise<{ record: ChannelRecord; created: boolean }> {
  const rows = await db.query<Record<string, unknown>>(
    `INSERT INTO channels (id, kind, pool, buffer_units, low_stock_threshold, settings, active)
     VALUES ($1, $2, $3::jsonb, $4, $5, $6::jsonb, true)
     ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, pool = EXCLUDED.pool, buffer_units = EXCLUDED.buffer_units,
       low_stock_threshold = EXCLUDED.low_stock_threshold, settings = EXCLUDED.settings, active = true,
       deleted_at = NULL, updated_at = now()
     RETURNING ${COLUMNS}, (xmax = 0) AS created`,
    [c.id, c.kind, JSON.stringify(c.pool), c.bufferUnits, c.lowStockThreshold, JSON.stringify(c.settings)],
  );
  const r = rows[0]!;
  return { record: toRecord(r), created: r.created === true };
}

export async function deactivateChannel(db: Sql, id: string): Promise<boolean> {
  const rows = await db.query(`UPDATE channels SET active = false, deleted_at = now(), updated_at = now() WHERE id = $1 AND active RETURNING id`, [id]);
  return rows.length > 0;
}

export async function knownLocations(db: Sql, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.query<{ id: string }>('SELECT id FROM locations WHERE id = ANY($1::text[])', [ids]);
  return new Set(rows.map((r) => r.id));
}
