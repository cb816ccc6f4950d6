// The app's only way to the service: the /v1 API, same origin, with the session cookie. Writes
// carry the session's CSRF token. Every failure becomes an ApiError with a message a person can
// act on: the server's problem+json detail, or "cannot reach the service".
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly problem: Record<string, unknown> | null = null) {
    super(message);
  }
  get unreachable(): boolean {
    return this.status === 0;
  }
}

let csrfToken = '';
let onSignedOut: () => void = () => {};
let onReachability: (ok: boolean) => void = () => {};

export function configureApi(o: { csrf?: string; signedOut?: () => void; reachability?: (ok: boolean) => void }): void {
  if (o.csrf !== undefined) csrfToken = o.csrf;
  if (o.signedOut) onSignedOut = o.signedOut;
  if (o.reachability) onReachability = o.reachability;
}

export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    onReachability(false);
    throw new ApiError(0, 'Cannot reach the omnistock service. Check the connection and try again (trying again never records anything twice).');
  }
  onReachability(res.status !== 502 && res.status !== 503 && res.status !== 504);
  if (res.status === 401 && path !== '/v1/session') onSignedOut();
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const p = (json && typeof json === 'object' ? json : null) as Record<string, unknown> | null;
    const detail = typeof p?.detail === 'string' ? p.detail : typeof p?.title === 'string' ? p.title : `HTTP ${res.status}`;
    throw new ApiError(res.status, detail, p);
  }
  return json as T;
}

export const enc = encodeURIComponent;

/** A fresh id for one form submission: reused on retries of that submission, so it counts once. */
export function newEventId(prefix: string): string {
  const c = globalThis.crypto;
  const id = typeof c?.randomUUID === 'function' ? c.randomUUID() : Array.from(c.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  return `${prefix}-${id}`;
}
