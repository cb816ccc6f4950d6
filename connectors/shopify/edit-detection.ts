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
  | { kind: 'unchanged' | 'echo' | 'shopify-order' | 'fulfilment' }
  | { kind: 'merchant-edit'; delta: number; creditUsed: number }
  | { kind: 'restock-explained'; creditUsed: number };

/**
 * `pushed`: figures we set recently (an echo may be seen before the push's answer is recorded);
 * `restockCredit`: units refunds/create already returned at this level and not yet matched.
 */
export function classifyLevelChange(base: LevelFigures, now: LevelFigures, pushed: ReadonlySet<number>, restockCredit: number): LevelVerdict {
  const dA = now.available - base.available;
  const dH = now.onHand - base.onHand;
  if (dA === 0 && dH === 0) return { kind: 'unchanged' };
  if (dH === 0) return { kind: 'shopify-order' };
  if (dA === 0) return { kind: 'fulfilment' };
  if (dA === dH && pushed.has(now.available)) return { kind: 'echo' };
  // on_hand moved: that part is the merchant's (or a restock). When available moved by a
  // different amount too, the rest is an order or a cancellation committed meanwhile.
  let delta = dH;
  let creditUsed = 0;
  if (delta > 0 && restockCredit > 0) {
    creditUsed = Math.min(delta, restockCredit);
    delta -= creditUsed;
  }
  if (delta === 0) return { kind: 'restock-explained', creditUsed };
  return { kind: 'merchant-edit', delta, creditUsed };
}
