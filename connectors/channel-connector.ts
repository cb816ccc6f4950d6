// The ports a channel connector implements: the edge between a vendor's API (Shopify, an
// Amazon-style marketplace, Square, a store POS) and the ledger. Ports only, for now: the
// adapters for each kind come with the channel work (contract §8).
//
// Inbound, a connector turns what the channel reports into stock events (contract §3) and hands
// them to the same ingest path as POST /v1/events (src/ingest/ingest-events.ts): validation,
// the unknown-location check, dedupe by eventId and the durable append all apply to it as to
// any other source, so a connector never writes the ledger itself. Its event ids must be
// stable (derived from the vendor's own ids), so that a re-poll or a redelivered webhook is a
// duplicate and changes nothing.
//
// Outbound, a publisher reads the positions named on `inventory.atp` (AtpChange in
// src/reconciler/change-announcement.ts) and pushes what the channel may sell: max(0, the ATP
// over the channel's pool of active locations − bufferUnits).
import type { StockEvent } from '../src/core/stock-event.js';

export type ChannelKind = 'shopify' | 'amazon' | 'square' | 'pos' | 'custom';

/**
 * A channel item or location the connector could not map to ours (an unknown SKU, a location
 * outside `locationMap`): kept with its reason for GET /v1/channels/{id}/quarantine, never guessed.
 */
export interface QuarantinedItem {
  /** The channel's own reference: a variant id, a seller SKU, a location id. */
  channelRef: string;
  reason: string;
  /** The vendor's payload as received, for an operator to look at. */
  payload: unknown;
}

/** Where a pull left off (a timestamp, a page token): opaque to all but the connector that made it. */
export type PullCursor = string | null;

export interface Pulled {
  events: StockEvent[];
  quarantined: QuarantinedItem[];
  /** Where the next pull starts; stored only once the events are accepted by the ingest path. */
  cursor: PullCursor;
}

/** Inbound by polling (Amazon's Orders API, a POS that cannot call out). */
export interface StockSource {
  pull(cursor: PullCursor, signal: AbortSignal): Promise<Pulled>;
}

/** Inbound by webhook: the request is authenticated by the channel's signature, not a token. */
export interface WebhookReceiver {
  /** Checks the signature over the raw body (HMAC with the channel's secret), in constant time. */
  verify(rawBody: Buffer, headers: Readonly<Record<string, string | string[] | undefined>>): boolean;
  /** The events and quarantined items in a verified body. */
  translate(rawBody: Buffer): Omit<Pulled, 'cursor'>;
}

export interface OfferedQuantity {
  sku: string;
  quantity: number;
}

export interface Published {
  published: number;
  /** Per SKU; `retryable` failures (rate limits, 5xx) are tried again, the others are reported. */
  failed: Array<{ sku: string; error: string; retryable: boolean }>;
}

/** Outbound: sets the quantities the channel may sell. Absolute, so a repeat is harmless. */
export interface StockPublisher {
  publish(quantities: readonly OfferedQuantity[], signal: AbortSignal): Promise<Published>;
}

/** One configured channel (PUT /v1/channels/{id}), with the directions its kind supports. */
export interface ChannelConnector {
  readonly channelId: string;
  readonly kind: ChannelKind;
  readonly source?: StockSource;
  readonly webhook?: WebhookReceiver;
  readonly publisher?: StockPublisher;
}
