// The drift check of one channel: read back what the channel shows for every settled item,
// compare it with what the channel acknowledged, and send differences back through the outbox
// (the same push path and rate limit). The drift job (node-cron, channel-engine.ts) runs it.
import type { StockPublisher } from '../../connectors/channel-connector.js';
import type { Database } from '../db/database.js';
import { requeueDrifted, settledPage } from './outbox.js';

const DRIFT_PAGE = 250;

export interface DriftResult {
  checked: number;
  items: number;
  units: number;
}

export async function checkDrift(
  db: Database,
  channelId: string,
  publisher: StockPublisher,
  opts: { takeTokens(cost: number): Promise<boolean>; signal: AbortSignal },
): Promise<DriftResult> {
  let after: { sku: string; channelLocation: string } | null = null;
  const result: DriftResult = { checked: 0, items: 0, units: 0 };
  const page = Math.min(DRIFT_PAGE, publisher.maxItemsPerCall);
  for (;;) {
    const rows = await settledPage(db, channelId, after, page);
    if (rows.length === 0) break;
    if (!(await opts.takeTokens(publisher.cost(rows.length)))) break;
    const shown = await publisher.readBack(rows.map((r) => ({ sku: r.sku, channelLocation: r.channelLocation === '' ? null : r.channelLocation })), opts.signal);
    const drifted = rows.flatMap((row, i) => (shown[i] !== row.ackedQuantity ? [{ row, shown: shown[i] ?? null }] : []));
    for (const d of drifted) result.units += Math.abs((d.shown ?? 0) - (d.row.ackedQuantity ?? 0));
    result.items += drifted.length;
    result.checked += rows.length;
    await requeueDrifted(db, channelId, drifted);
    const last = rows[rows.length - 1]!;
    after = { sku: last.sku, channelLocation: last.channelLocation };
    if (rows.length < page) break;
  }
  return result;
}
