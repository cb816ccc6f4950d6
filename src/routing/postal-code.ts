// Postal-code coordinates a merchant loads (docs/API.md, "Postal-code coordinates"): they give a
// marketplace order, whose address has a postal code but no coordinates, a destination for
// routing (contract §7 step 2). Keys are normalised one way on load and on lookup, so "1011 ab"
// and "1011AB" are the same code.
import { z } from 'zod';

export interface Coordinates {
  lat: number;
  lon: number;
}

/** Coordinates for (postal code, country), or null when none are loaded. Codes as written on an address. */
export type PostalLookup = (postalCode: string, countryCode: string) => Promise<Coordinates | null>;

/** At most this many rows per PUT: well inside the 1 MiB body limit (≈ 80 bytes a row). */
export const MAX_POSTAL_ROWS = 10_000;

export function normalisePostalCode(code: string): string {
  return code.replace(/\s+/g, '').toUpperCase();
}

export function normaliseCountry(code: string): string {
  return code.trim().toUpperCase();
}

export const countrySchema = z.string().regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code such as "NL"').transform(normaliseCountry);
export const postalCodeSchema = z.string()
  .regex(/^[A-Za-z0-9 -]{1,16}$/, 'must be 1-16 letters, digits, spaces or hyphens')
  .transform(normalisePostalCode)
  .refine((c) => c.length > 0, 'must hold a letter or digit');

export const postalRowSchema = z.object({
  country: countrySchema,
  postalCode: postalCodeSchema,
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
}).strict();

export type PostalRow = z.output<typeof postalRowSchema>;

export const postalLoadSchema = z.object({
  rows: z.array(postalRowSchema).min(1).max(MAX_POSTAL_ROWS),
}).strict();

/** Index of the first row whose key an earlier row already has, with that row's index; null when none. */
export function firstRepeatedKey(rows: readonly PostalRow[]): { index: number; first: number } | null {
  const seen = new Map<string, number>();
  for (const [index, r] of rows.entries()) {
    const key = `${r.country}\u0000${r.postalCode}`;
    const first = seen.get(key);
    if (first !== undefined) return { index, first };
    seen.set(key, index);
  }
  return null;
}
