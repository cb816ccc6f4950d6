// Expected failures of reservation operations; the HTTP routes turn them into problem+json.
import type { Shortage } from '../core/reservation.js';

export class ReservationNotFound extends Error {
  constructor(readonly reservationId: string) {
    super(`no reservation "${reservationId}"`);
  }
}

/** A state the action does not allow, or an idempotency key reused with another body. */
export class ReservationConflict extends Error {}

/** Not every line could be held: nothing was. */
export class ReservationShortage extends Error {
  constructor(readonly shortages: Shortage[]) {
    super(`insufficient stock for ${shortages.map((s) => `${s.sku}@${s.locationId}`).join(', ')}`);
  }
}

/** The request names something that does not exist (an unknown location). */
export class ReservationInvalid extends Error {
  constructor(readonly errors: Array<{ field: string; message: string }>) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
}
