// getFeeds of the stand-in (Feeds API 2021-06-30): the filters the model names (feedTypes,
// marketplaceIds, processingStatuses, createdSince/createdUntil, pageSize) and paging by
// nextToken, which must come alone. The request has already been validated against the model
// (types, enums, pageSize 1..100, date-time formats); this answers the rules the schema cannot say.
export interface ListedFeed {
  feedId: string;
  feedType: string;
  marketplaceIds: string[];
  createdMs: number;
  status: string;
}

interface Filter {
  types: string[];
  markets: string[] | null;
  statuses: string[] | null;
  since: number;
  until: number;
  size: number;
}

const list = (q: URLSearchParams, name: string) => (q.has(name) ? q.get(name)!.split(',') : null);
const DAY_MS = 86_400_000;

/** The page of feeds a getFeeds query selects (newest first), or the errors to answer 400 with. */
export function listFeeds<F extends ListedFeed>(feeds: Iterable<F>, query: URLSearchParams, now: number): { page: F[]; nextToken?: string } | { errors: string[] } {
  let filter: Filter;
  let offset = 0;
  const token = query.get('nextToken');
  if (token !== null) {
    if ([...query.keys()].some((k) => k !== 'nextToken')) return { errors: ['nextToken must be the only parameter when it is given'] };
    try {
      ({ f: filter, o: offset } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { f: Filter; o: number });
    } catch {
      return { errors: ['query parameter nextToken: invalid nextToken'] };
    }
  } else {
    const types = list(query, 'feedTypes');
    if (!types) return { errors: ['either feedTypes or nextToken is required'] };
    const since = query.has('createdSince') ? Date.parse(query.get('createdSince')!) : now - 90 * DAY_MS;
    const until = query.has('createdUntil') ? Date.parse(query.get('createdUntil')!) : now;
    if (since > until) return { errors: ['createdSince must be before createdUntil'] };
    filter = { types, markets: list(query, 'marketplaceIds'), statuses: list(query, 'processingStatuses'), since, until, size: Number(query.get('pageSize') ?? 10) };
  }
  const matching = [...feeds]
    .filter((f) => filter.types.includes(f.feedType) && f.createdMs >= filter.since && f.createdMs <= filter.until
      && (!filter.markets || f.marketplaceIds.some((m) => filter.markets!.includes(m)))
      && (!filter.statuses || filter.statuses.includes(f.status)))
    .sort((a, b) => b.createdMs - a.createdMs || b.feedId.localeCompare(a.feedId));
  const page = matching.slice(offset, offset + filter.size);
  const more = offset + filter.size < matching.length;
  return more ? { page, nextToken: Buffer.from(JSON.stringify({ f: filter, o: offset + filter.size })).toString('base64url') } : { page };
}
