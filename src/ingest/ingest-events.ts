// POST /v1/events behind the HTTP layer: validate each event on its own (a bad one rejects
// only itself), skip ids already applied, append the rest to the log keyed by SKU, and
// optionally wait until the reconciler has applied them.
import type { Database } from '../db/database.js';
import { parseStockEvent, type StockEvent } from '../core/stock-event.js';
import type { EventLog } from '../eventlog/event-log.js';
import { LocationDirectory } from '../reconciler/location-directory.js';
import { DependencyUnavailable, isDatabaseUnreachable, withDeadline } from '../http/unavailable.js';

/**
 * How long a request waits for the log to take its events. Past it the client gets 503 and
 * resends; the send may still land, and the reconciler's event-id dedupe applies it once.
 */
export const APPEND_DEADLINE_MS = 5_000;

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejected: Array<{ index: number; error: string }>;
  acceptedIds: string[];
}

export class EventIngest {
  private readonly locations = new LocationDirectory();

  constructor(private readonly db: Database, private readonly log: EventLog, private readonly topic: string) {}

  async ingest(items: readonly unknown[]): Promise<IngestResult> {
    const rejected: IngestResult['rejected'] = [];
    const valid: Array<{ index: number; event: StockEvent }> = [];
    items.forEach((item, index) => {
      const r = parseStockEvent(item);
      if (r.ok) valid.push({ index, event: r.event });
      else rejected.push({ index, error: r.error });
    });
    const known = await this.locations.filterKnown(this.db, valid.map((v) => v.event));
    const seenInRequest = new Set<string>();
    const candidates: StockEvent[] = [];
    let duplicates = 0;
    for (const v of valid) {
      if (!known.has(v.event.locationId)) {
        rejected.push({ index: v.index, error: `locationId: unknown location "${v.event.locationId}"` });
      } else if (seenInRequest.has(v.event.eventId)) {
        duplicates += 1;
      } else {
        seenInRequest.add(v.event.eventId);
        candidates.push(v.event);
      }
    }
    // Ids already applied are reported as duplicates. One still in flight in the log is
    // appended again; the reconciler's dedupe is the authority and applies it once.
    const applied = candidates.length
      ? new Set((await this.db.query<{ event_id: string }>('SELECT event_id FROM processed_events WHERE event_id = ANY($1::text[])', [candidates.map((e) => e.eventId)])).map((r) => r.event_id))
      : new Set<string>();
    const fresh = candidates.filter((e) => !applied.has(e.eventId));
    duplicates += candidates.length - fresh.length;
    await this.append(fresh);
    rejected.sort((a, b) => a.index - b.index);
    return { accepted: fresh.length, duplicates, rejected, acceptedIds: fresh.map((e) => e.eventId) };
  }

  private async append(events: readonly StockEvent[]): Promise<void> {
    if (events.length === 0) return;
    const sent = this.log.append(this.topic, events.map((e) => ({ key: e.sku, value: JSON.stringify(e) })));
    try {
      await withDeadline(sent, APPEND_DEADLINE_MS, () => new DependencyUnavailable('event log', `no acknowledgement within ${APPEND_DEADLINE_MS} ms`));
    } catch (err) {
      if (err instanceof DependencyUnavailable) throw err;
      // The events are valid (checked above), so a failed append is the log's, not the request's.
      if (isDatabaseUnreachable(err)) throw new DependencyUnavailable('database', (err as Error).message, { cause: err });
      throw new DependencyUnavailable('event log', (err as Error).message, { cause: err });
    }
  }

  /** Resolves true once every id is applied, false at the deadline. */
  async waitApplied(ids: readonly string[], timeoutMs: number): Promise<boolean> {
    if (ids.length === 0) return true;
    const deadline = Date.now() + timeoutMs;
    let pause = 5;
    for (;;) {
      const rows = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_events WHERE event_id = ANY($1::text[])', [ids]);
      if ((rows[0]?.n ?? 0) >= ids.length) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, Math.min(pause, deadline - Date.now())));
      pause = Math.min(pause * 2, 100);
    }
  }
}
