import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { stockEventSchema } from '../../core/stock-event.js';
import type { AppContext } from '../context.js';
import { HttpProblem, problem } from '../problem.js';

export const MAX_EVENTS_PER_REQUEST = 1000;
const WAIT_TIMEOUT_MS = 10_000;

const ingestResult = z.object({
  accepted: z.number().int(),
  duplicates: z.number().int(),
  rejected: z.array(z.object({ index: z.number().int(), error: z.string() })),
});

export function eventRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.post('/v1/events', {
    config: { scope: 'events:write' },
    schema: {
      summary: 'Append stock events to the log',
      description: 'Each event is validated on its own: an invalid one is listed in `rejected` and the others are still accepted. Accepted means durably in the event log. 429 with Retry-After while the backlog of accepted events passes its bound (nothing of the request is accepted); 503 with Retry-After while the log or the database is unreachable. With `wait=true` the call returns once every accepted event is applied to the ledger (504 after 10 s; the events stay accepted).',
      tags: ['events'],
      querystring: z.object({ wait: z.enum(['true', 'false']).optional() }),
      // Items are checked one by one in the handler (so one bad event rejects only itself);
      // the union documents the event shape.
      body: z.object({ events: z.array(z.union([stockEventSchema, z.unknown()])).max(MAX_EVENTS_PER_REQUEST, `at most ${MAX_EVENTS_PER_REQUEST} events per request`) }),
      response: { 202: ingestResult },
    },
  }, async (req, reply) => {
    // Shed before parsing the batch: the backlog past its bound (EVENT_BACKLOG_LIMIT,
    // EVENT_LAG_LIMIT_SECONDS) refuses the whole batch, so nothing of it is accepted.
    const shed = ctx.backlog?.decide();
    if (shed?.shed) {
      reply.header('retry-after', String(shed.retryAfter));
      throw new HttpProblem(problem(429, `events are arriving faster than they are applied: ${shed.reason}; nothing in this request was accepted, resend it after ${shed.retryAfter} s`));
    }
    const result = await ctx.ingest.ingest(req.body.events);
    const body = { accepted: result.accepted, duplicates: result.duplicates, rejected: result.rejected };
    if (req.query.wait === 'true' && !(await ctx.ingest.waitApplied(result.acceptedIds, WAIT_TIMEOUT_MS))) {
      throw new HttpProblem(problem(504, 'events accepted but not yet applied after 10 s', body));
    }
    return reply.code(202).send(body);
  });
}
