// The GraphQL Admin client: @shopify/shopify-api's, for a custom app's Admin API token. With
// `adminUrl` set (a stand-in for tests and the demo), its requests for this channel go to that
// base URL instead of https://{shop}: the library always builds an https URL from the shop
// domain, so the channel gets a private host name that the library's fetch hook maps back.
import '@shopify/shopify-api/adapters/node';
import { createHash } from 'node:crypto';
import {
  GraphqlQueryError, HttpResponseError, LogSeverity, Session, shopifyApi, type Shopify,
} from '@shopify/shopify-api';
import { abstractFetch, setAbstractFetchFunc } from '@shopify/shopify-api/runtime';
import { CostGate } from './cost-gate.js';
import type { ShopifySettings } from './shopify-settings.js';

export interface ThrottleStatus { maximumAvailable: number; currentlyAvailable: number; restoreRate: number }

/**
 * A failed Admin API call: `retryable` on THROTTLED, 429, 5xx and network errors. `cost`: the
 * query costs more than the shop will ever allow at once (COST_OVER_BUCKET: more than its bucket
 * holds; MAX_COST_EXCEEDED: over the single-query limit), so only a smaller query can pass.
 */
export class ShopifyApiError extends Error {
  readonly cost?: { requested: number; limit: number };
  constructor(message: string, readonly code: string, readonly retryable: boolean, readonly retryAfterMs?: number, readonly status?: number, options?: { cause?: unknown; cost?: { requested: number; limit: number } }) {
    super(message, options);
    this.name = 'ShopifyApiError';
    if (options?.cost) this.cost = options.cost;
  }
}

// host → base URL of a stand-in; the fetch hook is installed once per process.
const routes = new Map<string, string>();
const libraryFetch = abstractFetch;
let hooked = false;
let clients = 0;
function routeFetch(): void {
  if (hooked) return;
  hooked = true;
  setAbstractFetchFunc(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const base = routes.get(url.host);
    return base ? libraryFetch(`${base}${url.pathname}${url.search}`, init) : libraryFetch(input, init);
  });
}

export class ShopifyAdminClient {
  readonly api: Shopify;
  private readonly session: Session;
  private readonly routedHost: string | null;
  /** The last throttleStatus Shopify reported. */
  throttle: ThrottleStatus | null = null;
  /** The shop's bucket as Shopify reports it: requests wait here for their cost. */
  readonly gate = new CostGate();
  /** The requested cost Shopify reported per query shape (document + page size), for the gate. */
  private readonly costs = new Map<string, number>();
  /** THROTTLED answers received (each one a request sent too early). */
  throttledAnswers = 0;

  constructor(readonly settings: ShopifySettings, channelId: string) {
    this.api = shopifyApi({
      apiKey: 'omnistock',
      apiSecretKey: settings.apiSecret,
      adminApiAccessToken: settings.accessToken,
      isCustomStoreApp: true,
      isEmbeddedApp: false,
      apiVersion: settings.apiVersion as never,
      hostName: '127.0.0.1',
      logger: { level: LogSeverity.Error, log: async () => {} },
    });
    if (settings.adminUrl) {
      routeFetch();
      // One host per client: a replaced connector's close() must not unroute its successor.
      this.routedHost = `c${createHash('sha256').update(`${channelId}\n${settings.adminUrl}\n${++clients}`).digest('hex').slice(0, 16)}.standin.invalid`;
      routes.set(this.routedHost, settings.adminUrl.replace(/\/+$/, ''));
    } else this.routedHost = null;
    this.session = new Session({ id: `offline_${settings.shop}`, shop: this.routedHost ?? settings.shop, state: '', isOnline: false, accessToken: settings.accessToken });
  }

  close(): void {
    if (this.routedHost) routes.delete(this.routedHost);
  }

  /**
   * One GraphQL request, sent once the shop's bucket holds its cost (as far as Shopify last
   * reported); throws ShopifyApiError (THROTTLED with how long until the bucket holds the cost).
   */
  async request<T>(query: string, variables: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    const shape = `${variables.first ?? ''}|${query}`;
    for (let wait = this.gate.reserve(this.costs.get(shape) ?? 0); wait > 0; wait = this.gate.reserve(this.costs.get(shape) ?? 0)) {
      await sleep(wait, signal);
    }
    const client = new this.api.clients.Graphql({ session: this.session });
    try {
      const res = await client.request(query, { variables, retries: 0, signal } as never);
      this.noteCost(res.extensions, shape);
      return res.data as T;
    } catch (e) {
      throw this.translate(e, shape);
    }
  }

  private noteCost(ext: unknown, shape: string): { requested: number } | null {
    const cost = (ext as { cost?: { requestedQueryCost?: number; throttleStatus?: ThrottleStatus } } | undefined)?.cost;
    if (cost?.throttleStatus) {
      this.throttle = cost.throttleStatus;
      this.gate.observe(cost.throttleStatus);
    }
    if (cost?.requestedQueryCost !== undefined) this.costs.set(shape, cost.requestedQueryCost);
    return cost ? { requested: cost.requestedQueryCost ?? 0 } : null;
  }

  private translate(e: unknown, shape: string): ShopifyApiError {
    if (e instanceof ShopifyApiError) return e;
    if (e instanceof GraphqlQueryError) {
      const body = e.body as { errors?: { graphQLErrors?: Array<{ message: string; extensions?: { code?: string; cost?: number; maxCost?: number } }> }; extensions?: unknown } | undefined;
      const first = body?.errors?.graphQLErrors?.[0];
      const code = first?.extensions?.code ?? 'GRAPHQL_ERROR';
      const cost = this.noteCost(body?.extensions, shape);
      if (code === 'THROTTLED') {
        this.throttledAnswers++;
        const t = this.throttle;
        const requested = cost?.requested ?? 0;
        if (t && requested > t.maximumAvailable) {
          return new ShopifyApiError(`the query costs ${requested} points, more than the shop's bucket of ${t.maximumAvailable} ever holds`, 'COST_OVER_BUCKET', false, undefined, 200, { cause: e, cost: { requested, limit: t.maximumAvailable } });
        }
        const missing = Math.max(0, requested - (t?.currentlyAvailable ?? 0));
        const waitMs = t && t.restoreRate > 0 ? Math.ceil((missing / t.restoreRate) * 1000) + 20 : 1000;
        return new ShopifyApiError('Shopify throttled the request (THROTTLED)', code, true, waitMs, 200, { cause: e });
      }
      if (code === 'MAX_COST_EXCEEDED') {
        const limit = first?.extensions?.maxCost ?? 1000;
        return new ShopifyApiError(`Shopify refused the request: ${first?.message ?? e.message}`, code, false, undefined, 200, { cause: e, cost: { requested: first?.extensions?.cost ?? cost?.requested ?? limit + 1, limit } });
      }
      return new ShopifyApiError(`Shopify refused the request: ${first?.message ?? e.message}`, code, false, undefined, 200, { cause: e });
    }
    if (e instanceof HttpResponseError) {
      const status = e.response.code;
      const retryable = status === 429 || status >= 500;
      return new ShopifyApiError(`Shopify answered HTTP ${status}`, `HTTP_${status}`, retryable, retryable ? 1000 : undefined, status, { cause: e });
    }
    const msg = e instanceof Error ? e.message : String(e);
    if (e instanceof Error && e.name === 'AbortError') return new ShopifyApiError('aborted', 'ABORTED', false, undefined, undefined, { cause: e });
    return new ShopifyApiError(`Shopify request failed: ${msg}`, 'NETWORK', true, 1000, undefined, { cause: e });
  }

  /**
   * `request` that waits for the bucket after THROTTLED (not a failure: the shop's budget was
   * short) for as long as `signal` allows, and retries 5xx and network errors `attempts` times
   * with backoff (reads: pull, readBack).
   */
  async read<T>(query: string, variables: Record<string, unknown>, signal: AbortSignal, attempts = 6): Promise<T> {
    for (let failures = 0; ;) {
      try {
        return await this.request<T>(query, variables, signal);
      } catch (e) {
        const err = e as ShopifyApiError;
        if (err.code === 'THROTTLED') {
          await sleep(err.retryAfterMs ?? 1000, signal);
          continue;
        }
        if (!err.retryable || ++failures >= attempts) throw err;
        await sleep(Math.min(10_000, err.retryAfterMs ?? 250 * 2 ** failures) * (0.8 + Math.random() * 0.4), signal);
      }
    }
  }

  /** `request` that waits for the bucket after THROTTLED while `signal` allows; other errors are the caller's (pushes). */
  async write<T>(query: string, variables: Record<string, unknown>, signal: AbortSignal): Promise<T> {
    for (;;) {
      try {
        return await this.request<T>(query, variables, signal);
      } catch (e) {
        const err = e as ShopifyApiError;
        if (err.code !== 'THROTTLED') throw err;
        await sleep(err.retryAfterMs ?? 1000, signal);
      }
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(signal!.reason as Error); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
