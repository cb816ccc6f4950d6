// Square quantities are decimal strings ("3", "2.5", up to 5 places). Ours are whole units, so a
// fraction is never rounded into the ledger: it is refused with its reason (a unit item counted
// as "1.5" is a data error at the till, not 1 or 2). Which Square states count for us is decided
// here too: only IN_STOCK is on hand; the others are handled deliberately, not summed.
const DECIMAL = /^(-?)(\d{1,20})(?:\.(\d{1,5}))?$/;

export type QuantityResult = { ok: true; units: number } | { ok: false; error: string };

/** A Square decimal string as a whole number of units, or why it is not one. */
export function wholeUnits(quantity: string, field = 'quantity'): QuantityResult {
  const m = DECIMAL.exec(quantity);
  if (!m) return { ok: false, error: `${field}: "${quantity}" is not a Square decimal quantity` };
  const [, sign, whole, frac = ''] = m;
  if (/[1-9]/.test(frac)) return { ok: false, error: `${field}: "${quantity}" is not a whole number of units` };
  const n = Number(whole);
  if (!Number.isSafeInteger(n) || n > 1_000_000_000) return { ok: false, error: `${field}: "${quantity}" is too large` };
  return { ok: true, units: sign === '-' && n !== 0 ? -n : n };
}

/** Our whole units as the decimal string Square expects. */
export function squareQuantity(units: number): string {
  if (!Number.isInteger(units)) throw new RangeError(`not a whole number of units: ${units}`);
  return String(units);
}

/**
 * What a Square inventory state means for our ledger.
 * - IN_STOCK: on hand (counts become stock.counted).
 * - SOLD: units that left through a sale at the till; an IN_STOCK → SOLD adjustment is a
 *   stock.sold, SOLD itself is not tracked by Square and never reported as a count.
 * - WASTE: damaged or lost, out of on hand: IN_STOCK → WASTE is a stock.adjusted with a
 *   negative delta (reason "waste"), not a hold.
 * - RETURNED_BY_CUSTOMER and RESERVED_FOR_SALE: on the premises but not sellable; moves into
 *   them are stock.unavailable (+), moves out of them back to IN_STOCK stock.unavailable (−).
 * - everything else (ORDERED_FROM_VENDOR, IN_TRANSIT, NONE, ...): not ours yet, or no longer:
 *   ignored, and an adjustment from NONE or RECEIVED_FROM_VENDOR into IN_STOCK is a receipt.
 */
export type StateRole = 'on-hand' | 'sold' | 'waste' | 'unavailable' | 'outside';

export function stateRole(state: string): StateRole {
  switch (state) {
    case 'IN_STOCK': return 'on-hand';
    case 'SOLD': case 'SOLD_ONLINE': return 'sold';
    case 'WASTE': return 'waste';
    case 'RETURNED_BY_CUSTOMER': case 'RESERVED_FOR_SALE': return 'unavailable';
    default: return 'outside';
  }
}
