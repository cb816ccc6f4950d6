// The stand-in's GraphQL Admin endpoint: parse, validate against Shopify's published schema
// (schema.ts), charge the query cost to the bucket (THROTTLED when it is short), execute against
// the shop's state, and answer in Shopify's envelope with extensions.cost.
import { createHash } from 'node:crypto';
import {
  execute, GraphQLError, Kind, parse, validate, visit,
  type DocumentNode, type ExecutionResult, type GraphQLSchema,
} from 'graphql';
import { calculateQueryCost, type CostBucket } from './query-cost.js';
import { GraphqlObjects, type ConnectionArgs } from './graphql-objects.js';
import { gid, parseGid, type InventoryState, type LevelChange } from './inventory-state.js';

export const MAX_SINGLE_QUERY_COST = 1000;
const MAX_SET_QUANTITIES = 250;
const SET_REASONS = new Set([
  'correction', 'cycle_count_available', 'damaged', 'movement_created', 'movement_updated', 'movement_received', 'movement_canceled',
  'other', 'promotion', 'quality_control', 'received', 'reservation_created', 'reservation_deleted', 'reservation_updated',
  'restock', 'safety_stock', 'shrinkage',
]);

export interface BulkOperationRecord {
  id: number; status: 'CREATED' | 'RUNNING' | 'COMPLETED' | 'FAILED'; query: string; createdAt: string; completedAt: string | null;
  objectCount: number; rootObjectCount: number; jsonl: string | null; readyAt: number;
}

export interface AdminGraphqlDeps {
  schema: GraphQLSchema;
  state: InventoryState;
  bucket: CostBucket;
  /** Where bulk operation results are served (`${baseUrl}/bulk/{id}.jsonl`). */
  baseUrl(): string;
  /** Level changes to announce as inventory_levels/update webhooks. */
  onLevelChanges(changes: LevelChange[]): void;
  /** How long a bulk operation stays RUNNING (ms). */
  bulkDelayMs: number;
}

interface RequestContext { version: string; idempotencyKey: string | null }
interface StoredAttempt { params: string; ok: boolean; result: unknown }

export interface GraphqlAnswer { status: number; body: unknown }

/** API version ≥ 2026-04: changeFromQuantity and @idempotent are mandatory on inventorySetQuantities. */
const atLeast202604 = (v: string) => v >= '2026-04';

export class AdminGraphql {
  readonly idempotency = new Map<string, StoredAttempt>();
  readonly bulkOps = new Map<number, BulkOperationRecord>();
  /** Every request the endpoint answered, for tests: operation text, cost, whether it was throttled. */
  readonly log: Array<{ query: string; variables: unknown; cost: number; throttled: boolean; errors: number; at: number }> = [];

  constructor(private readonly deps: AdminGraphqlDeps) {}

  handle(body: unknown, version: string): GraphqlAnswer {
    const req = body as { query?: unknown; variables?: unknown; operationName?: unknown } | null;
    if (!req || typeof req.query !== 'string') return { status: 400, body: { errors: { query: 'Required parameter missing or invalid' } } };
    const variables = (req.variables && typeof req.variables === 'object' ? req.variables : {}) as Record<string, unknown>;
    const operationName = typeof req.operationName === 'string' ? req.operationName : undefined;
    let doc: DocumentNode;
    try {
      doc = parse(req.query);
    } catch (e) {
      const err = e as GraphQLError;
      return this.answer(req.query, variables, 0, false, { errors: [{ message: err.message, locations: err.locations }] });
    }
    const invalid = validate(this.deps.schema, doc);
    if (invalid.length) return this.answer(req.query, variables, 0, false, { errors: invalid.map((e) => e.toJSON()) });

    const idempotencyKey = idempotencyKeyOf(doc, variables);
    if (atLeast202604(version) && mutates(doc, 'inventorySetQuantities') && idempotencyKey === undefined) {
      return this.answer(req.query, variables, 0, false, {
        errors: [{ message: 'The @idempotent directive is required for this mutation.', extensions: { code: 'BAD_REQUEST' } }],
      });
    }

    const cost = calculateQueryCost(this.deps.schema, doc, variables, operationName);
    const costExt = (actual: number | null) => ({ cost: { requestedQueryCost: cost, actualQueryCost: actual, throttleStatus: this.deps.bucket.status() } });
    if (cost > MAX_SINGLE_QUERY_COST) {
      return this.answer(req.query, variables, cost, false, {
        errors: [{ message: `Query cost is ${cost}, which exceeds the single query max cost limit (${MAX_SINGLE_QUERY_COST}).`, extensions: { code: 'MAX_COST_EXCEEDED', cost, maxCost: MAX_SINGLE_QUERY_COST } }],
        extensions: costExt(null),
      });
    }
    if (!this.deps.bucket.take(cost)) {
      return this.answer(req.query, variables, cost, true, {
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }],
        extensions: costExt(null),
      });
    }
    const ctx: RequestContext = { version, idempotencyKey: idempotencyKey ?? null };
    const result = execute({ schema: this.deps.schema, document: doc, rootValue: this.root(ctx, false), variableValues: variables, operationName }) as ExecutionResult;
    const out: Record<string, unknown> = { data: result.data ?? null };
    if (result.errors?.length) out.errors = result.errors.map((e) => e.toJSON());
    out.extensions = costExt(cost);
    return this.answer(req.query, variables, cost, false, out);
  }

  private answer(query: string, variables: unknown, cost: number, throttled: boolean, body: Record<string, unknown>): GraphqlAnswer {
    this.log.push({ query, variables, cost, throttled, errors: Array.isArray(body.errors) ? body.errors.length : 0, at: performance.now() });
    if (this.log.length > 10_000) this.log.splice(0, 5_000);
    return { status: 200, body };
  }

  private root(ctx: RequestContext, bulk: boolean) {
    const o = new GraphqlObjects(this.deps.state, bulk);
    return {
      locations: (a: ConnectionArgs) => o.locations(a),
      location: ({ id }: { id?: string }) => o.node(id ?? '') ,
      inventoryItems: (a: ConnectionArgs) => o.inventoryItems(a),
      inventoryItem: ({ id }: { id: string }) => (id.includes('/InventoryItem/') ? o.node(id) : null),
      inventoryLevel: ({ id }: { id: string }) => (id.includes('/InventoryLevel/') ? o.node(id) : null),
      productVariants: (a: ConnectionArgs) => o.productVariants(a),
      node: ({ id }: { id: string }) => o.node(id),
      nodes: ({ ids }: { ids: string[] }) => ids.map((id) => o.node(id)),
      currentBulkOperation: () => this.currentBulk(),
      inventorySetQuantities: ({ input }: { input: SetQuantitiesInput }) => this.setQuantities(input, ctx, o),
      bulkOperationRunQuery: ({ query }: { query: string }) => this.runBulk(query),
    };
  }

  private setQuantities(input: SetQuantitiesInput, ctx: RequestContext, o: GraphqlObjects) {
    const params = createHash('sha256').update(JSON.stringify(input)).digest('hex');
    if (ctx.idempotencyKey !== null) {
      const prior = this.idempotency.get(ctx.idempotencyKey);
      if (prior && prior.params !== params) {
        return { inventoryAdjustmentGroup: null, userErrors: [{ code: 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH', field: null, message: 'The same idempotency key cannot be used with different operation parameters.' }] };
      }
      if (prior) return prior.result; // the first attempt's answer, applied once
    }
    const result = this.applySetQuantities(input, ctx, o);
    if (ctx.idempotencyKey !== null) this.idempotency.set(ctx.idempotencyKey, { params, ok: result.userErrors.length === 0, result });
    return result;
  }

  private applySetQuantities(input: SetQuantitiesInput, ctx: RequestContext, o: GraphqlObjects) {
    const state = this.deps.state;
    if (input.quantities.length > MAX_SET_QUANTITIES) {
      throw new GraphQLError(`The input array size of ${input.quantities.length} is greater than the maximum allowed of ${MAX_SET_QUANTITIES}.`, { extensions: { code: 'MAX_INPUT_SIZE_EXCEEDED' } });
    }
    const userErrors: Array<{ code: string | null; field: string[] | null; message: string }> = [];
    if (input.name !== 'available' && input.name !== 'on_hand') {
      userErrors.push({ code: 'INVALID_NAME', field: ['input', 'name'], message: "The quantity name must be either 'available' or 'on_hand'." });
    }
    if (!SET_REASONS.has(input.reason)) userErrors.push({ code: 'INVALID_REASON', field: ['input', 'reason'], message: 'The specified reason is invalid.' });
    const seen = new Set<string>();
    const planned: Array<{ level: NonNullable<ReturnType<InventoryState['level']>>; quantity: number }> = [];
    input.quantities.forEach((q, i) => {
      const field = (f: string) => ['input', 'quantities', String(i), f];
      const itemId = parseGid(q.inventoryItemId, 'InventoryItem');
      const locId = parseGid(q.locationId, 'Location');
      if (itemId === null || !state.items.has(itemId)) return userErrors.push({ code: 'INVALID_INVENTORY_ITEM', field: field('inventoryItemId'), message: 'The specified inventory item could not be found.' });
      if (locId === null || !state.locations.has(locId)) return userErrors.push({ code: 'INVALID_LOCATION', field: field('locationId'), message: 'The specified location could not be found.' });
      const level = state.level(itemId, locId);
      if (!level) return userErrors.push({ code: 'ITEM_NOT_STOCKED_AT_LOCATION', field: field('locationId'), message: 'The specified inventory item is not stocked at the location.' });
      if (seen.has(`${itemId}:${locId}`)) return userErrors.push({ code: 'NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR', field: field('inventoryItemId'), message: 'The combination of inventoryItemId and locationId must be unique.' });
      seen.add(`${itemId}:${locId}`);
      if (q.quantity < 0) return userErrors.push({ code: 'INVALID_QUANTITY_NEGATIVE', field: field('quantity'), message: "The quantity can't be negative." });
      if (q.quantity > 1_000_000_000) return userErrors.push({ code: 'INVALID_QUANTITY_TOO_HIGH', field: field('quantity'), message: "The quantity can't be higher than 1,000,000,000." });
      const current = state.quantity(level, input.name === 'on_hand' ? 'on_hand' : 'available');
      if (atLeast202604(ctx.version)) {
        if (!('changeFromQuantity' in q)) return userErrors.push({ code: null, field: field('changeFromQuantity'), message: 'changeFromQuantity must be provided (pass null to opt out of the check).' });
        if (q.changeFromQuantity !== null && q.changeFromQuantity !== undefined && q.changeFromQuantity !== current) {
          return userErrors.push({ code: 'CHANGE_FROM_QUANTITY_STALE', field: field('changeFromQuantity'), message: 'The changeFromQuantity value does not match persisted value.' });
        }
      } else if (!input.ignoreCompareQuantity) {
        if (q.compareQuantity === null || q.compareQuantity === undefined) return userErrors.push({ code: 'COMPARE_QUANTITY_REQUIRED', field: field('compareQuantity'), message: 'The compareQuantity argument must be given to each quantity or ignored using ignoreCompareQuantity.' });
        if (q.compareQuantity !== current) return userErrors.push({ code: 'COMPARE_QUANTITY_STALE', field: field('compareQuantity'), message: 'The compareQuantity value does not match persisted value.' });
      }
      planned.push({ level, quantity: q.quantity });
      return undefined;
    });
    // All or nothing, as Shopify applies one adjustment group.
    if (userErrors.length) return { inventoryAdjustmentGroup: null, userErrors };

    const changes: Array<{ itemId: number; locationId: number; name: string; delta: number; after: number }> = [];
    const levelChanges: LevelChange[] = [];
    for (const p of planned) {
      const beforeAvail = p.level.q.available;
      const beforeOnHand = state.quantity(p.level, 'on_hand');
      const delta = p.quantity - (input.name === 'on_hand' ? beforeOnHand : beforeAvail);
      const change = state.setAvailable(p.level, beforeAvail + delta);
      if (change) levelChanges.push(change);
      changes.push({ itemId: p.level.itemId, locationId: p.level.locationId, name: 'available', delta, after: p.level.q.available });
      changes.push({ itemId: p.level.itemId, locationId: p.level.locationId, name: 'on_hand', delta, after: state.quantity(p.level, 'on_hand') });
    }
    this.deps.onLevelChanges(levelChanges);
    const groupId = state.id();
    const createdAt = state.stamp();
    return {
      userErrors: [],
      inventoryAdjustmentGroup: {
        __typename: 'InventoryAdjustmentGroup', id: gid('InventoryAdjustmentGroup', groupId), createdAt, reason: input.reason,
        referenceDocumentUri: input.referenceDocumentUri ?? null,
        changes: (a: { quantityNames?: string[] | null; inventoryItemIds?: string[] | null; locationIds?: string[] | null }) => changes
          .filter((c) => !a.quantityNames || a.quantityNames.includes(c.name))
          .filter((c) => !a.inventoryItemIds || a.inventoryItemIds.includes(gid('InventoryItem', c.itemId)))
          .filter((c) => !a.locationIds || a.locationIds.includes(gid('Location', c.locationId)))
          .map((c) => ({
            __typename: 'InventoryChange', name: c.name, delta: c.delta, quantityAfterChange: c.after, ledgerDocumentUri: null,
            item: () => o.item(state.items.get(c.itemId)!), location: () => o.location(state.locations.get(c.locationId)!),
          })),
      },
    };
  }

  private bulkObject(op: BulkOperationRecord) {
    if (op.status === 'RUNNING' && Date.now() >= op.readyAt) this.completeBulk(op);
    return {
      __typename: 'BulkOperation', id: gid('BulkOperation', op.id), status: op.status, type: 'QUERY', query: op.query,
      createdAt: op.createdAt, completedAt: op.completedAt, errorCode: null, objectCount: String(op.objectCount),
      rootObjectCount: String(op.rootObjectCount), fileSize: op.jsonl === null ? null : String(Buffer.byteLength(op.jsonl)),
      url: op.status === 'COMPLETED' ? `${this.deps.baseUrl()}/bulk/${op.id}.jsonl` : null, partialDataUrl: null,
    };
  }

  private currentBulk() {
    const ops = [...this.bulkOps.values()];
    const last = ops.at(-1);
    return last ? this.bulkObject(last) : null;
  }

  private runBulk(query: string) {
    const running = [...this.bulkOps.values()].find((b) => b.status === 'RUNNING' || b.status === 'CREATED');
    if (running && !(Date.now() >= running.readyAt)) {
      return { bulkOperation: null, userErrors: [{ field: null, message: `A bulk query operation for this app and shop is already in progress: ${gid('BulkOperation', running.id)}.`, code: 'OPERATION_IN_PROGRESS' }] };
    }
    if (running) this.completeBulk(running);
    let doc: DocumentNode;
    try {
      doc = parse(query);
    } catch (e) {
      return { bulkOperation: null, userErrors: [{ field: ['query'], message: (e as Error).message, code: 'INVALID' }] };
    }
    const invalid = validate(this.deps.schema, doc);
    if (invalid.length) return { bulkOperation: null, userErrors: [{ field: ['query'], message: invalid[0]!.message, code: 'INVALID' }] };
    const op: BulkOperationRecord = {
      id: this.deps.state.id(), status: 'RUNNING', query, createdAt: this.deps.state.stamp(), completedAt: null,
      objectCount: 0, rootObjectCount: 0, jsonl: null, readyAt: Date.now() + this.deps.bulkDelayMs,
    };
    this.bulkOps.set(op.id, op);
    return { bulkOperation: this.bulkObject(op), userErrors: [] };
  }

  /** Runs the bulk query over everything (no page limits) and writes Shopify's JSONL: one line per node, nested connection nodes with `__parentId`. */
  private completeBulk(op: BulkOperationRecord): void {
    const result = execute({ schema: this.deps.schema, document: parse(op.query), rootValue: this.root({ version: '2026-04', idempotencyKey: null }, true) }) as ExecutionResult;
    if (result.errors?.length) {
      op.status = 'FAILED';
      op.completedAt = this.deps.state.stamp();
      return;
    }
    const lines: string[] = [];
    let roots = 0;
    const emit = (node: Record<string, unknown>, parentId: string | null) => {
      const own: Record<string, unknown> = {};
      const children: Array<Record<string, unknown>> = [];
      for (const [k, v] of Object.entries(node)) {
        const conn = v as { edges?: Array<{ node: Record<string, unknown> }>; nodes?: Array<Record<string, unknown>> } | null;
        if (conn && typeof conn === 'object' && !Array.isArray(conn) && (conn.edges || conn.nodes)) {
          children.push(...(conn.edges?.map((e) => e.node) ?? conn.nodes ?? []));
        } else own[k] = v;
      }
      if (parentId !== null) own.__parentId = parentId;
      lines.push(JSON.stringify(own));
      for (const c of children) emit(c, typeof node.id === 'string' ? node.id : null);
    };
    for (const top of Object.values(result.data ?? {})) {
      const conn = top as { edges?: Array<{ node: Record<string, unknown> }>; nodes?: Array<Record<string, unknown>> };
      for (const n of conn.edges?.map((e) => e.node) ?? conn.nodes ?? []) {
        roots++;
        emit(n, null);
      }
    }
    op.jsonl = lines.length ? lines.join('\n') + '\n' : '';
    op.objectCount = lines.length;
    op.rootObjectCount = roots;
    op.status = 'COMPLETED';
    op.completedAt = this.deps.state.stamp();
  }
}

interface SetQuantitiesInput {
  name: string; reason: string; referenceDocumentUri?: string | null; ignoreCompareQuantity?: boolean | null;
  quantities: Array<{ inventoryItemId: string; locationId: string; quantity: number; compareQuantity?: number | null; changeFromQuantity?: number | null }>;
}

function mutates(doc: DocumentNode, field: string): boolean {
  let found = false;
  visit(doc, { Field(node) { if (node.name.value === field) found = true; } });
  return found;
}

/** The key of `@idempotent(key:)` on the document's mutation field (undefined: no directive). */
function idempotencyKeyOf(doc: DocumentNode, variables: Record<string, unknown>): string | undefined {
  let key: string | undefined;
  visit(doc, {
    Directive(node) {
      if (node.name.value !== 'idempotent') return;
      const arg = node.arguments?.find((a) => a.name.value === 'key');
      if (!arg) return;
      if (arg.value.kind === Kind.STRING) key = arg.value.value;
      else if (arg.value.kind === Kind.VARIABLE) key = String(variables[arg.value.name.value] ?? '');
    },
  });
  return key;
}
