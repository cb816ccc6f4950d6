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
import { userRoutes } from './routes/users.js';
import { SessionAuth, staffEventsGuard } from './session-auth.js';
import { UserStore } from '../staff/user-store.js';
import { importRoutes } from './routes/imports.js';
import { postalCodeRoutes } from './routes/postal-codes.js';
import type { ApiToken } from '../config.js';
import { isDataException } from '../db/database.js';
import { DependencyUnavailable, isDatabaseUnreachable, RETRY_AFTER_SECONDS } from './unavailable.js';

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
    // Errors the router raises before any route runs (a path that is not valid percent-encoding,
    // a path segment over 100 characters) leave as problem+json too, not Fastify's own JSON.
    frameworkErrors: (err, _req, reply) => {
      const path = 'params: the URL path';
      if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') void sendProblem(reply, problem(414, `${path} has a segment longer than 100 characters`, { errors: [{ field: 'params', message: 'longer than 100 characters' }] }));
      else if (err.code === 'FST_ERR_BAD_URL') void sendProblem(reply, problem(400, `${path} is not valid percent-encoded UTF-8`, { errors: [{ field: 'params', message: 'not valid percent-encoded UTF-8' }] }));
      else void sendProblem(reply, problem(err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400, err.message));
    },
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
    // Body parsing refused it (not JSON, empty, a media type no route takes): name the part.
    if (err.code?.startsWith('FST_ERR_CTP_') && err.statusCode && err.statusCode < 500) {
      const field = err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'headers.content-type' : err.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' ? 'headers.content-length' : 'body';
      const message = err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? `unsupported media type ${JSON.stringify(req.headers['content-type'] ?? '')}; send application/json` : err.message;
      return sendProblem(reply, problem(err.statusCode, `${field}: ${message}`, { errors: [{ field, message }] }));
    }
    // SQLSTATE class 22 (data exception): the database refused a value the request carried, such
    // as text with a NUL character. The request's fault, said as such, and nothing was written.
    if (isDataException(err)) {
      return sendProblem(reply, problem(400, `a value in the request cannot be stored: ${err.message}`));
    }
    // The database or the log is unreachable: nothing was decided, the client resends later.
    if (err instanceof DependencyUnavailable || (isDatabaseUnreachable(err) && !(err.statusCode && err.statusCode < 500))) {
      const what = err instanceof DependencyUnavailable ? err.message : `database unavailable: ${err.message}`;
      req.log.info({ err: err.message }, 'dependency unavailable'); // counted in omnistock_http_requests_total{status="503"}
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return sendProblem(reply, problem(503, `${what}; retry after ${RETRY_AFTER_SECONDS} s`));
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

  // Staff users sign in with a session cookie (contract §11); bearer tokens work as before.
  const users = new UserStore(ctx.db);
  app.addHook('onRequest', authHook(new TokenRegistry(tokens), opts.api === false ? undefined : new SessionAuth(users)));
  app.addHook('preHandler', staffEventsGuard);
  const routes = opts.api === false
    ? [operationsRoutes]
    : [operationsRoutes, locationRoutes, eventRoutes, availabilityRoutes, deadLetterRoutes, userRoutes(users), importRoutes, postalCodeRoutes, ...extraRoutes];
  for (const register of routes) await register(app, ctx);
  return app;
}
