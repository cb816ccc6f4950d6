// Which location ids exist, cached: an event for an unknown location is quarantined rather
// than applied, and new locations appear without a restart (a miss re-reads the table).
import type { Sql } from '../db/database.js';

export class LocationDirectory {
  private known = new Set<string>();

  /** Returns the known ids, having looked up those of `rows` not known yet. */
  async filterKnown(db: Sql, rows: ReadonlyArray<{ locationId: string }>): Promise<ReadonlySet<string>> {
    const unknown = new Set<string>();
    for (const r of rows) if (!this.known.has(r.locationId)) unknown.add(r.locationId);
    if (unknown.size > 0) {
      const found = await db.query<{ id: string }>('SELECT id FROM locations WHERE id = ANY($1::text[])', [[...unknown]]);
      for (const r of found) this.known.add(r.id);
    }
    return this.known;
  }
}
