// POST /v1/imports/counts (contract §10): the body is streamed straight into the count import,
// so the 1 MiB limit of every other route does not apply and a million-row file is never held
// in memory. The streaming parsers live in this route's own scope; elsewhere CSV stays a 415.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { CountFileFormat } from '../../core/count-file-row.js';
import { CountFileError, importCounts } from '../../ingest/import-counts.js';
import type { AppContext } from '../context.js';
import { HttpProblem, problem } from '../problem.js';

const FORMATS: Record<string, CountFileFormat> = {
  'text/csv': 'csv',
  'application/x-ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
};

const importResult = z.object({
  accepted: z.number().int().describe('rows appended to the event log'),
  duplicates: z.number().int().describe('rows whose count was already applied, or repeated in the file'),
  rejected: z.array(z.object({ line: z.number().int(), error: z.string() })).describe(`rejected rows, by line (from 1, header included); at most 10,000 listed`),
  rejectedCount: z.number().int().describe('every rejected row, listed or not'),
});

export function importRoutes(fastify: FastifyInstance, ctx: AppContext): void {
  void fastify.register(async (scope) => {
    scope.addContentTypeParser(Object.keys(FORMATS), (_req, payload, done) => done(null, payload));
    scope.withTypeProvider<ZodTypeProvider>().post('/v1/imports/counts', {
      config: { scope: 'stock:write' },
      schema: {
        summary: 'Import a count file (CSV or NDJSON), streamed',
        description: [
          'The body is a count file: `text/csv` with the header `sku,locationId,quantity,countedAt` (any order, any case; `;` also accepted as the delimiter; a UTF-8 BOM is ignored),',
          'or `application/x-ndjson` with one `{ "sku", "locationId", "quantity", "countedAt" }` object per line. Blank lines are skipped.',
          'Each row becomes a `stock.counted` event as of `countedAt` whose id is derived from the row (sku, location, quantity, instant): importing the same rows again applies nothing twice.',
          'The body is streamed (no 1 MiB limit) and appended in batches; the answer comes once every good row is durably in the event log.',
          'A bad row is rejected with its line number (from 1, header included) and never stops the others. A CSV whose header lacks a column is a 400 and appends nothing.',
        ].join(' '),
        tags: ['imports'],
        consumes: Object.keys(FORMATS),
        // Documents the body; the handler reads it as a stream (see the content-type parser above).
        body: z.any().describe('the count file'),
        response: { 200: importResult },
      },
    }, async (req) => {
      const mediaType = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const format = FORMATS[mediaType];
      if (!format) throw new HttpProblem(problem(415, `content-type: send text/csv or application/x-ndjson, not ${mediaType || 'nothing'}`));
      try {
        const summary = await importCounts(req.body as Readable, { format, source: `count-import:${req.token?.name ?? 'api'}`, ingest: ctx.ingest });
        return { accepted: summary.accepted, duplicates: summary.duplicates, rejected: summary.rejected, rejectedCount: summary.rejectedCount };
      } catch (err) {
        if (err instanceof CountFileError) throw new HttpProblem(problem(400, `body: ${err.message}`, { errors: [{ field: 'body', message: err.message }] }));
        if (req.raw.errored || req.raw.destroyed) {
          // The client went away mid-file: what was read in whole rows is appended (a re-import
          // finds it as duplicates); there is nobody to answer.
          req.log.warn({ err }, 'count import cut off by the client');
          throw new HttpProblem(problem(400, 'body: the upload ended before the file did'));
        }
        throw err;
      }
    });
  });
}
