// A local stand-in of Square's Inventory API for tests, on 127.0.0.1: ListCatalog (item
// variations with SKUs), BatchRetrieveInventoryCounts and BatchRetrieveInventoryChanges with
// cursor paging, BatchChangeInventory
// (PHYSICAL_COUNT and ADJUSTMENT, at most 100 changes, idempotency keys), decimal-string
// quantities per state, and signed `inventory.count.updated` webhooks with controls to hold,
// duplicate and reorder deliveries. Quantities come from each position's history applied in
// `occurred_at` order, as Square does ("changes are applied based on the client-supplied
// timestamp and may be sent out of order"): the newest physical count by occurred_at, plus the
// adjustments that occurred after it. Every request and answer is checked against api.json.
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import { SquareSpec, type SquareOperation } from './openapi.js';

export const SQUARE_VERSION = '2025-08-20';
const OPERATIONS = ['ListCatalog', 'BatchRetrieveInventoryCounts', 'BatchChangeInventory', 'BatchRetrieveInventoryChanges'];
/** States Square does not track: counts are never reported in them. */
const UNTRACKED = new Set(['NONE', 'SOLD', 'UNLINKED_RETURN']);
const QUANTITY = /^-?\d{1,20}(\.\d{1,5})?$/;

export interface SquareStandInOptions {
  accessToken?: string;
  signatureKey?: string;
  merchantId?: string;
  /** Where webhooks go (the subscription's notification URL); none: nothing is sent. */
  notificationUrl?: string;
  /** Counts per BatchRetrieveInventoryCounts page when the request gives no limit (Square: 100). */
  defaultPageSize?: number;
  now?: () => number;
}

interface Change {
  id: string;
  type: 'PHYSICAL_COUNT' | 'ADJUSTMENT';
  catalogObjectId: string;
  locationId: string;
  /** Physical count: its state. Adjustment: from → to. */
  state?: string;
  fromState?: string;
  toState?: string;
  quantity: string;
  occurredAt: string;
  occurredMs: number;
  createdAt: string;
  seq: number;
  referenceId?: string;
}

export interface Delivery {
  eventId: string;
  body: string;
  signature: string;
  status: number | null;
}

type SquareError = { category: string; code: string; detail?: string; field?: string };

export class SquareStandIn {
  readonly accessToken: string;
  readonly signatureKey: string;
  readonly merchantId: string;
  notificationUrl: string | null;
  readonly violations: Array<{ where: string; errors: string[] }> = [];
  readonly deliveries: Delivery[] = [];
  url = '';

  private readonly spec = new SquareSpec(OPERATIONS);
  private readonly eventSchema = this.spec.schema('InventoryCountUpdatedEvent');
  private readonly now: () => number;
  private readonly pageSize: number;
  private readonly variations = new Map<string, { sku: string; itemId: string; name: string; measured: boolean }>();
  private readonly locations = new Set<string>();
  private readonly changes: Change[] = [];
  private readonly idempotency = new Map<string, { request: string; status: number; response: unknown }>();
  private held: Delivery[] | null = null;
  private duplicateNext = 0;
  private stormRemaining = 0;
  private seq = 0;
  private server: http.Server | null = null;
  private inFlight = new Set<Promise<void>>();

  constructor(o: SquareStandInOptions = {}) {
    this.accessToken = o.accessToken ?? 'EAAAstandin-access-token';
    this.signatureKey = o.signatureKey ?? 'standin-signature-key';
    this.merchantId = o.merchantId ?? '6SSW7HV8K2ST5';
    this.notificationUrl = o.notificationUrl ?? null;
    this.pageSize = o.defaultPageSize ?? 100;
    this.now = o.now ?? Date.now;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.violations.push({ where: 'stand-in', errors: [String(err instanceof Error ? err.stack : err)] });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ category: 'API_ERROR', code: 'INTERNAL_SERVER_ERROR' }] }));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  // ---- control API (the merchant's Square dashboard and tills) ----

  addLocation(id: string): void {
    this.locations.add(id);
  }

  /** An item variation; `measured` ones (sold by weight, say) take fractional quantities. */
  addVariation(id: string, sku: string, opts: { measured?: boolean; name?: string } = {}): void {
    this.variations.set(id, { sku, itemId: `ITEM_${id}`, name: opts.name ?? sku, measured: Boolean(opts.measured) });
  }

  /** A physical count taken at the till (or in the dashboard), as of `occurredAt`. */
  count(catalogObjectId: string, locationId: string, quantity: string, occurredAt = new Date(this.now()).toISOString()): void {
    this.record([{ type: 'PHYSICAL_COUNT', catalogObjectId, locationId, state: 'IN_STOCK', quantity, occurredAt }]);
  }

  /** A till sale: IN_STOCK → SOLD, as of `occurredAt` (an offline till reports it late). */
  sell(catalogObjectId: string, locationId: string, quantity: string, occurredAt = new Date(this.now()).toISOString()): void {
    this.adjust(catalogObjectId, locationId, 'IN_STOCK', 'SOLD', quantity, occurredAt);
  }

  adjust(catalogObjectId: string, locationId: string, fromState: string, toState: string, quantity: string, occurredAt = new Date(this.now()).toISOString()): void {
    this.record([{ type: 'ADJUSTMENT', catalogObjectId, locationId, fromState, toState, quantity, occurredAt }]);
  }

  /** The quantity in a state now, as Square reports it (decimal string). */
  quantity(catalogObjectId: string, locationId: string, state = 'IN_STOCK'): string {
    return formatQuantity(this.quantities(catalogObjectId, locationId).get(state) ?? 0);
  }

  /** Webhooks are queued instead of sent until `release`. */
  holdWebhooks(): void {
    this.held ??= [];
  }

  /** Sends the held webhooks, in the order given (`reverse`: newest first). */
  async releaseWebhooks(order: 'as-sent' | 'reverse' = 'as-sent'): Promise<void> {
    const held = this.held ?? [];
    this.held = null;
    for (const d of order === 'reverse' ? [...held].reverse() : held) await this.deliver(d);
  }

  /** The next `n` webhooks are each delivered twice (Square retries until it sees a 2xx). */
  duplicateNextWebhooks(n = 1): void {
    this.duplicateNext += n;
  }

  /** Sends a delivery again, byte for byte (a retry). */
  async redeliver(eventId: string): Promise<void> {
    const d = this.deliveries.find((x) => x.eventId === eventId);
    if (!d) throw new Error(`no delivery ${eventId}`);
    await this.deliver({ ...d, status: null });
  }

  /** The next `n` API calls answer 429 RATE_LIMITED. */
  rateLimitNext(n: number): void {
    this.stormRemaining += n;
  }

  /** Every webhook sent so far has had its answer. */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** The signature Square puts in x-square-hmacsha256-signature. */
  sign(body: string, url = this.notificationUrl ?? ''): string {
    return createHmac('sha256', this.signatureKey).update(url + body).digest('base64');
  }

  // ---- state ----

  private quantities(catalogObjectId: string, locationId: string): Map<string, number> {
    // Square's order: by occurred_at, then as recorded. Work in 1e-5 units so decimals add exactly.
    const history = this.changes.filter((c) => c.catalogObjectId === catalogObjectId && c.locationId === locationId)
      .sort((a, b) => a.occurredMs - b.occurredMs || a.seq - b.seq);
    const q = new Map<string, number>();
    for (const c of history) {
      const n = toUnits(c.quantity);
      if (c.type === 'PHYSICAL_COUNT') q.set(c.state!, n);
      else {
        q.set(c.fromState!, (q.get(c.fromState!) ?? 0) - n);
        q.set(c.toState!, (q.get(c.toState!) ?? 0) + n);
      }
    }
    return q;
  }

  private countsOf(catalogObjectId: string, locationId: string): Array<Record<string, unknown>> {
    const at = new Date(this.now()).toISOString();
    return [...this.quantities(catalogObjectId, locationId)].filter(([state]) => !UNTRACKED.has(state)).map(([state, n]) => ({
      catalog_object_id: catalogObjectId, catalog_object_type: 'ITEM_VARIATION', state, location_id: locationId, quantity: formatQuantity(n), calculated_at: at,
    }));
  }

  /** Records changes and sends one webhook per position whose counts moved. */
  private record(input: Array<Omit<Change, 'id' | 'seq' | 'createdAt' | 'occurredMs'>>): Change[] {
    const before = new Map<string, string>();
    const keys = [...new Set(input.map((c) => `${c.catalogObjectId}\u0000${c.locationId}`))];
    for (const k of keys) before.set(k, JSON.stringify(this.countsOf(...(k.split('\u0000') as [string, string])).map((c) => [c.state, c.quantity])));
    const created = input.map((c) => {
      this.seq += 1;
      const change: Change = { ...c, id: randomUUID().replace(/-/g, '').slice(0, 24).toUpperCase(), seq: this.seq, createdAt: new Date(this.now()).toISOString(), occurredMs: Date.parse(c.occurredAt) };
      this.changes.push(change);
      return change;
    });
    for (const k of keys) {
      const [id, loc] = k.split('\u0000') as [string, string];
      const counts = this.countsOf(id, loc);
      if (JSON.stringify(counts.map((c) => [c.state, c.quantity])) !== before.get(k)) this.notify(counts);
    }
    return created;
  }

  private notify(counts: Array<Record<string, unknown>>): void {
    if (!this.notificationUrl || counts.length === 0) return;
    const event = {
      merchant_id: this.merchantId, type: 'inventory.count.updated', event_id: randomUUID(), created_at: new Date(this.now()).toISOString(),
      data: { type: 'inventory_counts', id: randomUUID(), object: { inventory_counts: counts } },
    };
    if (!this.eventSchema(event)) this.violations.push({ where: 'webhook', errors: [this.spec.ajv.errorsText(this.eventSchema.errors)] });
    const body = JSON.stringify(event);
    const d: Delivery = { eventId: event.event_id, body, signature: this.sign(body), status: null };
    const copies = this.duplicateNext > 0 ? 2 : 1;
    if (this.duplicateNext > 0) this.duplicateNext -= 1;
    for (let i = 0; i < copies; i++) {
      if (this.held) this.held.push({ ...d });
      else {
        const p = this.deliver({ ...d }).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }
    }
  }

  private async deliver(d: Delivery): Promise<void> {
    this.deliveries.push(d);
    try {
      const res = await fetch(this.notificationUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-square-hmacsha256-signature': d.signature, 'square-version': SQUARE_VERSION, 'user-agent': 'Square Connect v2' },
        body: d.body,
      });
      d.status = res.status;
      await res.arrayBuffer();
    } catch {
      d.status = 0;
    }
  }

  // ---- HTTP ----

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
    const op = this.spec.match(req.method ?? 'GET', url.pathname);
    if (!op) {
      this.violations.push({ where: `${req.method} ${url.pathname}`, errors: ['not an operation the stand-in serves'] });
      return send(res, 404, { errors: [{ category: 'INVALID_REQUEST_ERROR', code: 'NOT_FOUND', detail: `${req.method} ${url.pathname} not found` }] });
    }
    const reply = (status: number, body: Record<string, unknown>) => {
      const problems = this.spec.validateResponse(op, status, body);
      if (problems.length) this.violations.push({ where: `response of ${op.operationId}`, errors: problems });
      send(res, status, body);
    };
    if (req.headers.authorization !== `Bearer ${this.accessToken}`) {
      return reply(401, { errors: [{ category: 'AUTHENTICATION_ERROR', code: 'UNAUTHORIZED', detail: 'This request could not be authorized.' }] });
    }
    if (this.stormRemaining > 0) {
      this.stormRemaining -= 1;
      return reply(429, { errors: [{ category: 'RATE_LIMIT_ERROR', code: 'RATE_LIMITED', detail: 'Rate limit exceeded.' }] });
    }
    let body: unknown;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return this.refuse(op, reply, [{ category: 'INVALID_REQUEST_ERROR', code: 'EXPECTED_JSON_BODY', detail: 'The body is not valid JSON.' }]);
      }
    }
    const problems = this.spec.validateRequest(op, url.searchParams, body);
    if (problems.length) return this.refuse(op, reply, problems.map((p) => ({ category: 'INVALID_REQUEST_ERROR', code: 'BAD_REQUEST', ...p })));
    if (op.operationId === 'ListCatalog') return this.listCatalog(op, url.searchParams, reply);
    if (op.operationId === 'BatchRetrieveInventoryCounts') return this.batchRetrieve(op, body as RetrieveBody, reply);
    if (op.operationId === 'BatchRetrieveInventoryChanges') return this.batchRetrieveChanges(op, body as RetrieveChangesBody, reply);
    return this.batchChange(op, body as ChangeBody, reply);
  }

  private refuse(op: SquareOperation, reply: (s: number, b: Record<string, unknown>) => void, errors: SquareError[]): void {
    this.violations.push({ where: `request of ${op.operationId}`, errors: errors.map((e) => `${e.code}: ${e.detail ?? ''}`) });
    reply(400, { errors });
  }

  private listCatalog(op: SquareOperation, query: URLSearchParams, reply: (s: number, b: Record<string, unknown>) => void): void {
    const types = (query.get('types') ?? '').split(',').filter(Boolean);
    if (types.length && !types.includes('ITEM_VARIATION')) return reply(200, { objects: [] });
    const all = [...this.variations].sort(([a], [b]) => a.localeCompare(b));
    const start = decodeCursor(query.get('cursor'));
    if (start === null || start > all.length) return this.refuse(op, reply, [{ category: 'INVALID_REQUEST_ERROR', code: 'INVALID_CURSOR', field: 'cursor', detail: 'Invalid cursor' }]);
    const page = all.slice(start, start + this.pageSize);
    const at = new Date(this.now()).toISOString();
    reply(200, {
      objects: page.map(([id, v]) => ({
        type: 'ITEM_VARIATION', id, updated_at: at, version: 1, is_deleted: false, present_at_all_locations: true,
        item_variation_data: { item_id: v.itemId, name: v.name, sku: v.sku, pricing_type: 'VARIABLE_PRICING', track_inventory: true, ...(v.measured ? { measurement_unit_id: 'KG' } : {}) },
      })),
      ...(start + page.length < all.length ? { cursor: encodeCursor(start + page.length) } : {}),
    });
  }

  private batchRetrieve(op: SquareOperation, body: RetrieveBody, reply: (s: number, b: Record<string, unknown>) => void): void {
    const limit = body.limit ?? this.pageSize;
    const start = decodeCursor(body.cursor ?? null);
    if (start === null) return this.refuse(op, reply, [{ category: 'INVALID_REQUEST_ERROR', code: 'INVALID_CURSOR', field: 'cursor', detail: 'Invalid cursor' }]);
    const after = body.updated_after ? Date.parse(body.updated_after) : null;
    if (after !== null && Number.isNaN(after)) return this.refuse(op, reply, [{ category: 'INVALID_REQUEST_ERROR', code: 'INVALID_TIME', field: 'updated_after', detail: 'updated_after is not an RFC 3339 timestamp' }]);
    const positions = [...new Set(this.changes.map((c) => `${c.catalogObjectId}\u0000${c.locationId}`))].sort();
    const counts: Array<Record<string, unknown>> = [];
    for (const k of positions) {
      const [id, loc] = k.split('\u0000') as [string, string];
      if (body.catalog_object_ids && !body.catalog_object_ids.includes(id)) continue;
      if (body.location_ids && !body.location_ids.includes(loc)) continue;
      if (after !== null && !this.changes.some((c) => c.catalogObjectId === id && c.locationId === loc && Date.parse(c.createdAt) > after)) continue;
      for (const c of this.countsOf(id, loc)) if (!body.states || body.states.includes(c.state as string)) counts.push(c);
    }
    const page = counts.slice(start, start + limit);
    reply(200, { counts: page, ...(start + page.length < counts.length ? { cursor: encodeCursor(start + page.length) } : {}) });
  }

  private batchChange(op: SquareOperation, body: ChangeBody, reply: (s: number, b: Record<string, unknown>) => void): void {
    const seen = this.idempotency.get(body.idempotency_key);
    if (seen) {
      if (seen.request !== canonical(body)) {
        return this.refuse(op, reply, [{ category: 'INVALID_REQUEST_ERROR', code: 'IDEMPOTENCY_KEY_REUSED', field: 'idempotency_key', detail: 'The idempotency key was used before with a different request.' }]);
      }
      return reply(seen.status, seen.response as Record<string, unknown>);
    }
    const changes = body.changes ?? [];
    const errors: SquareError[] = [];
    if (changes.length > 100) errors.push({ category: 'INVALID_REQUEST_ERROR', code: 'ARRAY_LENGTH_TOO_LONG', field: 'changes', detail: 'At most 100 changes per request.' });
    const input: Array<Omit<Change, 'id' | 'seq' | 'createdAt' | 'occurredMs'>> = [];
    changes.forEach((c, i) => {
      const field = `changes[${i}]`;
      const bad = (code: string, f: string, detail: string) => errors.push({ category: 'INVALID_REQUEST_ERROR', code, field: `${field}.${f}`, detail });
      const part = c.type === 'PHYSICAL_COUNT' ? c.physical_count : c.type === 'ADJUSTMENT' ? c.adjustment : null;
      if (!part) return bad('BAD_REQUEST', 'type', `${c.type ?? 'a change without a type'} is not supported by the stand-in, or its ${String(c.type).toLowerCase()} is missing`);
      const variation = part.catalog_object_id ? this.variations.get(part.catalog_object_id) : undefined;
      if (!variation) return bad('NOT_FOUND', 'catalog_object_id', `Item variation ${String(part.catalog_object_id)} not found`);
      if (!part.location_id || !this.locations.has(part.location_id)) return bad('NOT_FOUND', 'location_id', `Location ${String(part.location_id)} not found`);
      if (!part.quantity || !QUANTITY.test(part.quantity)) return bad('INVALID_VALUE', 'quantity', `quantity must be a decimal string with up to 5 places, got ${JSON.stringify(part.quantity)}`);
      if (part.quantity.startsWith('-') && c.type === 'PHYSICAL_COUNT') return bad('VALUE_TOO_LOW', 'quantity', 'A physical count cannot be negative.');
      if (!part.occurred_at || Number.isNaN(Date.parse(part.occurred_at))) return bad('INVALID_TIME', 'occurred_at', 'occurred_at is required, in RFC 3339 format');
      if (Date.parse(part.occurred_at) > this.now() + 60_000) return bad('INVALID_TIME', 'occurred_at', 'occurred_at cannot be in the future');
      if (c.type === 'PHYSICAL_COUNT') {
        const pc = c.physical_count!;
        if (pc.state !== 'IN_STOCK') return bad('INVALID_ENUM_VALUE', 'state', 'A physical count must be in state IN_STOCK.');
        input.push({ type: 'PHYSICAL_COUNT', catalogObjectId: pc.catalog_object_id!, locationId: pc.location_id!, state: 'IN_STOCK', quantity: pc.quantity!, occurredAt: pc.occurred_at!, referenceId: pc.reference_id ?? undefined });
      } else {
        const a = c.adjustment!;
        if (!a.from_state || !a.to_state) return bad('MISSING_REQUIRED_PARAMETER', 'from_state', 'An adjustment needs from_state and to_state.');
        input.push({ type: 'ADJUSTMENT', catalogObjectId: a.catalog_object_id!, locationId: a.location_id!, fromState: a.from_state, toState: a.to_state, quantity: a.quantity!, occurredAt: a.occurred_at!, referenceId: a.reference_id ?? undefined });
      }
    });
    let status = 200;
    let response: Record<string, unknown>;
    if (errors.length) {
      // All or nothing, as Square applies a batch.
      this.violations.push({ where: 'request of BatchChangeInventory', errors: errors.map((e) => `${e.code} ${e.field ?? ''}: ${e.detail ?? ''}`) });
      status = 400;
      response = { errors };
    } else {
      // ignore_unchanged_counts (default true): a count equal to what is there records nothing.
      const ignoreUnchanged = body.ignore_unchanged_counts !== false;
      const effective = input.filter((c) => !(ignoreUnchanged && c.type === 'PHYSICAL_COUNT' && this.quantity(c.catalogObjectId, c.locationId) === formatQuantity(toUnits(c.quantity)) && this.isLatestCount(c)));
      const created = this.record(effective);
      const positions = [...new Set(input.map((c) => `${c.catalogObjectId}\u0000${c.locationId}`))];
      response = {
        changes: created.map((c) => changeView(c)),
        counts: positions.flatMap((k) => this.countsOf(...(k.split('\u0000') as [string, string]))),
      };
    }
    this.idempotency.set(body.idempotency_key, { request: canonical(body), status, response });
    reply(status, response);
  }

  /**
   * The changes themselves (what a till sold, as of when), in the order they were recorded, with
   * a cursor: how a connector learns the movements behind an inventory.count.updated, late
   * offline sales included (their occurred_at is in the past, their created_at is not).
   */
  private batchRetrieveChanges(op: SquareOperation, body: RetrieveChangesBody, reply: (s: number, b: Record<string, unknown>) => void): void {
    const limit = body.limit ?? this.pageSize;
    if (limit < 1 || limit > 1000) return this.refuse(op, reply, [{ category: 'INVALID_REQUEST_ERROR', code: 'INVALID_VALUE', field: 'limit', detail: 'limit must be 1 - 1000' }]);
    const start = decodeCursor(body.cursor ?? null);
    if (start === null) return this.refuse(op, reply, [{ category: 'INVALID_REQUEST_ERROR', code: 'INVALID_CURSOR', field: 'cursor', detail: 'Invalid cursor' }]);
    const after = body.updated_after ? Date.parse(body.updated_after) : null;
    const before = body.updated_before ? Date.parse(body.updated_before) : null;
    if ((after !== null && Number.isNaN(after)) || (before !== null && Number.isNaN(before))) {
      return this.refuse(op, reply, [{ category: 'INVALID_REQUEST_ERROR', code: 'INVALID_TIME', field: 'updated_after', detail: 'not an RFC 3339 timestamp' }]);
    }
    const types = body.types ?? ['PHYSICAL_COUNT', 'ADJUSTMENT'];
    const matching = this.changes.filter((c) => types.includes(c.type)
      && (!body.catalog_object_ids || body.catalog_object_ids.includes(c.catalogObjectId))
      && (!body.location_ids || body.location_ids.includes(c.locationId))
      && (!body.states || c.type !== 'ADJUSTMENT' || body.states.includes(c.toState!) || body.states.includes(c.fromState!))
      && (after === null || Date.parse(c.createdAt) > after) && (before === null || Date.parse(c.createdAt) < before));
    const page = matching.slice(start, start + limit);
    reply(200, { changes: page.map((c) => changeView(c)), ...(start + page.length < matching.length ? { cursor: encodeCursor(start + page.length) } : {}) });
  }

  /** A count equal to the current figure changes nothing only when no later change exists. */
  private isLatestCount(c: { catalogObjectId: string; locationId: string; occurredAt: string }): boolean {
    const at = Date.parse(c.occurredAt);
    return !this.changes.some((x) => x.catalogObjectId === c.catalogObjectId && x.locationId === c.locationId && x.occurredMs > at);
  }
}

interface RetrieveBody {
  catalog_object_ids?: string[] | null;
  location_ids?: string[] | null;
  updated_after?: string | null;
  cursor?: string | null;
  states?: string[] | null;
  limit?: number | null;
}

interface RetrieveChangesBody extends RetrieveBody {
  types?: string[] | null;
  updated_before?: string | null;
}

interface ChangePart {
  reference_id?: string | null;
  catalog_object_id?: string | null;
  location_id?: string | null;
  quantity?: string | null;
  occurred_at?: string | null;
  state?: string | null;
  from_state?: string | null;
  to_state?: string | null;
}

interface ChangeBody {
  idempotency_key: string;
  changes?: Array<{ type?: string; physical_count?: ChangePart | null; adjustment?: ChangePart | null }> | null;
  ignore_unchanged_counts?: boolean | null;
}

function changeView(c: Change): Record<string, unknown> {
  const common = { id: c.id, catalog_object_id: c.catalogObjectId, catalog_object_type: 'ITEM_VARIATION', location_id: c.locationId, quantity: formatQuantity(toUnits(c.quantity)), occurred_at: c.occurredAt, created_at: c.createdAt, ...(c.referenceId ? { reference_id: c.referenceId } : {}) };
  return c.type === 'PHYSICAL_COUNT'
    ? { type: 'PHYSICAL_COUNT', physical_count: { ...common, state: c.state } }
    : { type: 'ADJUSTMENT', adjustment: { ...common, from_state: c.fromState, to_state: c.toState } };
}

/** Decimal string → integer count of 1e-5 units (exact sums). */
function toUnits(q: string): number {
  const neg = q.startsWith('-');
  const [whole, frac = ''] = (neg ? q.slice(1) : q).split('.');
  const n = Number(whole) * 100_000 + Number(frac.padEnd(5, '0'));
  return neg ? -n : n;
}

function formatQuantity(units: number): string {
  const neg = units < 0;
  const abs = Math.abs(units);
  const whole = Math.floor(abs / 100_000);
  const frac = String(abs % 100_000).padStart(5, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

function canonical(body: unknown): string {
  return JSON.stringify(body);
}

function encodeCursor(n: number): string {
  return Buffer.from(`offset:${n}`).toString('base64url');
}

function decodeCursor(c: string | null): number | null {
  if (!c) return 0;
  const m = /^offset:(\d+)$/.exec(Buffer.from(c, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : null;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
