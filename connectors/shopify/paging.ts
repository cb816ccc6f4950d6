// Cursor paging sized to the shop's cost bucket. A page of `first` nodes costs a fixed part plus
// `first` × the cost of one node; a shop on a small plan (or a stand-in limited to 100 points) may
// never hold the cost of a large page, and Shopify answers THROTTLED to it for ever. So the first
// page is sized from the bucket, and a page the shop can never afford (COST_OVER_BUCKET,
// MAX_COST_EXCEEDED) is asked again smaller: those answers cost nothing.
import type { ShopifyAdminClient, ShopifyApiError } from './admin-client.js';

export interface Connection<N> { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: N[] }

/** Shopify's single-query limit and most nodes per page. */
const MAX_QUERY_COST = 1000;
const MAX_PAGE = 250;

/** The largest page whose cost (fixed + first × perNode) fits a bucket of `bucket` points. */
export function pageSizeFor(bucket: number, cost: { fixed: number; perNode: number }): number {
  const budget = Math.min(bucket, MAX_QUERY_COST) - cost.fixed;
  return Math.max(1, Math.min(MAX_PAGE, Math.floor(budget / cost.perNode)));
}

/** A smaller page after Shopify said `requested` points can never pass where `limit` is the most. */
export function shrinkPage(first: number, requested: number, limit: number): number {
  const scaled = Math.floor((first * limit) / Math.max(requested, 1));
  return Math.max(1, Math.min(first - 1, scaled));
}

/** Every node of a connection, page by page; `vars` get `first` and `after`. */
export async function readAllPages<N>(
  client: ShopifyAdminClient,
  query: string,
  vars: Record<string, unknown>,
  pick: (data: unknown) => Connection<N> | null | undefined,
  firstPage: number,
  signal: AbortSignal,
): Promise<N[]> {
  const out: N[] = [];
  let first = firstPage;
  for (let after: string | null = null; ;) {
    let data: unknown;
    try {
      data = await client.read<unknown>(query, { ...vars, first, after }, signal);
    } catch (e) {
      const err = e as ShopifyApiError;
      if (err.cost && first > 1) {
        first = shrinkPage(first, err.cost.requested, err.cost.limit);
        continue;
      }
      throw err;
    }
    const conn = pick(data);
    if (!conn) return out;
    out.push(...conn.nodes);
    if (!conn.pageInfo.hasNextPage) return out;
    after = conn.pageInfo.endCursor;
  }
}
