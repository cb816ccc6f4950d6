// Staff users (contract §11): roles, what each may do, and the sign-in throttle. Pure.
import type { Scope } from '../config.js';
import { SCOPES } from '../config.js';

export const ROLES = ['staff', 'manager', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const USER_ID_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 1024;

export interface StaffUser {
  id: string;
  name: string;
  role: Role;
  locationIds: string[];
  createdAt: string;
  updatedAt: string;
}

/**
 * The token scopes a signed-in user acts with. Staff read stock; managers also post stock events
 * (for their own locations: checked per event, see session-auth.ts); admins may do everything.
 * Queues are not a scope: they are granted per location (`staffAccess: 'location'` routes).
 */
export function scopesOf(role: Role): Scope[] {
  switch (role) {
    case 'staff': return ['stock:read'];
    case 'manager': return ['stock:read', 'events:write'];
    case 'admin': return [...SCOPES];
  }
}

/** The stock event types a manager may post from the app (receive, adjust, damage, count). */
export const MANAGER_EVENT_TYPES: ReadonlySet<string> = new Set(['stock.received', 'stock.adjusted', 'stock.unavailable', 'stock.counted']);

export function mayActAt(user: Pick<StaffUser, 'role' | 'locationIds'>, locationId: string): boolean {
  return user.role === 'admin' || user.locationIds.includes(locationId);
}

/** Wrong passwords in a row that are free; from then on each one doubles the wait, up to the cap. */
export const FREE_ATTEMPTS = 5;
export const MAX_DELAY_MS = 5 * 60_000;

/** After `failures` wrong passwords in a row, how long until the next attempt is heard (0: at once). */
export function signInDelayMs(failures: number): number {
  if (failures < FREE_ATTEMPTS) return 0;
  return Math.min(MAX_DELAY_MS, 1000 * 2 ** (failures - FREE_ATTEMPTS));
}
