// Identifier rules fixed by the contract (§2, §3). One place so API, reconciler and CLI agree.
export const SKU_PATTERN = /^[A-Za-z0-9._/-]{1,64}$/;
export const LOCATION_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const EVENT_ID_MAX = 128;
/** Largest quantity one event may carry; keeps sums far from bigint/float limits. */
export const MAX_QUANTITY = 1_000_000_000;

export function positionKey(sku: string, locationId: string): string {
  return `${sku}\u0000${locationId}`;
}
