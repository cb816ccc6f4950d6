// Reading a webhook body whose topic is its `type` field (custom, Square): JSON, a type the kind
// knows, then the kind's schema. What cannot be read becomes the outcome the engine counts and
// quarantines (WebhookReceiver in channel-connector.ts), never a throw.
import type { z } from 'zod';
import type { WebhookResult } from './channel-connector.js';

export type TypedWebhookBody<T> = { ok: true; body: T } | { ok: false; result: WebhookResult };

export function readTypedWebhook<S extends z.ZodType>(raw: Buffer, knownType: (type: string) => boolean, schema: S): TypedWebhookBody<z.output<S>> {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return { ok: false, result: { outcome: 'malformed', detail: 'body is not JSON' } };
  }
  const type = (json as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !knownType(type)) return { ok: false, result: { outcome: 'unknown-topic', detail: `unknown type ${JSON.stringify(type ?? null)}` } };
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, result: { outcome: 'malformed', detail: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') } };
  return { ok: true, body: parsed.data };
}
