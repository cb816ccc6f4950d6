// Telling a merchant's edit in the Shopify admin from everything else that moves `available`
// (the design's pitfall). Pure.
//
// Shopify's quantity states move differently per cause:
//   an order                   available −q, on_hand  0   (the units become `committed`)
//   a cancellation (restock)   available +q, on_hand  0
//   a fulfilment               available  0, on_hand −q
//   a merchant edit            available +d, on_hand +d
//   a refund that restocks     available +q, on_hand +q   (reported by refunds/create too)
//   our own push               available +d, on_hand +d   (the figure we sent)
// So from the last state the connector accounted for (the baseline) to what Shopify shows now,
// only a change of on_hand together with available that is neither our push nor a restock the
// connector already returned through refunds/create is the merchant's. Orders, cancellations and
// fulfilments reach the ledger through their own webhooks, never as adjustments.

export interface LevelFigures { available: number; onHand: number }

export type LevelVerdict =
  | { kind: 'unchanged' | 'echo' | 'shopify-order' }
  | { kind: 'fulfilment' | 'explained'; pendingAfter: number }
  | { kind: 'merchant-edit'; delta: number; pendingAfter: number };

/**
 * `pushed`: figures we set recently (an echo may be seen before the push's answer is recorded).
 * `pending`: the on_hand change that fulfillments/create (−shipped) and refunds/create
 * (+restocked) reported for this level and no classification has matched yet; negative or
 * positive. An on_hand drop seen before its fulfilment webhook leaves the opposite amount
 * pending, which that webhook then settles.
 */
export function classifyLevelChange(base: LevelFigures, now: LevelFigures, pushed: ReadonlySet<number>, pending = 0): LevelVerdict {
  const dA = now.available - base.available;
  const dH = now.onHand - base.onHand;
  // Nothing moved and nothing reported is waiting: unchanged. (With reports waiting, figures that
  // did not move mean an edit offset them: an edit of +2 and a fulfilment of 2 between two reads.)
  if (dA === 0 && dH === 0 && pending === 0) return { kind: 'unchanged' };
  // on_hand fell and available did not move: a fulfilment whose webhook has not come yet. (The
  // one reading figures cannot settle: an edit of −q and a cancellation of q between two reads
  // look the same. The units stay pending, so the next read that moves on_hand, or the webhook,
  // accounts for them: over any sequence, adjustments − pending = the merchant's edits.)
  if (dA === 0 && dH < 0) return { kind: 'fulfilment', pendingAfter: pending - dH };
  if (dA === dH && pushed.has(now.available)) return { kind: 'echo' };
  // on_hand moved (or the webhooks reported it should have): the merchant's part is what the
  // fulfilments and restocks known from their own webhooks do not explain. Orders and
  // cancellations move available only.
  const delta = dH - pending;
  if (delta === 0) return dH === 0 ? { kind: 'shopify-order' } : { kind: 'explained', pendingAfter: 0 };
  return { kind: 'merchant-edit', delta, pendingAfter: 0 };
}
