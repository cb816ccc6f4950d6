// The availability view of contract §4, built from position figures and location settings.
import { atp } from './atp.js';

export interface PositionFigures {
  locationId: string;
  onHand: number;
  reserved: number;
  /** Shown unavailable: flagged units plus units a store could not find. */
  unavailable: number;
  safetyStock: number;
  active: boolean;
  oversold: boolean;
  countRequested: boolean;
}

export interface LocationAvailability {
  locationId: string;
  onHand: number;
  reserved: number;
  unavailable: number;
  safetyStock: number;
  atp: number;
  active: boolean;
  oversold: boolean;
  countRequested: boolean;
}

export interface SkuAvailability {
  sku: string;
  network: { onHand: number; reserved: number; unavailable: number; atp: number };
  locations: LocationAvailability[];
}

export function skuAvailability(sku: string, positions: readonly PositionFigures[]): SkuAvailability {
  const network = { onHand: 0, reserved: 0, unavailable: 0, atp: 0 };
  const locations = [...positions]
    .sort((a, b) => (a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : 0))
    .map((p) => {
      const loc: LocationAvailability = { ...p, atp: atp(p) };
      if (p.active) {
        network.onHand += p.onHand;
        network.reserved += p.reserved;
        network.unavailable += p.unavailable;
        network.atp += loc.atp;
      }
      return loc;
    });
  return { sku, network, locations };
}
