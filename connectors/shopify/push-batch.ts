// inventorySetQuantities for a batch of the engine's push items (pure): the mutation, its input,
// the idempotency key, and the userErrors mapped back to the items. Shopify applies a call all
// or nothing, so items without an error of their own are to be sent again.
import { createHash } from 'node:crypto';
import type { PushItem } from '../channel-connector.js';

export const SET_QUANTITIES = `mutation OmnistockSetAvailable($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { changes(quantityNames: ["available", "on_hand"]) { name quantityAfterChange item { id } location { id } } }
    userErrors { code field message }
  }
}`;

/** Shopify's limit on quantities per inventorySetQuantities call. */
export const MAX_QUANTITIES_PER_CALL = 250;

export interface PlannedQuantity { index: number; inventoryItemId: string; locationId: string; quantity: number; changeFromQuantity: number }

export function setQuantitiesInput(planned: readonly PlannedQuantity[], channelId: string) {
  return {
    name: 'available',
    reason: 'correction',
    referenceDocumentUri: `omnistock://channels/${encodeURIComponent(channelId)}/publish`,
    quantities: planned.map((p) => ({ inventoryItemId: p.inventoryItemId, locationId: p.locationId, quantity: p.quantity, changeFromQuantity: p.changeFromQuantity })),
  };
}

/**
 * The call's @idempotent key: the same items, figures and expectations give the same key (a
 * retry after a timeout or a 5xx is applied once); anything different gets a new key, as
 * Shopify refuses a key reused with other parameters.
 */
export function callIdempotencyKey(items: readonly PushItem[], planned: readonly PlannedQuantity[]): string {
  const h = createHash('sha256');
  for (const p of planned) h.update(`${items[p.index]!.idempotencyKey}|${p.inventoryItemId}|${p.locationId}|${p.quantity}|${p.changeFromQuantity}\n`);
  return `omnistock-${h.digest('hex').slice(0, 40)}`;
}

export interface UserError { code: string | null; field: string[] | null; message: string }

/** Which planned quantity (position in the call) a userError names, from field ["input","quantities","3",...]. */
export function userErrorPosition(e: UserError): number | null {
  const f = e.field;
  if (!f || f[0] !== 'input' || f[1] !== 'quantities' || f[2] === undefined) return null;
  const n = Number(f[2]);
  return Number.isInteger(n) ? n : null;
}
