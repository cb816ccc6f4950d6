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
import type { ShopifySettings } from './shopify-settings.js';

export interface ThrottleStatus { maximumAvailable: number; currentlyAvailable: number; restoreRate: number }

/** A failed Admin API call: `retryable` on THROTTLED, 429, 5xx and network errors. */
export class ShopifyApiError extends Error {
  constructor(message: string, readonly code: string, readonly retryable: boolean, readonly retryAfterMs?: number, readonly status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShopifyApiError';
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

  /** One GraphQL request; throws ShopifyApiError (THROTTLED with how long to wait). */
  async request<T>(query: string, variables: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    const client = new this.api.clients.Graphql({ session: this.session });
    try {
      const res = await client.request(query, { variables, retries: 0, signal } as never);
      this.noteCost(res.extensions);
      return res.data as T;
    } catch (e) {
      throw this.translate(e);
    }
  }

  private noteCost(ext: unknown): { requested: number } | null {
    const cost = (ext as { cost?: { requestedQueryCost?: number; throttleStatus?: ThrottleStatus } } | undefined)?.cost;
    if (cost?.throttleStatus) this.throttle = cost.throttleStatus;
    return cost ? { requested: cost.requestedQueryCost ?? 0 } : null;
  }

  private translate(e: unknown): ShopifyApiError {
    if (e instanceof ShopifyApiError) return e;
    if (e instanceof GraphqlQueryError) {
      const body = e.body as { errors?: { graphQLErrors?: Array<{ message: string; extensions?: { code?: string } }> }; extensions?: unknown } | undefined;
      const first = body?.errors?.graphQLErrors?.[0];
      const code = first?.extensions?.code ?? 'GRAPHQL_ERROR';
      const cost = this.noteCost(body?.extensions);
      if (code === 'THROTTLED') {
        const t = this.throttle;
        const missing = Math.max(0, (cost?.requested ?? 0) - (t?.currentlyAvailable ?? 0));
        const waitMs = t && t.restoreRate > 0 ? Math.ceil((missing / t.restoreRate) * 1000) + 50 : 1000;
        return new ShopifyApiError('Shopify throttled the request (THROTTLED)', code, true, waitMs, 200, { cause: e });
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

  /** `request` that waits out THROTTLED and retries 5xx a few times (reads: pull, readBack). */
  async read<T>(query: string, variables: Record<string, unknown>, signal: AbortSignal, attempts = 6): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await this.request<T>(query, variables, signal);
      } catch (e) {
        const err = e as ShopifyApiError;
        if (!err.retryable || i >= attempts) throw err;
        await sleep(Math.min(10_000, err.retryAfterMs ?? 250 * 2 ** i) * (0.8 + Math.random() * 0.4), signal);
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
