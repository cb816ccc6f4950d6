// Polls getOrders for orders updated since a durable cursor and hands each to the orders sink.
// The window of one poll is fixed by its first page: [cursor, LastUpdatedBefore], where SP-API
// sets LastUpdatedBefore two minutes back from now. Every page of that window is read, then the
// cursor moves to its end, so an order updated while the pages are read (it leaves the window)
// or in the last two minutes (not in it yet) is in the next poll's window, never lost. A crash
// before the cursor moves repeats the window, and the sink's calls are idempotent per order, so
// an order seen twice changes nothing twice.
import type { Coordinates, PostalLookup } from '../../src/routing/postal-code.js';
import { orderAction, orderLines, postalKey, type AmazonOrder, type AmazonOrderItem } from './order-actions.js';
import type { SpApiClient } from './sp-api-client.js';

/** The part of the engine's ChannelOrders this uses (connectors/channel-connector.ts). */
export interface OrderSink {
  placed(o: { orderRef: string; method: 'ship'; destination?: { lat: number; lon: number }; locationIds?: string[]; lines: Array<{ sku: string; quantity: number; lineRef: string }>; occurredAt: string }): Promise<unknown>;
  cancelled(orderRef: string, occurredAt: string): Promise<unknown>;
  fulfilled(orderRef: string, occurredAt: string): Promise<unknown>;
}

export interface DurableState {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
}

export interface OrderPollerOptions {
  sp: SpApiClient;
  marketplaceId: string;
  state: DurableState;
  sink: OrderSink;
  /** Our locations that ship merchant-fulfilled orders (settings.fulfilmentLocationIds). */
  fulfilmentLocationIds: readonly string[];
  /** The merchant's postal-code coordinates (PUT /v1/postal-codes): a destination for routing. */
  postal?: PostalLookup;
  /** Orders that cannot be acted on (an item without a seller SKU). */
  quarantine?: (orderRef: string, reason: string, payload: unknown) => Promise<void>;
  /** Where the very first poll starts, back from now. */
  initialLookbackMs?: number;
  now?: () => number;
}

export const CURSOR_KEY = 'amazon.orders.lastUpdatedAfter';

export interface PollReport {
  orders: number;
  pages: number;
  ignored: number;
  windowEnd: string;
}

export class AmazonOrderPoller {
  constructor(private readonly o: OrderPollerOptions) {}

  async poll(signal?: AbortSignal): Promise<PollReport> {
    const now = this.o.now ?? Date.now;
    const cursor = (await this.o.state.get(CURSOR_KEY)) ?? new Date(now() - (this.o.initialLookbackMs ?? 24 * 3600_000)).toISOString();
    const report: PollReport = { orders: 0, pages: 0, ignored: 0, windowEnd: cursor };
    let nextToken: string | undefined;
    let windowEnd: string | null = null;
    do {
      const query = nextToken ? { MarketplaceIds: this.o.marketplaceId, NextToken: nextToken } : { MarketplaceIds: this.o.marketplaceId, LastUpdatedAfter: cursor, MaxResultsPerPage: '100' };
      const page = await this.o.sp.call<{ payload: { Orders: AmazonOrder[]; NextToken?: string; LastUpdatedBefore?: string } }>('getOrders', 'GET', '/orders/v0/orders', { query, signal });
      report.pages += 1;
      windowEnd ??= page.payload.LastUpdatedBefore ?? null;
      for (const order of page.payload.Orders) {
        if (await this.handle(order, signal)) report.orders += 1;
        else report.ignored += 1;
      }
      nextToken = page.payload.NextToken;
    } while (nextToken);
    // Only after the whole window: a crash before this repeats it (idempotent), never skips it.
    if (windowEnd && windowEnd > cursor) {
      await this.o.state.set(CURSOR_KEY, windowEnd);
      report.windowEnd = windowEnd;
    }
    return report;
  }

  /** True when the order meant something for us. */
  private async handle(order: AmazonOrder, signal?: AbortSignal): Promise<boolean> {
    // AFN orders are decided from the order alone: their items are not fetched at all.
    const first = orderAction(order, []);
    if (first.kind === 'ignore') return false;
    if (first.kind === 'cancel') {
      await this.o.sink.cancelled(order.AmazonOrderId, order.LastUpdateDate);
      return true;
    }
    const items = await this.items(order.AmazonOrderId, signal);
    const { lines, unmapped } = orderLines(items);
    if (unmapped.length > 0 || lines.length === 0) {
      await this.o.quarantine?.(order.AmazonOrderId, unmapped.map((u) => `${u.orderItemId}: ${u.reason}`).join('; ') || 'order without lines', { order, items });
      return false;
    }
    const action = orderAction(order, items, await this.destination(order));
    if (action.kind !== 'place' && action.kind !== 'fulfil') return false;
    await this.o.sink.placed({
      orderRef: order.AmazonOrderId, method: 'ship', ...(action.destination ? { destination: action.destination } : {}),
      locationIds: [...this.o.fulfilmentLocationIds], lines, occurredAt: order.PurchaseDate,
    });
    if (action.kind === 'fulfil') await this.o.sink.fulfilled(order.AmazonOrderId, order.LastUpdateDate);
    return true;
  }

  /** Looked up per order, so coordinates loaded after the channel started count at once. */
  private async destination(order: AmazonOrder): Promise<Coordinates | null> {
    const key = postalKey(order);
    return key && this.o.postal ? this.o.postal(key.postalCode, key.countryCode) : null;
  }

  private async items(orderId: string, signal?: AbortSignal): Promise<AmazonOrderItem[]> {
    const out: AmazonOrderItem[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.o.sp.call<{ payload: { OrderItems: AmazonOrderItem[]; NextToken?: string } }>('getOrderItems', 'GET', `/orders/v0/orders/${encodeURIComponent(orderId)}/orderItems`, { query: { NextToken: nextToken }, signal });
      out.push(...page.payload.OrderItems);
      nextToken = page.payload.NextToken;
    } while (nextToken);
    return out;
  }
}
