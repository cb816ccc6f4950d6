// The few Square API calls the connector makes (Inventory and Catalog, version pinned), with
// Square's error lists turned into one error that says whether a retry can help.
import type { SquareChange } from './square-changes.js';

export const SQUARE_API_VERSION = '2025-08-20';
const DEFAULT_API_URL = 'https://connect.squareup.com';

export interface SquareError { category?: string; code?: string; detail?: string; field?: string }

export class SquareApiError extends Error {
  constructor(readonly status: number, readonly errors: SquareError[], readonly retryable: boolean) {
    super(`Square answered ${status}: ${errors.map((e) => `${e.code ?? '?'}${e.field ? ` (${e.field})` : ''}${e.detail ? `: ${e.detail}` : ''}`).join('; ') || 'no error list'}`);
  }
}

export interface SquareCount { catalog_object_id: string; location_id: string; state: string; quantity: string; calculated_at?: string }
export interface SquareVariation { id: string; sku: string | null }

export class SquareClient {
  private readonly base: string;

  constructor(private readonly accessToken: string, apiUrl?: string) {
    this.base = (apiUrl ?? DEFAULT_API_URL).replace(/\/+$/, '');
  }

  async call<T>(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal): Promise<T> {
    const res = await fetch(`${this.base}${path}`, {
      method, signal,
      headers: { authorization: `Bearer ${this.accessToken}`, 'square-version': SQUARE_API_VERSION, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: { errors?: SquareError[] } & Record<string, unknown> = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      // An answer that is not JSON (a proxy's error page): reported by status.
    }
    if (!res.ok) throw new SquareApiError(res.status, Array.isArray(json.errors) ? json.errors : [], res.status === 429 || res.status >= 500);
    return json as T;
  }

  /** Every item variation, paged by cursor. */
  async variations(signal: AbortSignal): Promise<SquareVariation[]> {
    const out: SquareVariation[] = [];
    let cursor: string | undefined;
    do {
      const q = new URLSearchParams({ types: 'ITEM_VARIATION', ...(cursor ? { cursor } : {}) });
      const page = await this.call<{ objects?: Array<{ id: string; is_deleted?: boolean; item_variation_data?: { sku?: string | null } }>; cursor?: string }>('GET', `/v2/catalog/list?${q}`, undefined, signal);
      for (const o of page.objects ?? []) if (!o.is_deleted) out.push({ id: o.id, sku: o.item_variation_data?.sku ?? null });
      cursor = page.cursor;
    } while (cursor);
    return out;
  }

  /** BatchRetrieveInventoryCounts, every page. */
  async counts(filter: { catalogObjectIds?: string[]; locationIds?: string[]; states?: string[] }, signal: AbortSignal): Promise<SquareCount[]> {
    const out: SquareCount[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.call<{ counts?: SquareCount[]; cursor?: string }>('POST', '/v2/inventory/counts/batch-retrieve', {
        ...(filter.catalogObjectIds ? { catalog_object_ids: filter.catalogObjectIds } : {}),
        ...(filter.locationIds ? { location_ids: filter.locationIds } : {}),
        ...(filter.states ? { states: filter.states } : {}),
        ...(cursor ? { cursor } : {}),
      }, signal);
      out.push(...(page.counts ?? []));
      cursor = page.cursor;
    } while (cursor);
    return out;
  }

  /** BatchRetrieveInventoryChanges recorded after `updatedAfter`, every page. */
  async changes(filter: { locationIds: string[]; updatedAfter: string }, signal: AbortSignal): Promise<Array<SquareChange & { created_at?: string }>> {
    const out: Array<SquareChange & { created_at?: string }> = [];
    let cursor: string | undefined;
    do {
      const page = await this.call<{ changes?: SquareChange[]; cursor?: string }>('POST', '/v2/inventory/changes/batch-retrieve', {
        location_ids: filter.locationIds, updated_after: filter.updatedAfter, types: ['PHYSICAL_COUNT', 'ADJUSTMENT'], limit: 1000, ...(cursor ? { cursor } : {}),
      }, signal);
      out.push(...(page.changes ?? []));
      cursor = page.cursor;
    } while (cursor);
    return out;
  }
}
