// /healthz, /readyz, /metrics and /docs: unauthenticated, for operators and load balancers.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';

export function operationsRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const [db, log] = await Promise.all([
      ctx.db.query('SELECT 1').then(() => true, () => false),
      ctx.log.isReachable(),
    ]);
    const ready = ctx.isStarted() && db && log;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', database: db, eventLog: log, started: ctx.isStarted() });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });

  // A browser gets the interactive UI; a program gets the OpenAPI document itself.
  app.get('/docs', { schema: { hide: true } }, async (req, reply) => {
    if ((req.headers.accept ?? '').includes('text/html')) return reply.redirect('/docs/ui');
    return app.swagger();
  });
}
