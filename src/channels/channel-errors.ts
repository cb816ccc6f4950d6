// A channel's recent errors, kept in the database (channel_errors) so that the status page shows
// them after a restart and from any process; each channel keeps its latest KEEP.
import type { Database } from '../db/database.js';
import type { ChannelError } from './channel-runner.js';

const KEEP = 50;

export async function recordChannelError(db: Database, channelId: string, e: ChannelError): Promise<void> {
  await db.query(
    // The insert runs whether or not the delete refers to it; the delete sees the rows before it.
    `WITH added AS (INSERT INTO channel_errors (channel_id, at, sku, message, retryable) VALUES ($1, $2, $3, $4, $5))
     DELETE FROM channel_errors WHERE channel_id = $1
       AND id < (SELECT min(id) FROM (SELECT id FROM channel_errors WHERE channel_id = $1 ORDER BY id DESC LIMIT $6) AS latest)`,
    [channelId, e.at, e.sku, e.message.slice(0, 2000), e.retryable, KEEP],
  );
}

/** The latest errors, newest first, with `alsoKnown` (this process's, which may not be stored yet) merged in. */
export async function recentChannelErrors(db: Database, channelId: string, alsoKnown: readonly ChannelError[] = []): Promise<ChannelError[]> {
  const rows = await db.query<{ at: Date | string; sku: string | null; message: string; retryable: boolean }>(
    'SELECT at, sku, message, retryable FROM channel_errors WHERE channel_id = $1 ORDER BY id DESC LIMIT $2', [channelId, KEEP],
  );
  const seen = new Set<string>();
  const all: ChannelError[] = [];
  for (const e of [...alsoKnown, ...rows.map((r) => ({ at: new Date(r.at).toISOString(), sku: r.sku, message: r.message, retryable: r.retryable }))]) {
    const k = `${e.at}|${e.sku ?? ''}|${e.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    all.push(e);
  }
  return all.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).slice(0, KEEP);
}
