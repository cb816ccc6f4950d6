// POST /webhooks/{kind}/{channelId}: the generic inbound webhook. No bearer token: the
// connector checks the vendor's signature over the raw body (so the body is kept as bytes),
// the engine dedupes by the vendor's delivery id and counts every outcome on /metrics.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ChannelEngine } from '../../channels/channel-engine.js';
import type { RouteRegistrar } from '../app.js';
import { problem, sendProblem } from '../problem.js';
import { CHANNEL_ID_PATTERN } from './channels.js';

export function webhookRoutes(engine: ChannelEngine): RouteRegistrar {
  return async (fastify: FastifyInstance) => {
    // A child context, so the raw-body parser applies to this route only.
    await fastify.register(async (child) => {
      child.removeAllContentTypeParsers();
      child.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      const app = child.withTypeProvider<ZodTypeProvider>();
      app.post('/webhooks/:kind/:channelId', {
        schema: {
          summary: 'Inbound webhook of a channel, authenticated by the vendor\'s signature over the raw body', tags: ['channels'],
          security: [],
          params: z.object({ kind: z.enum(['shopify', 'amazon', 'square', 'pos', 'custom']), channelId: z.string().regex(CHANNEL_ID_PATTERN) }),
          response: {
            200: z.object({
              outcome: z.string(), duplicate: z.boolean(), detail: z.string().optional(),
              accepted: z.number().int().optional().describe('pos: events appended'),
              duplicates: z.number().int().optional().describe('pos: events already applied (same eventId)'),
              rejected: z.array(z.object({ index: z.number().int(), eventId: z.string().nullable(), reason: z.string() })).optional()
                .describe('pos: each refused event with its reason (also in the channel quarantine)'),
            }),
          },
        },
      }, async (req, reply) => {
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const r = await engine.webhook(req.params.kind, req.params.channelId, raw, req.headers);
        if (r.status !== 200) return sendProblem(reply, problem(r.status, r.detail));
        const { status: _status, ...body } = r;
        return body;
      });
    });
  };
}
