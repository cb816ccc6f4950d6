// Shopify's webhook delivery: POST of the REST-shaped JSON body with X-Shopify-Topic,
// X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the raw body with the app's secret),
// X-Shopify-Shop-Domain, X-Shopify-API-Version, X-Shopify-Webhook-Id, X-Shopify-Event-Id and
// X-Shopify-Triggered-At; retried on a non-2xx answer. Controls for tests: duplicate deliveries,
// hold deliveries and release them in another order, pause.
import { createHmac, randomUUID } from 'node:crypto';

export interface Delivery {
  webhookId: string;
  eventId: string;
  topic: string;
  body: string;
  triggeredAt: string;
}

export interface DeliveryResult { webhookId: string; topic: string; status: number | null; attempt: number }

export interface WebhookTarget { url: string; secret: string; shopDomain: string; apiVersion: string }

export function signWebhook(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('base64');
}

export function webhookHeaders(d: Delivery, t: WebhookTarget, hmac = signWebhook(d.body, t.secret)): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-shopify-topic': d.topic,
    'x-shopify-hmac-sha256': hmac,
    'x-shopify-shop-domain': t.shopDomain,
    'x-shopify-api-version': t.apiVersion,
    'x-shopify-webhook-id': d.webhookId,
    'x-shopify-event-id': d.eventId,
    'x-shopify-triggered-at': d.triggeredAt,
  };
}

export class WebhookSender {
  target: WebhookTarget | null = null;
  readonly results: DeliveryResult[] = [];
  private held: Delivery[] | null = null;
  private duplicates = 0;
  private chain: Promise<void> = Promise.resolve();
  /** Attempts per delivery (Shopify retries for hours; the stand-in a few times, quickly). */
  maxAttempts = 4;
  retryDelayMs = 100;

  /** Sends (or holds) a new delivery for `topic`. */
  emit(topic: string, payload: unknown): Delivery {
    const d: Delivery = { webhookId: randomUUID(), eventId: randomUUID(), topic, body: JSON.stringify(payload), triggeredAt: new Date().toISOString() };
    if (this.held) this.held.push(d);
    else this.dispatch(d);
    return d;
  }

  /** The next `n` deliveries are each sent twice with the same X-Shopify-Webhook-Id. */
  duplicateNext(n: number): void {
    this.duplicates += n;
  }

  /** Holds deliveries until `release`, which sends them in `order` (default: reversed). */
  hold(): void {
    this.held ??= [];
  }

  release(order: 'reversed' | 'as-emitted' = 'reversed'): Delivery[] {
    const held = this.held ?? [];
    this.held = null;
    for (const d of order === 'reversed' ? [...held].reverse() : held) this.dispatch(d);
    return held;
  }

  /** Sends a delivery again, as Shopify does when it did not see a 2xx in time. */
  redeliver(d: Delivery): void {
    this.enqueue(d);
  }

  /** Resolves when every delivery so far has been attempted to completion. */
  async flush(): Promise<void> {
    let last: Promise<void>;
    do {
      last = this.chain;
      await last;
    } while (last !== this.chain);
  }

  private dispatch(d: Delivery): void {
    this.enqueue(d);
    if (this.duplicates > 0) {
      this.duplicates--;
      this.enqueue(d);
    }
  }

  private enqueue(d: Delivery): void {
    this.chain = this.chain.then(() => this.send(d));
  }

  private async send(d: Delivery): Promise<void> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const t = this.target;
      if (!t) return; // stopped: what is left is not delivered
      let status: number | null = null;
      try {
        const res = await fetch(t.url, { method: 'POST', headers: webhookHeaders(d, t), body: d.body, signal: AbortSignal.timeout(5_000) });
        status = res.status;
        await res.arrayBuffer();
      } catch {
        status = null;
      }
      this.results.push({ webhookId: d.webhookId, topic: d.topic, status, attempt });
      if (status !== null && status >= 200 && status < 300) return;
      await new Promise((r) => setTimeout(r, this.retryDelayMs * 2 ** (attempt - 1)));
    }
  }
}
