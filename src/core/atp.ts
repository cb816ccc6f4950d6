// Available-to-promise, contract §4: never negative, zero at inactive locations.
export interface AtpInputs {
  onHand: number;
  reserved: number;
  /** Everything shown as unavailable, not-found units included. */
  unavailable: number;
  safetyStock: number;
  active: boolean;
}

export function atp(p: AtpInputs): number {
  if (!p.active) return 0;
  return Math.max(0, p.onHand - p.reserved - p.unavailable - p.safetyStock);
}

/** Reservations beyond what is physically there: a POS sold stock the ledger had promised. */
export function isOversold(p: Pick<AtpInputs, 'onHand' | 'reserved' | 'unavailable'>): boolean {
  return p.reserved > 0 && p.reserved > p.onHand - p.unavailable;
}
