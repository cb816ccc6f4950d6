// Which location ids exist, cached: an event for an unknown location is quarantined rather
// than applied, and new locations appear without a restart (a miss re-reads the table).
import type { Sql } from '../db/database.js';

export class LocationDirectory {
  private known = new Set<string>();

  async filterKnown(db: Sql, ids: Iterable<string>): Promise<Set<string>> {
    const unknown = [...new Set(ids)].filter((id) => !this.known.has(id));
    if (unknown.length > 0) {
      const rows = await db.query<{ id: string }>('SELECT id FROM locations WHERE id = ANY($1::text[])', [unknown]);
      for (const r of rows) this.known.add(r.id);
    }
    return this.known;
  }
}
