// The Fastify application: zod schemas validate requests and generate /docs; every error
// leaves as application/problem+json.
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { authHook, TokenRegistry } from './auth.js';
import type { AppContext } from './context.js';
import { HttpProblem, problem, sendProblem } from './problem.js';
import { locationRoutes } from './routes/locations.js';
import { eventRoutes } from './routes/events.js';
import { availabilityRoutes } from './routes/availability.js';
import { operationsRoutes } from './routes/operations.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { importRoutes } from './routes/imports.js';
import type { ApiToken } from '../config.js';
import { isDataException } from '../db/database.js';

export const BODY_LIMIT = 1024 * 1024;

export type App = FastifyInstance;
export type RouteRegistrar = (app: FastifyInstance, ctx: AppContext) => void | Promise<void>;

/**
 * The HTTP application. With `api: false` it serves the operator endpoints alone (/healthz,
 * /readyz, /metrics, /docs): what a process without the API role (a reconciler) exposes, so each
 * process of a split deployment can be probed and scraped for its own figures.
 */
export async function buildApp(ctx: AppContext, tokens: readonly ApiToken[], extraRoutes: RouteRegistrar[] = [], opts: { api?: boolean } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    // Per-request lines would drown the logs at ingest rates; errors are still logged.
    loggerInstance: ctx.logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof HttpProblem) return sendProblem(reply, err.problem);
    if (hasZodFastifySchemaValidationErrors(err)) {
      const errors = err.validation.map((v) => ({
        field: [err.validationContext, ...String(v.instancePath ?? '').split('/').filter(Boolean)].join('.'),
        message: v.message ?? 'invalid',
      }));
      return sendProblem(reply, problem(400, errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors }));
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendProblem(reply, problem(413, `body exceeds ${BODY_LIMIT} bytes`));
    // SQLSTATE class 22 (data exception): the database refused a value the request carried, such
    // as text with a NUL character. The request's fault, said as such, and nothing was written.
    if (isDataException(err)) {
      return sendProblem(reply, problem(400, `a value in the request cannot be stored: ${err.message}`));
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendProblem(reply, problem(status, err.message));
    req.log.error({ err }, 'request failed');
    return sendProblem(reply, problem(500, 'internal error; the request may be retried'));
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, problem(404, `no route ${req.method} ${req.url.split('?')[0]}`)));
  app.addHook('onResponse', async (req, reply) => {
    ctx.metrics.httpRequests.inc({ method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'omnistock API', version: '1', description: 'Unified inventory ledger: stock events in, available-to-promise out. See docs/API.md.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs/ui' });

  app.addHook('onRequest', authHook(new TokenRegistry(tokens)));
  const routes = opts.api === false ? [operationsRoutes] : [operationsRoutes, locationRoutes, eventRoutes, availabilityRoutes, deadLetterRoutes, importRoutes, ...extraRoutes];
  for (const register of routes) await register(app, ctx);
  return app;
}
