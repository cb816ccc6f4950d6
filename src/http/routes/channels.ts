// Channels, contract §8: PUT/GET/DELETE /v1/channels/{id}, availability, status, quarantine and
// POST /sync. Settings are validated per kind (connectors/registry.ts); secrets are stored and
// shown masked. See docs/API.md, "Channels".
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LOCATION_ID_PATTERN, SKU_PATTERN } from '../../core/ids.js';
import type { ChannelKindRegistry } from '../../../connectors/registry.js';
import type { ChannelEngine } from '../../channels/channel-engine.js';
import { listQuarantine } from '../../channels/channel-records.js';
import { deactivateChannel, knownLocations, listChannels, readChannel, upsertChannel, type ChannelRecord } from '../../channels/channel-store.js';
import { keepMaskedSecrets, maskSettings } from '../../channels/secrets.js';
import type { RouteRegistrar } from '../app.js';
import type { AppContext } from '../context.js';
import { HttpProblem, problem } from '../problem.js';

export const CHANNEL_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const KINDS = ['shopify', 'amazon', 'square', 'pos', 'custom'] as const;

const idParams = z.object({ id: z.string().regex(CHANNEL_ID_PATTERN, 'id must match ^[A-Za-z0-9._-]{1,64}$') });

const putBody = z.object({
  kind: z.enum(KINDS),
  pool: z.array(z.string().regex(LOCATION_ID_PATTERN, 'must match ^[A-Za-z0-9._-]{1,64}$')).max(1000).default([])
    .describe('our locations whose ATP the channel is offered'),
  bufferUnits: z.number().int('bufferUnits must be an integer').min(0).max(1_000_000).default(0)
    .describe('units held back from the channel (per location for per-location kinds)'),
  lowStockThreshold: z.number().int().min(0).max(1_000_000).default(0)
    .describe('extension: figures falling to or below this are pushed first (0 = only zero)'),
  settings: z.record(z.string(), z.unknown()).default({}).describe('per kind, see docs/API.md; secrets are write-only'),
});

const channelView = z.object({
  id: z.string(), kind: z.string(), pool: z.array(z.string()), bufferUnits: z.number(), lowStockThreshold: z.number(),
  settings: z.record(z.string(), z.unknown()).describe('secret fields masked: "********" + last 4 characters'),
  active: z.boolean(), createdAt: z.string(), updatedAt: z.string(),
});

const statusView = z.object({
  channelId: z.string(), kind: z.string(), active: z.boolean(),
  lastPushAt: z.string().nullable(), lastPullAt: z.string().nullable(),
  pendingPushes: z.number(), parkedPushes: z.number().describe('items the channel does not list, or refused for good'),
  errors: z.array(z.object({ at: z.string(), sku: z.string().nullable(), message: z.string(), retryable: z.boolean() })),
  throttle: z.object({ throttled: z.boolean(), until: z.string().nullable(), tokens: z.number(), ratePerSecond: z.number(), burst: z.number() }),
  drift: z.object({ checkedAt: z.string().nullable(), items: z.number(), units: z.number() }),
  quarantined: z.number(),
});

export function channelRoutes(engine: ChannelEngine, kinds: ChannelKindRegistry): RouteRegistrar {
  const view = (r: ChannelRecord) => ({
    id: r.id, kind: r.kind, pool: r.pool, bufferUnits: r.bufferUnits, lowStockThreshold: r.lowStockThreshold,
    settings: maskSettings(r.settings, kinds.get(r.kind)?.secretFields ?? []),
    active: r.active, createdAt: r.createdAt, updatedAt: r.updatedAt,
  });

  return (fastify: FastifyInstance, ctx: AppContext) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    const mustExist = async (id: string) => {
      const r = await readChannel(ctx.db, id);
      if (!r) throw new HttpProblem(problem(404, `no channel "${id}"`));
      return r;
    };

    app.put('/v1/channels/:id', {
      config: { scope: 'admin' },
      schema: {
        summary: 'Create or replace a channel; settings are validated per kind and applied at once', tags: ['channels'],
        params: idParams, body: putBody, response: { 200: channelView, 201: channelView },
      },
    }, async (req, reply) => {
      const { id } = req.params;
      const body = req.body;
      const def = kinds.get(body.kind);
      if (!def) throw new HttpProblem(problem(400, `body.kind: kind "${body.kind}" is not available in this build (available: ${kinds.list().join(', ')})`, { errors: [{ field: 'body.kind', message: `not available in this build` }] }));
      const stored = await readChannel(ctx.db, id);
      const incoming = keepMaskedSecrets(body.settings, stored && stored.kind === body.kind ? stored.settings : null, def.secretFields);
      const parsed = def.settingsSchema.safeParse(incoming);
      const errors: Array<{ field: string; message: string }> = [];
      if (!parsed.success) {
        for (const i of parsed.error.issues) errors.push({ field: ['body', 'settings', ...i.path.map(String)].join('.'), message: i.message });
      }
      const known = await knownLocations(ctx.db, [...body.pool, ...(parsed.success ? def.referencedLocations(parsed.data) : [])]);
      body.pool.forEach((l, i) => { if (!known.has(l)) errors.push({ field: `body.pool.${i}`, message: `unknown location "${l}"` }); });
      if (parsed.success) {
        const mapped = def.channelLocations?.(parsed.data);
        if (mapped) {
          for (const m of mapped) if (!known.has(m.locationId)) errors.push({ field: `body.settings.locationMap.${m.channelLocation}`, message: `unknown location "${m.locationId}"` });
        }
        for (const l of def.referencedLocations(parsed.data)) {
          if (!known.has(l) && !mapped?.some((m) => m.locationId === l)) errors.push({ field: 'body.settings', message: `unknown location "${l}"` });
        }
      }
      if (errors.length > 0) throw new HttpProblem(problem(400, errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors }));
      const { record, created } = await upsertChannel(ctx.db, {
        id, kind: body.kind, pool: body.pool, bufferUnits: body.bufferUnits, lowStockThreshold: body.lowStockThreshold,
        settings: parsed.success ? (parsed.data as Record<string, unknown>) : {},
      });
      await engine.channelChanged(id);
      return reply.code(created ? 201 : 200).send(view(record));
    });

    app.get('/v1/channels', {
      config: { scope: 'admin' },
      schema: { summary: 'List channels (deleted ones included, active: false)', tags: ['channels'], response: { 200: z.object({ channels: z.array(channelView) }) } },
    }, async () => ({ channels: (await listChannels(ctx.db)).map(view) }));

    app.get('/v1/channels/:id', {
      config: { scope: 'admin' },
      schema: { summary: 'One channel, secrets masked', tags: ['channels'], params: idParams, response: { 200: channelView } },
    }, async (req) => view(await mustExist(req.params.id)));

    app.delete('/v1/channels/:id', {
      config: { scope: 'admin' },
      schema: { summary: 'Stop syncing a channel; its history (outbox, orders, quarantine) is kept', tags: ['channels'], params: idParams, response: { 200: channelView } },
    }, async (req) => {
      await mustExist(req.params.id);
      await deactivateChannel(ctx.db, req.params.id);
      await engine.channelChanged(req.params.id);
      return view(await mustExist(req.params.id));
    });

    app.get('/v1/channels/:id/availability', {
      config: { scope: 'stock:read' },
      schema: {
        summary: 'What the channel is offered for a SKU: max(0, Σ ATP over the pool − bufferUnits)', tags: ['channels'],
        params: idParams,
        querystring: z.object({ sku: z.string().regex(SKU_PATTERN, 'sku must match ^[A-Za-z0-9._/-]{1,64}$') }),
        response: {
          200: z.object({
            sku: z.string(), quantity: z.number(),
            locations: z.array(z.object({ channelLocation: z.string(), locationId: z.string(), quantity: z.number() })).optional()
              .describe('per-location channels: the figure each channel location is offered'),
          }),
        },
      },
    }, async (req) => engine.availability(await mustExist(req.params.id), req.query.sku));

    app.get('/v1/channels/:id/status', {
      config: { scope: 'admin' },
      schema: { summary: 'Last push and pull, pending pushes, errors, throttling, drift, quarantine count', tags: ['channels'], params: idParams, response: { 200: statusView } },
    }, async (req) => engine.status(await mustExist(req.params.id)));

    app.get('/v1/channels/:id/quarantine', {
      config: { scope: 'admin' },
      schema: {
        summary: 'Channel items that could not be mapped or read, newest first', tags: ['channels'], params: idParams,
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          before: z.coerce.number().int().min(1).optional().describe('page on: the smallest id of the previous page'),
        }),
        response: { 200: z.object({ items: z.array(z.object({ id: z.number(), channelRef: z.string(), reason: z.string(), payload: z.unknown(), at: z.string() })) }) },
      },
    }, async (req) => {
      await mustExist(req.params.id);
      return { items: await listQuarantine(ctx.db, req.params.id, req.query.limit, req.query.before) };
    });

    app.post('/v1/channels/:id/sync', {
      config: { scope: 'admin' },
      schema: {
        summary: 'Pull now and retry pending pushes, within the channel\'s rate limits; answers at once', tags: ['channels'], params: idParams,
        response: { 202: z.object({ channelId: z.string(), accepted: z.literal(true) }) },
      },
    }, async (req, reply) => {
      const r = await mustExist(req.params.id);
      if (!r.active) throw new HttpProblem(problem(409, `channel "${r.id}" is deleted; PUT it again to resume syncing`));
      const started = await engine.sync(r.id);
      if (!started.started) throw new HttpProblem(problem(409, `channel "${r.id}" is not running in this process (its settings no longer validate?)`));
      return reply.code(202).send({ channelId: r.id, accepted: true as const });
    });
  };
}
