// Reservations (contract §5), the pure part: request normalisation, the idempotency
// fingerprint and the state machine. The database side is src/reservations/.
import { createHash } from 'node:crypto';
import { comparePositionKeys, type PositionKey } from '../ledger/ledger-row.js';

export type ReservationStatus = 'held' | 'committed' | 'released' | 'fulfilled';
export type LineState = ReservationStatus | 'rejected';
export type ReservationAction = 'commit' | 'release' | 'fulfil';

export const DEFAULT_TTL_SECONDS = 900;
export const MIN_TTL_SECONDS = 1;
/** One week: a hold longer than that is a stock allocation, not a reservation. */
export const MAX_TTL_SECONDS = 604_800;
export const MAX_LINES = 100;

export interface LineRequest {
  sku: string;
  locationId: string;
  quantity: number;
}

export interface HoldRequest {
  reservationId?: string | undefined;
  channel: string;
  orderRef?: string | null | undefined;
  ttlSeconds: number;
  lines: readonly LineRequest[];
}

export interface MergedLine extends PositionKey {
  lineNo: number;
  quantity: number;
  /** Indexes of the request lines merged into this one (to name fields in errors). */
  requestIndexes: number[];
}

/**
 * Lines sharing (sku, location) become one line with the summed quantity, numbered in order of
 * first appearance. Checking them apart would let two lines of one order both pass against the
 * same units (medusa#16569, #16502).
 */
export function mergeLines(lines: readonly LineRequest[]): MergedLine[] {
  const byKey = new Map<string, MergedLine>();
  lines.forEach((l, i) => {
    const k = `${l.sku}\u0000${l.locationId}`;
    const m = byKey.get(k);
    if (m) {
      m.quantity += l.quantity;
      m.requestIndexes.push(i);
    } else byKey.set(k, { lineNo: byKey.size + 1, sku: l.sku, locationId: l.locationId, quantity: l.quantity, requestIndexes: [i] });
  });
  return [...byKey.values()];
}

/** The merged lines in lock order. */
export function sortedByPosition<T extends PositionKey>(lines: readonly T[]): T[] {
  return [...lines].sort(comparePositionKeys);
}

/**
 * What "the same body" means for an idempotent retry: channel, orderRef, ttl and the merged
 * lines regardless of their order. The reservation id itself is the key, not part of it.
 */
export function requestFingerprint(req: HoldRequest, merged: readonly MergedLine[]): string {
  const canonical = {
    channel: req.channel,
    orderRef: req.orderRef ?? null,
    ttlSeconds: req.ttlSeconds,
    lines: sortedByPosition(merged).map((l) => [l.sku, l.locationId, l.quantity]),
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

export const ACTION_TARGET: Record<ReservationAction, ReservationStatus> = {
  commit: 'committed',
  release: 'released',
  fulfil: 'fulfilled',
};

/**
 * The states an action may start from. Releasing a committed reservation is allowed (an order
 * cancelled before it shipped gives its units back); fulfilling may skip commit.
 */
export const ACTION_FROM: Record<ReservationAction, readonly ReservationStatus[]> = {
  commit: ['held'],
  release: ['held', 'committed'],
  fulfil: ['held', 'committed'],
};

export type TransitionDecision = 'apply' | 'already' | 'forbidden';

/** `already`: the action's target state is reached; repeating it answers 200 and changes nothing. */
export function decideTransition(action: ReservationAction, current: ReservationStatus): TransitionDecision {
  if (current === ACTION_TARGET[action]) return 'already';
  return ACTION_FROM[action].includes(current) ? 'apply' : 'forbidden';
}

export interface ReservationLineView {
  lineNo: number;
  sku: string;
  locationId: string;
  quantity: number;
  state: LineState;
}

export interface ReservationView {
  reservationId: string;
  status: ReservationStatus;
  channel: string;
  orderRef: string | null;
  ttlSeconds: number;
  /** Null once committed: it no longer expires. */
  expiresAt: string | null;
  releasedReason: string | null;
  createdAt: string;
  updatedAt: string;
  lines: ReservationLineView[];
}

export interface Shortage {
  sku: string;
  locationId: string;
  requested: number;
  available: number;
}
