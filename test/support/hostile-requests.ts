// Hostile HTTP requests for every route the app serves (issue 17): random and malformed bodies,
// headers, encodings and sizes, generated with fast-check. Routes come from the app's own OpenAPI
// document (every route registered through Fastify, other engineers' included), so a route added
// later is fuzzed without touching this file. Used by the short fuzz in `npm test`
// (test/hostile-input.fuzz.test.ts, in-process) and the long one in `npm run soak` (over HTTP).
import fc from 'fast-check';

export interface RouteSpec {
  method: string;
  /** OpenAPI form: /v1/reservations/{id}/commit */
  path: string;
}

export interface HostileRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** For reports: what the generator meant to break. */
  note: string;
}

export interface HostileResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** Every route of an OpenAPI document except the documentation UI's own assets. */
export function routesFromOpenApi(doc: { paths?: Record<string, Record<string, unknown>> }): RouteSpec[] {
  const methods = ['get', 'post', 'put', 'patch', 'delete'];
  return Object.entries(doc.paths ?? {})
    .flatMap(([path, ops]) => Object.keys(ops).filter((m) => methods.includes(m)).map((m) => ({ method: m.toUpperCase(), path })))
    .filter((r) => !r.path.startsWith('/docs/'));
}

/** Values a field might plausibly hold, and values meant to break it. */
const nasty = fc.oneof(
  fc.constantFrom('', ' ', '\u0000', 'null', '-1', '0', '1e309', 'NaN', '../../etc/passwd', '%00', '%ff', '\ud800', 'ams-01', 'A-1', 'FZ-1', '<script>', "'; DROP TABLE positions; --", '__proto__', 'constructor'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ minLength: 200, maxLength: 3_000 }),
);
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { depthSize: 'small' },
  nasty,
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, false, 2 ** 53, -(2 ** 31), 1.5, 1_000_000_000),
  fc.jsonValue({ maxDepth: 3 }),
);
const eventTypes = ['stock.counted', 'stock.received', 'stock.sold', 'stock.returned', 'stock.adjusted', 'stock.unavailable', 'stock.exploded'];
/** Shaped like real bodies (so validation goes past the first field), with hostile values. */
const shapedBody = fc.oneof(
  fc.record({ events: fc.array(fc.record({
    eventId: anyValue, type: fc.oneof(fc.constantFrom(...eventTypes), anyValue), sku: anyValue, locationId: anyValue,
    occurredAt: fc.oneof(fc.constantFrom('2026-11-23T10:00:00Z', '2026-13-45T99:00:00Z', 'yesterday'), anyValue), source: anyValue,
    quantity: anyValue, delta: anyValue, reason: anyValue, sellable: anyValue,
  }, { requiredKeys: [] }), { maxLength: 5 }) }, { requiredKeys: [] }),
  fc.record({ reservationId: anyValue, channel: anyValue, orderRef: anyValue, ttlSeconds: anyValue,
    lines: fc.oneof(anyValue, fc.array(fc.record({ sku: anyValue, locationId: anyValue, quantity: anyValue }, { requiredKeys: [] }), { maxLength: 4 })) }, { requiredKeys: [] }),
  fc.record({ name: anyValue, type: fc.oneof(fc.constantFrom('store', 'warehouse', 'moon'), anyValue), lat: anyValue, lon: anyValue,
    shipFromStore: anyValue, pickup: anyValue, rank: anyValue, dailyCapacity: anyValue, safetyStock: anyValue, active: anyValue }, { requiredKeys: [] }),
  fc.record({ skus: fc.oneof(anyValue, fc.array(anyValue, { maxLength: 600 })), orderRef: anyValue, lines: anyValue, destination: anyValue, reserve: anyValue, reason: anyValue }, { requiredKeys: [] }),
  fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'events', 'lines', 'a'), anyValue),
);

type Body = { body?: string | Buffer; contentType?: string; note: string };
const bodyArb: fc.Arbitrary<Body> = fc.oneof(
  { weight: 5, arbitrary: shapedBody.map((b) => ({ body: JSON.stringify(b), contentType: 'application/json', note: 'shaped json' })) },
  { weight: 2, arbitrary: anyValue.map((b) => ({ body: JSON.stringify(b) ?? 'undefined', contentType: 'application/json', note: 'any json' })) },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }).map((s) => ({ body: `{"events": [${s}`, contentType: 'application/json', note: 'broken json' })) },
  { weight: 1, arbitrary: fc.constant({ body: '', contentType: 'application/json', note: 'empty json' }) },
  { weight: 1, arbitrary: fc.constant({ note: 'no body' }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => ({ body: Buffer.from(b), contentType: 'application/json', note: 'binary as json' })) },
  {
    weight: 1,
    arbitrary: fc.tuple(shapedBody, fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'application/merge-patch+json', 'garbage', ''))
      .map(([b, ct]) => ({ body: JSON.stringify(b), contentType: ct, note: `content-type ${ct || '(empty)'}` })),
  },
  { weight: 1, arbitrary: fc.constant({ body: Buffer.from('\uFEFF{"events":[]}', 'utf16le'), contentType: 'application/json', note: 'utf-16 body' }) },
  // Past the 1 MiB body limit, and deep nesting (a parser's stack).
  { weight: 1, arbitrary: fc.constant({ body: `{"events":[${'{"eventId":"x"},'.repeat(70_000)}{}]}`, contentType: 'application/json', note: 'over 1 MiB' }) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((d) => ({ body: '['.repeat(d) + ']'.repeat(d), contentType: 'application/json', note: `nesting ${d}` })) },
);

/** Percent-encodes every byte but unreserved ones (lone surrogates become U+FFFD, as a client would send them). */
const pctEncode = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`)).join('');
const paramArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('A-1', 'FZ-1', 'ams-01', 'fz-01', 'web-1001', 'x') },
  { weight: 3, arbitrary: nasty.map(pctEncode) },
  { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%E0%A4%A', '..', '.', '%2F', 'a%00b', '%C0%AF', 'x'.repeat(5_000)) },
);
const queryArb = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?wait=true', '?wait=maybe', '?wait=true&wait=false', '?skus=', '?skus=A-1,,%00', '?limit=-1', '?limit=99999999999', '?cursor=%ff', '?__proto__[x]=1', '?a[b][c]=1'),
  fc.dictionary(fc.constantFrom('wait', 'skus', 'limit', 'cursor', 'since', 'before', 'x'), nasty, { maxKeys: 3 })
    .map((d) => `?${new URLSearchParams(d as Record<string, string>).toString()}`),
);

export function hostileRequestArb(routes: readonly RouteSpec[], token: string): fc.Arbitrary<HostileRequest> {
  const auth = fc.oneof(
    { weight: 8, arbitrary: fc.constant(`Bearer ${token}`) },
    { weight: 1, arbitrary: fc.constantFrom('', 'Bearer', 'Bearer ', `bearer ${token} extra`, 'Basic dXNlcjpwYXNz', `Bearer ${token}\u0000`) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`) },
  );
  const extraHeaders = fc.dictionary(
    fc.constantFrom('content-encoding', 'accept', 'accept-charset', 'x-forwarded-for', 'transfer-encoding', 'expect', 'x-request-id', 'idempotency-key'),
    fc.oneof(fc.constantFrom('gzip', 'br', 'deflate, gzip', 'identity', '*/*', 'application/xml', 'utf-7', '100-continue'), fc.string({ maxLength: 40 }).filter((s) => /^[\x20-\x7e]*$/.test(s))),
    { maxKeys: 2 },
  ).map((h) => {
    // Transfer framing is the HTTP client's business; a forged one makes the request unsendable rather than hostile.
    delete (h as Record<string, string>)['transfer-encoding'];
    delete (h as Record<string, string>).expect;
    return h as Record<string, string>;
  });
  return fc.record({
    route: fc.constantFrom(...routes),
    params: fc.array(paramArb, { minLength: 4, maxLength: 4 }),
    query: queryArb,
    auth,
    body: bodyArb,
    extra: extraHeaders,
    wrongMethod: fc.boolean().map((b) => b && Math.random() < 0.1),
  }).map(({ route, params, query, auth: a, body, extra, wrongMethod }) => {
    let i = 0;
    const path = route.path.replace(/\{[^}]+\}/g, () => params[i++ % params.length]!);
    const headers: Record<string, string> = { ...extra };
    if (a) headers.authorization = a;
    if (body.contentType !== undefined && body.body !== undefined) headers['content-type'] = body.contentType;
    const method = wrongMethod ? (route.method === 'GET' ? 'DELETE' : 'PATCH') : route.method;
    const sendsBody = method !== 'GET' && method !== 'HEAD' && body.body !== undefined;
    return {
      method, url: path + query, headers, ...(sendsBody ? { body: body.body } : {}),
      note: `${route.method} ${route.path}: ${body.note}${wrongMethod ? ', wrong method' : ''}`,
    };
  });
}

/** What every answer to a hostile request must be; returns the problems found (none: fine). */
export function checkHostileResponse(req: HostileRequest, res: HostileResponse, opts: { allow503?: boolean; allow429?: boolean } = {}): string[] {
  const problems: string[] = [];
  const where = `${req.method} ${req.url.slice(0, 120)} (${req.note}) → ${res.status}`;
  if (res.status >= 500 && !(opts.allow503 && res.status === 503)) problems.push(`${where}: server error ${res.body.slice(0, 300)}`);
  if (res.status === 429 && !opts.allow429) problems.push(`${where}: shed`);
  // /readyz reports the service's state, not a verdict on the request: its 503 keeps its own body.
  const isReadiness = req.url.split('?')[0] === '/readyz';
  if (res.status >= 400 && !(isReadiness && res.status === 503)) {
    const type = String(res.headers['content-type'] ?? '');
    if (!type.startsWith('application/problem+json')) problems.push(`${where}: content-type ${type}, not problem+json`);
    let p: { status?: unknown; title?: unknown; detail?: unknown; errors?: Array<{ field?: unknown }> } = {};
    try {
      p = JSON.parse(res.body) as typeof p;
    } catch {
      problems.push(`${where}: body is not JSON: ${res.body.slice(0, 200)}`);
    }
    if (p.status !== res.status || typeof p.title !== 'string') problems.push(`${where}: not a problem document: ${res.body.slice(0, 200)}`);
    // A 400 or 422 is about the request's content: it must say which part is wrong.
    if ((res.status === 400 || res.status === 422) && !namesField(p)) problems.push(`${where}: refusal names no field: ${res.body.slice(0, 300)}`);
  }
  return problems;
}

/** A structured `errors[].field`, or a detail that starts with the part at fault (`body.events.0.sku: …`). */
function namesField(p: { detail?: unknown; errors?: Array<{ field?: unknown }> }): boolean {
  if (Array.isArray(p.errors) && p.errors.length > 0 && p.errors.every((e) => typeof e.field === 'string' && e.field.length > 0)) return true;
  return typeof p.detail === 'string' && /^(body|params|querystring|headers)[.:]/.test(p.detail);
}
