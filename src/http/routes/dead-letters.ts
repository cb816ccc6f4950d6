// Messages the reconciler quarantined (not JSON, not a valid event, unknown location): what an
// operator looks at to fix a producer. The log moved on past them; nothing here blocks it.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';

const deadLetterSchema = z.object({
  id: z.number(), topic: z.string(), partition: z.number(), offset: z.number(), key: z.string().nullable(),
  payload: z.string().describe('the message as it was on the log (first 64 KiB)'), reason: z.string(), receivedAt: z.string(),
});

export function deadLetterRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/v1/dead-letters', {
    config: { scope: 'admin' },
    schema: {
      summary: 'Quarantined log messages, newest first', tags: ['operations'],
      querystring: z.object({
        key: z.string().max(256).optional().describe('only messages with this key (the sku)'),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        offset: z.coerce.number().int().min(0).default(0),
      }),
      response: { 200: z.object({ items: z.array(deadLetterSchema) }) },
    },
  }, async (req) => {
    const rows = await ctx.db.query<{ id: number; topic: string; partition: number; offset: number; key: string | null; payload: string; reason: string; received_at: Date | string }>(
      `SELECT id, topic, partition, "offset", key, left(payload, 65536) AS payload, reason, received_at
         FROM dead_letters WHERE ($1::text IS NULL OR key = $1) ORDER BY id DESC LIMIT $2 OFFSET $3`,
      [req.query.key ?? null, req.query.limit, req.query.offset],
    );
    return {
      items: rows.map((r) => ({
        id: Number(r.id), topic: r.topic, partition: r.partition, offset: Number(r.offset), key: r.key, payload: r.payload, reason: r.reason,
        receivedAt: new Date(r.received_at).toISOString(),
      })),
    };
  });
}
