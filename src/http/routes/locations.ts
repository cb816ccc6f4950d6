import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { locationBodySchema, locationIdSchema, locationSchema } from '../../locations/location.js';
import { listLocations, upsertLocation } from '../../locations/location-store.js';

export function locationRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.put('/v1/locations/:id', {
    config: { scope: 'admin' },
    schema: {
      summary: 'Create or replace a location', tags: ['locations'],
      params: z.object({ id: locationIdSchema }),
      body: locationBodySchema,
      response: { 200: locationSchema, 201: locationSchema },
    },
  }, async (req, reply) => {
    const { location, created } = await upsertLocation(ctx.db, req.params.id, req.body);
    return reply.code(created ? 201 : 200).send(location);
  });

  app.get('/v1/locations', {
    schema: { summary: 'List locations', tags: ['locations'], response: { 200: z.object({ items: z.array(locationSchema) }) } },
  }, async () => ({ items: await listLocations(ctx.db) }));
}
