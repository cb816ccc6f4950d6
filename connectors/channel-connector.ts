// The ports a channel connector implements: the edge between a vendor's API (Shopify, an
// Amazon-style marketplace, Square, a store POS) and the ledger (contract §8). The engine
// (src/channels/) owns everything around a connector: the channel's stored settings, the push
// outbox, the token bucket, the drift job, the orders sink, quarantine and status. A connector
// only speaks its vendor's API.
//
// Inbound, a connector turns what the channel reports into stock events (contract §3) and hands
// them to ctx.ingest, the same path as POST /v1/events: validation, the unknown-location check,
// dedupe by eventId and the durable append all apply to it as to any other source, so a
// connector never writes the ledger itself. Its event ids must be stable (derived from the
// vendor's own ids), so that a re-poll or a redelivered webhook is a duplicate and changes
// nothing. Orders go to ctx.orders (routing + a reservation), never straight to the ledger.
//
// Outbound, the engine works out what the channel may sell (max(0, ATP over the pool's active
// locations − bufferUnits); per mapped location for per-location kinds) and hands the connector's
// StockPublisher coalesced, rate-limited batches of absolute quantities.
import type { z } from 'zod';
import type { Logger } from 'pino';
import type { StockEvent } from '../src/core/stock-event.js';
import type { IngestResult } from '../src/ingest/ingest-events.js';

export type ChannelKind = 'shopify' | 'amazon' | 'square' | 'pos' | 'custom';

/**
 * Shopify and Square show stock per location: one figure per mapped channel location.
 * Amazon (merchant-fulfilled) shows one figure for the whole pool.
 */
export type PublishScope = 'per-location' | 'network';

/** HTTP request headers as Node gives them (lower-case names). */
export type WebhookHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** One per kind, in connectors/registry.ts keyed by kind. `S` is the kind's settings object. */
export interface ChannelKindDefinition<S = unknown> {
  readonly kind: ChannelKind;
  readonly scope: PublishScope;
  /** Where the scope depends on the settings (`custom`: per-location when it has a locationMap). */
  scopeFor?(settings: S): PublishScope;
  /** Validates PUT /v1/channels/{id}'s `settings`; zod issues become problems named `settings.<path>`. */
  readonly settingsSchema: z.ZodType<S>;
  /** Top-level settings fields stored but never returned: GET shows them masked ("********abcd"). */
  readonly secretFields: readonly string[];
  /** Our location ids the settings name (locationMap values, fulfilment pools): refused if unknown. */
  referencedLocations(settings: S): string[];
  /** Per-location kinds: the channel's locations and which of ours each one shows. */
  channelLocations?(settings: S): Array<{ channelLocation: string; locationId: string }>;
  /** Token bucket for pushes, from the vendor's published limits, in the units `StockPublisher.cost` returns. */
  rateLimit(settings: S): { ratePerSecond: number; burst: number };
  create(ctx: ConnectorContext<S>): ChannelConnector;
}

/** What the engine gives a connector: its settings and the only ways it may touch our data. */
export interface ConnectorContext<S = unknown> {
  readonly channelId: string;
  readonly settings: S;
  /** Our location ids whose ATP the channel is offered. */
  readonly pool: readonly string[];
  readonly bufferUnits: number;
  readonly logger: Logger;
  /** The same path as POST /v1/events (validation, unknown locations, dedupe, durable append). */
  ingest(events: StockEvent[]): Promise<IngestResult>;
  /** Orders placed on the channel: routing and reservations, idempotent and order-tolerant. */
  readonly orders: ChannelOrders;
  /** Items that could not be mapped; listed at GET /v1/channels/{id}/quarantine and counted. */
  quarantine(items: QuarantinedItem[]): Promise<void>;
  /**
   * The last figure the channel acknowledged from us for this item (null: never pushed), so a
   * webhook can tell the echo of our own push from a merchant's edit.
   */
  lastPublished(sku: string, channelLocation: string | null): Promise<number | null>;
  /** Durable per-channel key/value state: pull cursors, the catalogue mapping (SKU → vendor ids). */
  readonly state: ConnectorState;
  /**
   * Which of `skus` the ledger knows (has a position for anywhere). There is no SKU catalogue:
   * a SKU becomes known by a count or a receipt, so a sale of a SKU never seen is a typo or a
   * foreign item, which inbound-only kinds (pos) refuse rather than create.
   */
  knownSkus(skus: readonly string[]): Promise<Set<string>>;
  /** A problem the operator should see in GET /v1/channels/{id}/status. */
  reportError(e: { sku?: string; message: string; retryable: boolean }): void;
}

export interface ConnectorState {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  /** Many keys in one round trip (absent keys are left out); optional, callers fall back to `get`. */
  getMany?(keys: readonly string[]): Promise<Map<string, string>>;
  /** Many keys in one round trip, atomically; optional, callers fall back to `set`. */
  setMany?(entries: ReadonlyArray<readonly [string, string]>): Promise<void>;
}

/**
 * A channel item or location the connector could not map to ours (an unknown SKU, a location
 * outside `locationMap`), or a payload it could not read: kept with its reason, never guessed.
 */
export interface QuarantinedItem {
  /** The channel's own reference: a variant id, a seller SKU, a location id, an order id. */
  channelRef: string;
  reason: string;
  /** The vendor's payload as received, for an operator to look at. */
  payload: unknown;
}

/**
 * Orders placed on a channel. Every call is idempotent per (channelId, orderRef) and tolerates
 * redelivery and reordering: a cancellation that arrives before its order leaves a tombstone, so
 * the order's later arrival reserves nothing.
 */
export interface ChannelOrders {
  /** Routes (contract §7) over `locationIds` ?? the channel's pool and holds the plan as a reservation. */
  placed(order: ChannelOrder): Promise<OrderOutcome>;
  /** Releases the order's reservation; before `placed`, records a tombstone. */
  cancelled(orderRef: string, occurredAt: string): Promise<OrderOutcome>;
  /** Fulfils the reservation (on hand and reserved drop). `lines` absent: the whole order. */
  fulfilled(orderRef: string, occurredAt: string, lines?: Array<{ sku: string; quantity: number }>): Promise<OrderOutcome>;
  /**
   * A refund that puts units back on the shelf: `stock.returned` events whose ids derive from
   * (channelId, orderRef, refundRef, line index), so a redelivery returns nothing twice.
   */
  restocked(orderRef: string, refundRef: string, lines: Array<{ sku: string; locationId: string; quantity: number }>, occurredAt: string): Promise<OrderOutcome>;
}

export interface ChannelOrder {
  orderRef: string;
  method: 'ship' | 'pickup';
  pickupLocationId?: string;
  /** Absent: routed without a destination (contract §7, distance skipped). */
  destination?: { lat: number; lon: number };
  /** Restricts routing to these of our locations (e.g. the location Shopify assigned). Default: the pool. */
  locationIds?: string[];
  lines: Array<{ sku: string; quantity: number; lineRef: string }>;
  occurredAt: string;
}

export type OrderState = 'reserved' | 'unfulfillable' | 'cancelled' | 'fulfilled' | 'tombstone';

export interface OrderOutcome {
  orderRef: string;
  state: OrderState;
  /** True when this call changed nothing (a redelivery, or an order already cancelled). */
  duplicate: boolean;
  reservationId: string | null;
  /** Where the routed units are held. */
  allocations: Array<{ sku: string; locationId: string; quantity: number }>;
  /** Why an order could not be reserved (shortage, unknown SKU): it is also quarantined. */
  detail?: string;
}

/** POST /v1/channels/{id}/sync and the scheduler: pull orders, counts and the catalogue now. */
export interface PullReport {
  ingested: number;
  duplicates: number;
  quarantined: number;
  orders: number;
  /** Free-form notes for the status page (e.g. "catalogue: 1,204 variants matched"). */
  notes?: string[];
}

/** One configured channel (PUT /v1/channels/{id}), with the directions its kind supports. */
export interface ChannelConnector {
  readonly channelId: string;
  readonly kind: ChannelKind;
  /** Lifecycle: a settings change at run time stops the old connector and creates + starts a new one. */
  start?(): Promise<void>;
  stop?(): Promise<void>;
  pull?(signal: AbortSignal): Promise<PullReport>;
  readonly webhook?: WebhookReceiver;
  readonly publisher?: StockPublisher;
}

export type WebhookOutcome = 'applied' | 'ignored' | 'quarantined' | 'unknown-topic' | 'malformed';

/**
 * Inbound by webhook (POST /webhooks/{kind}/{channelId}): authenticated by the channel's
 * signature, not a token. The engine verifies, dedupes by delivery id durably, then calls
 * `handle`; it answers 401 to a bad signature and 2xx to everything verified (a vendor retries a
 * 4xx forever), counting each outcome. For 'malformed' and 'unknown-topic' the engine quarantines
 * the raw body with `detail` as the reason; for 'quarantined' the connector has done so itself.
 * A thrown error answers 500, forgets the delivery id, and the vendor's retry tries again.
 */
export interface WebhookReceiver {
  /**
   * Our own protocols (pos): the sender is our integration, not a vendor that retries a 4xx
   * forever, so a malformed body is answered 400 problem+json naming the field (still counted
   * and quarantined) instead of 200.
   */
  readonly refusesMalformed?: boolean;
  /** Checks the signature over the RAW body (HMAC with the channel's secret), in constant time. */
  verify(rawBody: Buffer, headers: WebhookHeaders): boolean;
  /** The vendor's delivery id (X-Shopify-Webhook-Id, Square's event_id); null: no dedupe by id. */
  deliveryId(rawBody: Buffer, headers: WebhookHeaders): string | null;
  handle(rawBody: Buffer, headers: WebhookHeaders): Promise<WebhookResult>;
}

export interface WebhookResult {
  outcome: WebhookOutcome;
  detail?: string;
  /** Batches of events (pos): counts and each refused event with its reason, returned to the sender. */
  accepted?: number;
  duplicates?: number;
  rejected?: Array<{ index: number; eventId: string | null; reason: string }>;
}

export interface PushItem {
  sku: string;
  /** The channel's location id for per-location kinds, null for network kinds. */
  channelLocation: string | null;
  /** The absolute quantity the channel should show. */
  quantity: number;
  /** What we believe the channel shows (the last acknowledged push), for compare-and-set (Shopify changeFromQuantity). */
  expected: number | null;
  /** Stable across retries of the same outbox row version; differs for a new figure. */
  idempotencyKey: string;
}

/** What became of one pushed item. */
export type PushOutcome =
  | { ok: true }
  | {
      ok: false;
      error: string;
      retryable: boolean;
      /** Compare-and-set was stale: what the channel shows now. The engine retries with it as `expected`. */
      actual?: number;
      /** The SKU is not listed at that channel location: parked, not an error, re-tried after a pull. */
      notListed?: boolean;
      /**
       * The submission call went out but its answer did not come back (timeout, 5xx, network):
       * the channel may hold a submission we do not know. Only with `awaitUnknownSubmissions`,
       * which then runs before the item is pushed again.
       */
      maybeSubmitted?: boolean;
    }
  /**
   * Taken into an asynchronous submission (an Amazon JSON_LISTINGS_FEED) whose result comes
   * later. The engine persists `submissionId` on the outbox row, keeps the row off new pushes
   * until `StockPublisher.poll` settles it (so no newer figure can overtake it), and after a
   * restart resumes polling rather than pushing again. Only publishers with `poll` may answer it.
   */
  | { ok: 'pending'; submissionId: string; /** When to ask first (ms from now). */ pollInMs?: number }
  /** Not attempted in this call (the rate budget went to the others): back in the outbox, no attempt counted. */
  | { ok: 'deferred' };

/** A submission's result (`StockPublisher.poll`): still running, or one outcome per item. */
export type SubmissionAnswer =
  | { pending: true; /** Ask again after this long (ms). */ pollInMs: number }
  | { pending: false; outcomes: Array<Exclude<PushOutcome, { ok: 'pending' } | { ok: 'deferred' }>> };

/** Outbound: sets the quantities the channel may sell. Absolute, so a repeat is harmless. */
export interface StockPublisher {
  /** Most items one `push` call may carry (Shopify inventorySetQuantities: 250). */
  readonly maxItemsPerCall: number;
  /** Rate-limit units one call with `items` items costs (Shopify: the requested query cost). */
  cost(items: number): number;
  /**
   * One outcome per item, in order. `retryAfterMs`: the vendor asked us to wait (throttled).
   * `pending` outcomes need `poll`; `deferred` ones come back in a later call.
   */
  push(items: readonly PushItem[], signal: AbortSignal): Promise<{ outcomes: PushOutcome[]; retryAfterMs?: number }>;
  /**
   * How many of `due` waiting items the next call should carry (default `maxItemsPerCall`): a
   * publisher that chooses between calls by volume and rate budget (Amazon: patch or feed) sizes
   * its own batches. At least 1.
   */
  batchSize?(due: number): number;
  /**
   * The result of a submission a push answered `pending` for: `items` are the ones that push
   * gave it, in the same order and with the same figures. Called by whichever process holds the
   * outbox rows' lease, also after a restart; it must not submit anything again.
   */
  poll?(submission: { id: string; items: readonly PushItem[] }, signal: AbortSignal): Promise<SubmissionAnswer>;
  /**
   * For publishers whose submission ids can be lost (a crash between the channel creating a
   * submission and the engine storing its id): settled once every submission the channel created
   * from `since` to `until` (our clock; the publisher adds its own margin) has finished, so none
   * can land after a newer figure. The engine calls it before pushing again any item whose push
   * was interrupted, and keeps those items off pushes until it answers `settled`.
   */
  awaitUnknownSubmissions?(window: { since: Date; until: Date }, signal: AbortSignal): Promise<{ settled: true } | { settled: false; pollInMs: number }>;
  /** What the channel shows now for each key (null: not listed), for the drift job and CAS recovery. */
  readBack(keys: ReadonlyArray<{ sku: string; channelLocation: string | null }>, signal: AbortSignal): Promise<Array<number | null>>;
}
