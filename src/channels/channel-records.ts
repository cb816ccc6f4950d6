// The engine's small durable records: quarantine, per-connector state, webhook delivery ids.
import type { Sql } from '../db/database.js';
import type { QuarantinedItem } from '../../connectors/channel-connector.js';

export interface QuarantineView {
  id: number;
  channelRef: string;
  reason: string;
  payload: unknown;
  at: string;
}

export async function addQuarantine(db: Sql, channelId: string, items: readonly QuarantinedItem[]): Promise<void> {
  if (items.length === 0) return;
  await db.query(
    `INSERT INTO channel_quarantine (channel_id, channel_ref, reason, payload)
     SELECT $1, u.ref, u.reason, u.payload::jsonb FROM unnest($2::text[], $3::text[], $4::text[]) AS u(ref, reason, payload)`,
    [channelId, items.map((i) => i.channelRef.slice(0, 512)), items.map((i) => i.reason.slice(0, 2048)), items.map((i) => JSON.stringify(i.payload ?? null))],
  );
}

export async function listQuarantine(db: Sql, channelId: string, limit: number, beforeId?: number): Promise<QuarantineView[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT id, channel_ref, reason, payload, at FROM channel_quarantine
      WHERE channel_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [channelId, beforeId ?? null, limit],
  );
  return rows.map((r) => ({
    id: Number(r.id), channelRef: r.channel_ref as string, reason: r.reason as string, payload: r.payload,
    at: (r.at instanceof Date ? r.at : new Date(String(r.at))).toISOString(),
  }));
}

export async function countQuarantine(db: Sql, channelId: string): Promise<number> {
  const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM channel_quarantine WHERE channel_id = $1', [channelId]);
  return rows[0]?.n ?? 0;
}

export function stateStore(db: Sql, channelId: string) {
  return {
    async get(key: string): Promise<string | null> {
      const rows = await db.query<{ value: string }>('SELECT value FROM channel_state WHERE channel_id = $1 AND key = $2', [channelId, key]);
      return rows[0]?.value ?? null;
    },
    async set(key: string, value: string): Promise<void> {
      await db.query(
        `INSERT INTO channel_state (channel_id, key, value) VALUES ($1, $2, $3)
         ON CONFLICT (channel_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
        [channelId, key, value],
      );
    },
    async getMany(keys: readonly string[]): Promise<Map<string, string>> {
      const rows = await db.query<{ key: string; value: string }>('SELECT key, value FROM channel_state WHERE channel_id = $1 AND key = ANY($2::text[])', [channelId, [...keys]]);
      return new Map(rows.map((r) => [r.key, r.value]));
    },
    async setMany(entries: ReadonlyArray<readonly [string, string]>): Promise<void> {
      if (entries.length === 0) return;
      // Key order: two writers of overlapping keys lock them in the same order (no deadlock).
      const sorted = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      await db.query(
        `INSERT INTO channel_state (channel_id, key, value) SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS u(k, v)
         ON CONFLICT (channel_id, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
        [channelId, sorted.map((e) => e[0]), sorted.map((e) => e[1])],
      );
    },
  };
}

/** Claims a delivery id; false when it was already seen (a duplicate delivery). */
export async function claimDelivery(db: Sql, channelId: string, deliveryId: string): Promise<boolean> {
  const rows = await db.query('INSERT INTO webhook_deliveries (channel_id, delivery_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING delivery_id', [channelId, deliveryId.slice(0, 512)]);
  return rows.length > 0;
}

export async function settleDelivery(db: Sql, channelId: string, deliveryId: string, outcome: string): Promise<void> {
  await db.query('UPDATE webhook_deliveries SET outcome = $3 WHERE channel_id = $1 AND delivery_id = $2', [channelId, deliveryId.slice(0, 512), outcome]);
}

/** A handler failed: forget the id so the vendor's retry is processed. */
export async function forgetDelivery(db: Sql, channelId: string, deliveryId: string): Promise<void> {
  await db.query('DELETE FROM webhook_deliveries WHERE channel_id = $1 AND delivery_id = $2', [channelId, deliveryId.slice(0, 512)]);
}
