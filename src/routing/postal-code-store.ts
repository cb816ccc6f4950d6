// The postal_codes table (migration 0040): bulk upsert, one row, and the lookup the Amazon
// order poller uses to give an order a destination.
import type { Sql } from '../db/database.js';
import { normaliseCountry, normalisePostalCode, type Coordinates, type PostalLookup, type PostalRow } from './postal-code.js';

/** Rows per INSERT: 4 parameters each, far below PostgreSQL's 65,535. */
const CHUNK = 2_000;

/** Creates or replaces each row (rows keep their own keys unique: see firstRepeatedKey). */
export async function upsertPostalCodes(db: Sql, rows: readonly PostalRow[]): Promise<{ created: number; updated: number }> {
  let created = 0;
  for (let at = 0; at < rows.length; at += CHUNK) {
    const chunk = rows.slice(at, at + CHUNK);
    const params: unknown[] = [];
    const values = chunk.map((r, i) => {
      params.push(r.country, r.postalCode, r.lat, r.lon);
      return `($${i * 4 + 1}, $${i * 4 + 2}, $${i * 4 + 3}, $${i * 4 + 4})`;
    });
    const out = await db.query<{ created: boolean }>(
      `INSERT INTO postal_codes (country, postal_code, lat, lon) VALUES ${values.join(', ')}
       ON CONFLICT (country, postal_code) DO UPDATE SET lat = EXCLUDED.lat, lon = EXCLUDED.lon, updated_at = now()
       RETURNING (xmax = 0) AS created`,
      params,
    );
    created += out.filter((r) => r.created).length;
  }
  return { created, updated: rows.length - created };
}

export async function getPostalCode(db: Sql, country: string, postalCode: string): Promise<PostalRow | null> {
  const rows = await db.query<{ country: string; postal_code: string; lat: number; lon: number }>(
    'SELECT country, postal_code, lat, lon FROM postal_codes WHERE country = $1 AND postal_code = $2',
    [normaliseCountry(country), normalisePostalCode(postalCode)],
  );
  const r = rows[0];
  return r ? { country: r.country, postalCode: r.postal_code, lat: r.lat, lon: r.lon } : null;
}

/** The lookup handed to connectors: a point read per order. */
export function postalLookup(db: Sql): PostalLookup {
  return async (postalCode, countryCode): Promise<Coordinates | null> => {
    const r = await getPostalCode(db, countryCode, postalCode);
    return r ? { lat: r.lat, lon: r.lon } : null;
  };
}
