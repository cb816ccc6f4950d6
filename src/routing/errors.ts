// Expected failures of routing operations; the HTTP routes turn them into problem+json.
import type { Shortage } from '../core/reservation.js';

/** Bad input the schema cannot see (an unknown pickup location, say); names the field. */
export class RoutingInvalid extends Error {
  constructor(readonly errors: Array<{ field: string; message: string }>) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
}

/** Stock or capacity moved between planning and holding, twice in a row: nothing was held. */
export class PlanConflict extends Error {
  constructor(
    readonly shortages: Shortage[],
    readonly capacity: Array<{ locationId: string; day: string }>,
  ) {
    const what = [
      ...shortages.map((s) => `${s.sku}@${s.locationId}`),
      ...capacity.map((c) => `capacity of ${c.locationId} on ${c.day}`),
    ];
    super(`the plan could not be held (stock or capacity moved meanwhile): ${what.join(', ') || 'retry'}`);
  }
}

/** A hold inside a routing transaction missed: roll back, refresh, maybe re-plan. */
export class HoldMiss extends Error {
  constructor(
    readonly positions: Array<{ sku: string; locationId: string }>,
    readonly capacity: string[],
  ) {
    super('routing hold missed');
  }
}
