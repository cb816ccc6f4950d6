// Calls to the Selling Partner API: the LWA access token in `x-amz-access-token`, a token bucket
// per operation from its published plan (waited on before each call), the plan corrected from
// `x-amzn-RateLimit-Limit`, and retries with jittered exponential backoff on 429 and 5xx. An
// answer with an error list that retrying cannot fix is thrown as SpApiError with that list.
import { LwaError, type LwaTokenSource } from './lwa-token.js';
import { OperationBucket, PUBLISHED_PLANS } from './rate-plan.js';

export interface SpApiError {
  code: string;
  message: string;
  details?: string;
}

export class SpApiCallError extends Error {
  constructor(readonly operationId: string, readonly status: number, readonly errors: SpApiError[], readonly retryable: boolean) {
    super(`${operationId} answered ${status}: ${errors.map((e) => `${e.code} ${e.message}`).join('; ') || 'no error list'}`);
    this.name = 'SpApiCallError';
  }
}

export interface SpApiClientOptions {
  endpoint: string;
  lwa: LwaTokenSource;
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Multiplies every plan's rate (tests and benchmarks against a sped-up stand-in); 1 in production. */
  rateScale?: number;
  /** Attempts per call on 429/5xx before giving up (the engine retries the push later). */
  maxAttempts?: number;
}

export interface CallOptions {
  query?: Record<string, string | string[] | undefined>;
  body?: unknown;
  signal?: AbortSignal;
}

/**
 * Aim a little under each plan: our bucket and SP-API's start their refills at different moments
 * (a request's travel time), so a client exactly at the rate still draws the odd 429.
 */
const PLAN_SAFETY = 0.9;

const abortableSleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
  if (signal?.aborted) return reject(signal.reason as Error);
  const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
  const onAbort = () => { clearTimeout(t); reject(signal!.reason as Error); };
  signal?.addEventListener('abort', onAbort, { once: true });
});

export class SpApiClient {
  private readonly buckets = new Map<string, OperationBucket>();
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly scale: number;
  private readonly maxAttempts: number;
  /** 429 answers seen (for status and tests). */
  throttled = 0;

  constructor(private readonly o: SpApiClientOptions) {
    this.fetch = o.fetch ?? globalThis.fetch;
    this.now = o.now ?? (() => performance.now());
    this.sleep = o.sleep ?? abortableSleep;
    this.scale = o.rateScale ?? 1;
    this.maxAttempts = o.maxAttempts ?? 6;
  }

  bucket(operationId: string): OperationBucket {
    let b = this.buckets.get(operationId);
    if (!b) {
      const plan = PUBLISHED_PLANS[operationId];
      if (!plan) throw new Error(`no published plan for ${operationId}`);
      b = new OperationBucket(plan.perSecond * this.scale * PLAN_SAFETY, plan.burst, this.now);
      this.buckets.set(operationId, b);
    }
    return b;
  }

  async call<T>(operationId: string, method: string, path: string, opts: CallOptions = {}): Promise<T> {
    const bucket = this.bucket(operationId);
    const url = new URL(path, this.o.endpoint);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, Array.isArray(v) ? v.join(',') : v);
    }
    let reauthorised = false;
    for (let attempt = 1; ; attempt++) {
      for (let wait = bucket.waitMs(); wait > 0; wait = bucket.waitMs()) await this.sleep(wait, opts.signal);
      bucket.take();
      const token = await this.o.lwa.accessToken(opts.signal);
      let res: Response;
      try {
        res = await this.fetch(url, {
          method,
          headers: { 'x-amz-access-token': token, accept: 'application/json', ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) },
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: opts.signal,
        });
      } catch (err) {
        if (opts.signal?.aborted || attempt >= this.maxAttempts) throw err;
        await this.sleep(this.backoffMs(attempt, bucket), opts.signal);
        continue;
      }
      const limit = Number(res.headers.get('x-amzn-ratelimit-limit'));
      if (Number.isFinite(limit) && limit > 0) bucket.perSecond = limit * this.scale * PLAN_SAFETY;
      const text = await res.text();
      const body = text ? (JSON.parse(text) as T & { errors?: SpApiError[] }) : ({} as T & { errors?: SpApiError[] });
      if (res.ok) return body;
      const errors = body.errors ?? [];
      if (res.status === 403 && !reauthorised && errors.some((e) => e.code === 'Unauthorized')) {
        // A token revoked or expired early: one fresh token, then the answer stands.
        reauthorised = true;
        this.o.lwa.invalidate();
        continue;
      }
      const retryable = res.status === 429 || res.status >= 500;
      if (res.status === 429) {
        this.throttled += 1;
        bucket.drain();
      }
      if (!retryable || attempt >= this.maxAttempts) throw new SpApiCallError(operationId, res.status, errors, retryable);
      await this.sleep(this.backoffMs(attempt, bucket), opts.signal);
    }
  }

  /** Jittered exponential backoff, never shorter than one token's refill. */
  private backoffMs(attempt: number, bucket: OperationBucket): number {
    const base = Math.min(30_000, 200 * 2 ** (attempt - 1));
    return Math.max(bucket.waitMs(), Math.round(base / 2 + Math.random() * (base / 2)));
  }
}

export { LwaError };
