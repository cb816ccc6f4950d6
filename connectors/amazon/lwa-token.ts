// Login with Amazon: the refresh-token grant that gives SP-API its access token (sent as
// `x-amz-access-token`). The token is cached until shortly before it expires, and concurrent
// callers share one request for a new one, so a burst of calls at expiry asks LWA once.
export const DEFAULT_LWA_URL = 'https://api.amazon.com/auth/o2/token';

export interface LwaCredentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** The token endpoint (settings.lwaUrl); default Amazon's. */
  lwaUrl?: string;
}

/** LWA refused or failed. `retryable` is false for bad credentials: retrying cannot help. */
export class LwaError extends Error {
  constructor(message: string, readonly retryable: boolean, readonly status: number | null) {
    super(message);
    this.name = 'LwaError';
  }
}

export interface LwaOptions {
  fetch?: typeof fetch;
  now?: () => number;
  /** Renew this long before `expires_in` runs out (clock skew, a call in flight). */
  refreshMarginMs?: number;
}

export class LwaTokenSource {
  private token: { value: string; renewAt: number } | null = null;
  private pending: Promise<string> | null = null;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly margin: number;

  constructor(private readonly creds: LwaCredentials, opts: LwaOptions = {}) {
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.now = opts.now ?? Date.now;
    this.margin = opts.refreshMarginMs ?? 60_000;
  }

  /** A live access token, from the cache or from LWA. */
  accessToken(signal?: AbortSignal): Promise<string> {
    if (this.token && this.now() < this.token.renewAt) return Promise.resolve(this.token.value);
    this.pending ??= this.request(signal).finally(() => { this.pending = null; });
    return this.pending;
  }

  /** Forget the cached token (SP-API answered 403 Unauthorized: revoked or expired early). */
  invalidate(): void {
    this.token = null;
  }

  private async request(signal?: AbortSignal): Promise<string> {
    const started = this.now();
    let res: Response;
    try {
      res = await this.fetch(this.creds.lwaUrl ?? DEFAULT_LWA_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: this.creds.refreshToken, client_id: this.creds.clientId, client_secret: this.creds.clientSecret }).toString(),
        signal,
      });
    } catch (err) {
      throw new LwaError(`LWA token endpoint unreachable: ${(err as Error).message}`, true, null);
    }
    const text = await res.text();
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // reported below with the status
    }
    if (!res.ok || typeof body.access_token !== 'string') {
      const why = typeof body.error === 'string' ? `${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''}` : text.slice(0, 200);
      throw new LwaError(`LWA refused the refresh token (${res.status}): ${why}`, res.status === 429 || res.status >= 500, res.status);
    }
    const ttlMs = (typeof body.expires_in === 'number' ? body.expires_in : 3600) * 1000;
    // Timed from the request's start: the token's life began no later than that.
    this.token = { value: body.access_token, renewAt: started + Math.max(ttlMs - this.margin, ttlMs / 2) };
    return body.access_token;
  }
}
