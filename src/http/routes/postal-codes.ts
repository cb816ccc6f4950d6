// Postal-code coordinates (an extension, docs/API.md "Postal-code coordinates"): the merchant
// loads them in bulk so that marketplace orders, whose addresses carry a postal code but no
// coordinates, are routed to the nearest location (contract §7 step 2) instead of by rank.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { countrySchema, firstRepeatedKey, postalCodeSchema, postalLoadSchema } from '../../routing/postal-code.js';
import { getPostalCode, upsertPostalCodes } from '../../routing/postal-code-store.js';
import type { AppContext } from '../context.js';
import { HttpProblem, problem } from '../problem.js';

const postalRowOut = z.object({ country: z.string(), postalCode: z.string().describe('normalised: no spaces, upper-case'), lat: z.number(), lon: z.number() });

export function postalCodeRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.put('/v1/postal-codes', {
    config: { scope: 'admin' },
    schema: {
      summary: 'Load postal-code coordinates in bulk (create or replace each row; others are kept)', tags: ['postal codes'],
      body: postalLoadSchema,
      response: { 200: z.object({ created: z.number(), updated: z.number() }) },
    },
  }, async (req) => {
    const repeated = firstRepeatedKey(req.body.rows);
    if (repeated) {
      const field = `body.rows.${repeated.index}.postalCode`;
      const message = `repeats the country and postal code of rows.${repeated.first}`;
      throw new HttpProblem(problem(400, `${field}: ${message}`, { errors: [{ field, message }] }));
    }
    return upsertPostalCodes(ctx.db, req.body.rows);
  });

  app.get('/v1/postal-codes/:country/:postalCode', {
    config: { scope: 'admin' },
    schema: {
      summary: 'The coordinates loaded for one postal code', tags: ['postal codes'],
      params: z.object({ country: countrySchema, postalCode: postalCodeSchema }),
      response: { 200: postalRowOut },
    },
  }, async (req) => {
    const row = await getPostalCode(ctx.db, req.params.country, req.params.postalCode);
    if (!row) throw new HttpProblem(problem(404, `no coordinates loaded for ${req.params.country} ${req.params.postalCode}`));
    return row;
  });
}
