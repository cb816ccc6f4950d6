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
  | { kind: 'fulfilment'; shipCreditAfter: number }
  | { kind: 'merchant-edit'; delta: number; creditUsed: number; shipCreditAfter: number }
  | { kind: 'restock-explained'; creditUsed: number; shipCreditAfter: number };

/**
 * `pushed`: figures we set recently (an echo may be seen before the push's answer is recorded);
 * `restockCredit`: units refunds/create already returned at this level and not yet matched;
 * `shipCredit`: units fulfillments/create shipped from this level and not yet matched (negative:
 * an on_hand drop seen before its fulfilment webhook, which that webhook will settle).
 */
export function classifyLevelChange(base: LevelFigures, now: LevelFigures, pushed: ReadonlySet<number>, restockCredit: number, shipCredit = 0): LevelVerdict {
  const dA = now.available - base.available;
  const dH = now.onHand - base.onHand;
  if (dA === 0 && dH === 0) return { kind: 'unchanged' };
  // Only on_hand moved: a fulfilment (a merchant's edit always moves available).
  if (dA === 0) return { kind: 'fulfilment', shipCreditAfter: shipCredit + dH };
  if (dH === 0) return { kind: 'shopify-order' };
  if (dA === dH && pushed.has(now.available)) return { kind: 'echo' };
  // on_hand moved with available: the merchant's part is what fulfilments and restocks known
  // from their own webhooks do not explain. Orders and cancellations move available only.
  const shipped = Math.max(0, shipCredit);
  let delta = dH + shipped;
  const shipCreditAfter = shipCredit - shipped;
  let creditUsed = 0;
  if (delta > 0 && restockCredit > 0) {
    creditUsed = Math.min(delta, restockCredit);
    delta -= creditUsed;
  }
  if (delta === 0) return { kind: 'restock-explained', creditUsed, shipCreditAfter };
  return { kind: 'merchant-edit', delta, creditUsed, shipCreditAfter };
}
