// Issue 17, hostile input: fast-check drives every route the app serves (enumerated from its own
// OpenAPI document) with random and malformed bodies, headers, encodings and sizes. Nothing
// answers 500; every refusal is problem+json, and a 400/422 names the field; nothing refused
// changes any table (a fingerprint of every row of every table, before and after each refusal).
// In-process (Fastify's inject) on PostgreSQL with the embedded log, API role only, so no
// background work moves the fingerprint. The soak runs a longer fuzz over HTTP.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startService, type RunningService } from '../src/service/service.js';
import { createPgTestDatabase, type PgTestDatabase } from './support/databases.js';
import { checkHostileResponse, hostileRequestArb, routesFromOpenApi, type HostileResponse } from './support/hostile-requests.js';

const TOKENS = 'fz:fz-secret:events:write+stock:read+stock:write+reservations+routing+admin';
let pg: PgTestDatabase;
let svc: RunningService;

/** Every row of every table of ours, hashed: any insert, update or delete changes it. */
async function fingerprint(): Promise<string> {
  const tables = await svc.db.query<{ t: string }>(
    "SELECT quote_ident(table_name) AS t FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1");
  const parts = await Promise.all(tables.map(async ({ t }) => {
    const r = await svc.db.query<{ n: number; h: string | null }>(`SELECT count(*)::int AS n, sum(hashtext(x::text)::bigint)::text AS h FROM ${t} x`);
    return `${t}:${r[0]!.n}:${r[0]!.h}`;
  }));
  return parts.join(' ');
}

beforeAll(async () => {
  pg = await createPgTestDatabase();
  svc = await startService({ roles: ['api'], config: loadConfig({ DATABASE_URL: pg.url, API_TOKENS: TOKENS, PORT: '0', LOG_LEVEL: 'fatal', EVENT_BACKLOG_LIMIT: '0', EVENT_LAG_LIMIT_SECONDS: '0' }) });
  const put = await svc.app!.inject({ method: 'PUT', url: '/v1/locations/fz-01', headers: { authorization: 'Bearer fz-secret' }, payload: { name: 'Fuzz', type: 'store', lat: 52, lon: 4.9, shipFromStore: true, pickup: true } });
  expect(put.statusCode).toBeLessThan(300);
});

afterAll(async () => {
  await svc?.stop();
  await pg?.drop();
});

describe('hostile input (issue 17)', () => {
  it('covers every route the app serves, /v1 and operator ones alike', () => {
    const routes = routesFromOpenApi(svc.app!.swagger() as never);
    const listed = routes.map((r) => `${r.method} ${r.path}`);
    for (const must of ['POST /v1/events', 'PUT /v1/locations/{id}', 'POST /v1/reservations', 'POST /v1/reservations/{id}/commit', 'POST /v1/routing/plan', 'GET /v1/availability/{sku}']) {
      expect(listed).toContain(must);
    }
  });

  it('no 500, refusals are problem+json naming the field, nothing refused changes a table', async () => {
    const routes = routesFromOpenApi(svc.app!.swagger() as never);
    const problems: string[] = [];
    const statuses = new Map<number, number>();
    let before = await fingerprint();
    await fc.assert(fc.asyncProperty(hostileRequestArb(routes, 'fz-secret'), async (req) => {
      const r = await svc.app!.inject({ method: req.method as 'GET', url: req.url, headers: req.headers, ...(req.body !== undefined ? { payload: req.body } : {}) });
      const res: HostileResponse = { status: r.statusCode, headers: r.headers, body: r.body };
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (process.env.FUZZ_DEBUG && res.status >= 400) console.log(res.status, res.body.slice(0, 160));
      const found = checkHostileResponse(req, res);
      const after = await fingerprint();
      if (res.status >= 400 && after !== before) found.push(`${req.method} ${req.url.slice(0, 100)} (${req.note}) → ${res.status} changed the database`);
      before = after;
      problems.push(...found);
    }), { numRuns: Number(process.env.FUZZ_RUNS ?? 400), seed: Number(process.env.FUZZ_SEED ?? 17) });
    // All of them at once (a fast-check failure would stop at the first and shrink it).
    expect(problems.slice(0, 30)).toEqual([]);
    // The fuzz reached past authentication and validation, not only 401s.
    expect([...statuses.keys()].some((s) => s >= 200 && s < 300) || (statuses.get(404) ?? 0) > 0).toBe(true);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
  }, 300_000);
});
