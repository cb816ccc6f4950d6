// A routed order's progress at one store (contract §11): pick, pack, then ready → handed over
// for pickup, or shipped. Pure.
export const STORE_ORDER_STATUSES = ['new', 'picked', 'packed', 'ready', 'shipped', 'handed_over'] as const;
export type StoreOrderStatus = (typeof STORE_ORDER_STATUSES)[number];
export const STORE_ACTIONS = ['pick', 'pack', 'ready', 'ship', 'hand-over'] as const;
export type StoreAction = (typeof STORE_ACTIONS)[number];
export type FulfilMethod = 'ship' | 'pickup';

const RULES: Record<StoreAction, { from: StoreOrderStatus; to: StoreOrderStatus; method?: FulfilMethod }> = {
  pick: { from: 'new', to: 'picked' },
  pack: { from: 'picked', to: 'packed' },
  ready: { from: 'packed', to: 'ready', method: 'pickup' },
  ship: { from: 'packed', to: 'shipped', method: 'ship' },
  'hand-over': { from: 'ready', to: 'handed_over', method: 'pickup' },
};

export type StoreDecision =
  | { kind: 'apply'; to: StoreOrderStatus; fulfils: boolean }
  | { kind: 'already'; to: StoreOrderStatus }
  | { kind: 'forbidden'; reason: string };

/**
 * What `action` does to an order in `status`. Repeating the action that led to the current
 * status is `already` (a double tap or a retry changes nothing and is not an error).
 */
export function decideStoreAction(method: FulfilMethod, status: StoreOrderStatus, action: StoreAction): StoreDecision {
  const rule = RULES[action];
  if (rule.method && rule.method !== method) return { kind: 'forbidden', reason: `${action} is for ${rule.method} orders; this one is ${method}` };
  if (status === rule.to) return { kind: 'already', to: rule.to };
  if (status !== rule.from) return { kind: 'forbidden', reason: `cannot ${action} an order that is ${status}${rule.from ? ` (needs ${rule.from})` : ''}` };
  return { kind: 'apply', to: rule.to, fulfils: rule.to === 'shipped' || rule.to === 'handed_over' };
}

/** The promise a store makes for an order it receives: ready for pickup within 2 h, dispatched within 24 h. */
export const PROMISE_MS: Record<FulfilMethod, number> = { pickup: 2 * 3600_000, ship: 24 * 3600_000 };
