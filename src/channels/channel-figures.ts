// What a channel is offered (contract §8), pure. Whole-network kinds: one figure,
// max(0, Σ ATP over the pool's active locations − bufferUnits). Per-location kinds (Shopify,
// Square): one figure per mapped channel location, max(0, ATP there − bufferUnits): the buffer
// is held back at every location, because each location can sell its figure on its own and the
// buffer protects against each one's counting error (docs/API.md, Channels).
import { atp, type AtpInputs } from '../core/atp.js';

export interface PositionAtp extends AtpInputs {
  sku: string;
  locationId: string;
}

export interface ChannelShape {
  pool: readonly string[];
  bufferUnits: number;
  /** null: a whole-network channel. */
  channelLocations: ReadonlyArray<{ channelLocation: string; locationId: string }> | null;
}

export interface Figure {
  sku: string;
  /** '' for whole-network channels. */
  channelLocation: string;
  quantity: number;
}

/** ATP per (sku, location) from position rows; absent positions count as 0. */
export function atpBySku(rows: readonly PositionAtp[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const r of rows) {
    let m = out.get(r.sku);
    if (!m) out.set(r.sku, (m = new Map()));
    m.set(r.locationId, atp(r));
  }
  return out;
}

export function channelFigures(shape: ChannelShape, skus: Iterable<string>, atps: ReadonlyMap<string, ReadonlyMap<string, number>>): Figure[] {
  const out: Figure[] = [];
  for (const sku of skus) {
    const m = atps.get(sku);
    if (shape.channelLocations === null) {
      let sum = 0;
      for (const loc of shape.pool) sum += m?.get(loc) ?? 0;
      out.push({ sku, channelLocation: '', quantity: Math.max(0, sum - shape.bufferUnits) });
    } else {
      for (const cl of shape.channelLocations) {
        out.push({ sku, channelLocation: cl.channelLocation, quantity: Math.max(0, (m?.get(cl.locationId) ?? 0) - shape.bufferUnits) });
      }
    }
  }
  return out;
}

/** The locations whose positions change a channel's figures. */
export function relevantLocations(shape: ChannelShape): Set<string> {
  return new Set(shape.channelLocations === null ? shape.pool : shape.channelLocations.map((c) => c.locationId));
}

/** Push first: a figure that reaches zero, or crosses the low-stock threshold downwards. */
export function isUrgent(quantity: number, previous: number | null, lowStockThreshold: number): boolean {
  if (quantity === 0) return previous !== 0;
  return quantity <= lowStockThreshold && (previous === null || previous > lowStockThreshold);
}

/** Retry backoff with full jitter: up to 2^attempts × base, capped. */
export function backoffMs(attempts: number, random: () => number = Math.random, baseMs = 250, capMs = 60_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempts, 20));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
