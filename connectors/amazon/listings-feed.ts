// JSON_LISTINGS_FEED documents out and processing reports in, with no I/O. A bulk change of
// fulfilment quantities is one feed of PATCH messages on /attributes/fulfillment_availability;
// its processing report names each failed message, and each failure becomes one outcome per SKU,
// retryable or not by its issue code.

/** Messages one feed may carry (listings-feed-schema-v2: messages maxItems). */
export const MAX_FEED_MESSAGES = 25_000;

export interface QuantityUpdate {
  sku: string;
  quantity: number;
}

export interface ListingsFeedDocument {
  header: { sellerId: string; version: '2.0'; issueLocale?: string };
  messages: Array<{
    messageId: number;
    sku: string;
    operationType: 'PATCH';
    productType: string;
    patches: Array<{ op: 'replace'; path: '/attributes/fulfillment_availability'; value: Array<{ fulfillment_channel_code: 'DEFAULT'; quantity: number }> }>;
  }>;
}

/** The fulfillment_availability patch, shared by patchListingsItem and feed messages. */
export function availabilityPatch(quantity: number) {
  return { op: 'replace' as const, path: '/attributes/fulfillment_availability' as const, value: [{ fulfillment_channel_code: 'DEFAULT' as const, quantity }] };
}

/**
 * One feed for the updates, message ids 1…n in their order. `productType` PRODUCT is accepted
 * for a PATCH of an existing listing's offer attributes whatever its real product type.
 */
export function buildListingsFeed(sellerId: string, updates: readonly QuantityUpdate[], productType = 'PRODUCT'): ListingsFeedDocument {
  if (updates.length === 0 || updates.length > MAX_FEED_MESSAGES) throw new RangeError(`a feed carries 1 to ${MAX_FEED_MESSAGES} messages, not ${updates.length}`);
  return {
    header: { sellerId, version: '2.0', issueLocale: 'en_US' },
    messages: updates.map((u, i) => ({ messageId: i + 1, sku: u.sku, operationType: 'PATCH', productType, patches: [availabilityPatch(u.quantity)] })),
  };
}

export interface ReportIssue {
  messageId?: number;
  sku?: string;
  code: string;
  severity: 'ERROR' | 'WARNING' | 'INFO';
  message: string;
}

export interface ProcessingReport {
  header: { feedId: string };
  issues?: ReportIssue[];
  summary: { errors: number; warnings: number; messagesProcessed: number; messagesAccepted: number; messagesInvalid: number };
}

export type UpdateOutcome = { ok: true; warnings?: string[] } | { ok: false; error: string; retryable: boolean; notListed?: boolean };

/**
 * Amazon publishes no list of transient issue codes. 4000000 "An internal error has occurred.
 * Please try again." is the one seen in the wild (amzn/selling-partner-api-models#4603), so it
 * and any issue whose message asks to try again are retried; every other code is permanent and
 * shown per SKU in the channel's status.
 */
const RETRYABLE_CODES = new Set(['4000000']);
const RETRY_WORDING = /try again/i;
/** The SKU is not a listing of this seller (the stand-in's code): parked until a pull finds it. */
const NOT_LISTED_CODES = new Set(['4000001']);

/**
 * One outcome per update, in order. A message with an ERROR issue failed (its quantity was not
 * applied); WARNING and INFO issues do not stop it. Issues without a message id (the feed
 * itself was refused) fail every update. A report for a feed that ended FATAL is read the same.
 */
export function outcomesFromReport(updates: readonly QuantityUpdate[], report: ProcessingReport, fatal = false): UpdateOutcome[] {
  const byMessage = new Map<number, ReportIssue[]>();
  const general: ReportIssue[] = [];
  for (const issue of report.issues ?? []) {
    if (issue.messageId === undefined) general.push(issue);
    else byMessage.set(issue.messageId, [...(byMessage.get(issue.messageId) ?? []), issue]);
  }
  const feedError = general.find((i) => i.severity === 'ERROR');
  return updates.map((u, i) => {
    if (fatal || feedError) {
      const why = feedError ? `${feedError.code}: ${feedError.message}` : 'the feed ended FATAL';
      return { ok: false, error: `feed ${report.header.feedId} refused: ${why}`, retryable: false };
    }
    const issues = byMessage.get(i + 1) ?? [];
    const error = issues.find((x) => x.severity === 'ERROR');
    if (error) return issueOutcome(u.sku, error);
    const warnings = issues.map((x) => `${x.code} ${x.message}`);
    return warnings.length ? { ok: true, warnings } : { ok: true };
  });
}

/** A failed update's outcome from its ERROR issue (feed report or patchListingsItem answer alike). */
export function issueOutcome(sku: string, error: Pick<ReportIssue, 'code' | 'message'>): UpdateOutcome & { ok: false } {
  const notListed = NOT_LISTED_CODES.has(error.code);
  return { ok: false, error: `${sku}: ${error.code} ${error.message}`, retryable: !notListed && (RETRYABLE_CODES.has(error.code) || RETRY_WORDING.test(error.message)), ...(notListed ? { notListed } : {}) };
}
