// /healthz, /readyz, /metrics and /docs: unauthenticated, for operators and load balancers.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { RETRY_AFTER_SECONDS, withDeadline } from '../unavailable.js';

/**
 * Each readiness check gives up after this long: a load balancer's probe (often 1-5 s) must get
 * an answer, and a dependency that slow is not ready. With the broker down /readyz used to hang.
 */
export const READY_CHECK_TIMEOUT_MS = 1_500;

const within = (check: Promise<boolean>) =>
  withDeadline(check, READY_CHECK_TIMEOUT_MS, () => new Error('readiness check timed out')).catch(() => false);

export function operationsRoutes(app: FastifyInstance, ctx: AppContext): void {
  // In /docs too (contract §9: the OpenAPI covers all of the API), marked as needing no token.
  const open = (summary: string, description?: string) => ({ summary, description, tags: ['operations'], security: [] });
  app.get('/healthz', { schema: open('The process is alive') }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: open('Ready for traffic', `200 once the database and the event log answer; 503 with Retry-After (and which one failed) otherwise. Each check gives up after ${READY_CHECK_TIMEOUT_MS} ms.`) }, async (_req, reply) => {
    const [db, log] = await Promise.all([
      within(ctx.db.query('SELECT 1').then(() => true)),
      within(ctx.log.isReachable()),
    ]);
    const ready = ctx.isStarted() && db && log;
    if (!ready) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', database: db, eventLog: log, started: ctx.isStarted() });
  });

  app.get('/metrics', { schema: open('Prometheus metrics', 'Text exposition format: events applied and skipped as duplicates, dead letters, batch latency and size, append-to-applied lag, consumer lag, HTTP requests.') }, async (_req, reply) => {
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });

  // A browser gets the interactive UI; a program gets the OpenAPI document itself.
  app.get('/docs', { schema: open('This OpenAPI document', 'JSON; a browser (Accept: text/html) is sent to the interactive UI at /docs/ui.') }, async (req, reply) => {
    if ((req.headers.accept ?? '').includes('text/html')) return reply.redirect('/docs/ui');
    return app.swagger();
  });
}
