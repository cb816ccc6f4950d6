// The soak's clients: steady mixed load, bounded in time and count. POS sales, receipts and
// counts (some late, one source's clock off while a skew fault runs) are posted in batches and
// resent until answered 202, as a connector must; reservations are held, then committed,
// released or left to expire; routed orders hold their plan; availability is read. Every
// request's outcome and latency is kept for the report, and every event answered 202 is kept
// for the reference fold.
import type { StockEvent } from '../src/core/stock-event.js';
import { SOAK_TOKEN } from './cluster.js';
import { seeded } from './faults.js';

export type RequestKind = 'events' | 'hold' | 'commit' | 'release' | 'route' | 'read' | 'query';

export interface Sample {
  t: number;
  kind: RequestKind;
  ms: number;
  /** HTTP status, or 0 for no answer (connection refused, reset, or the client's 15 s timeout). */
  status: number;
}

export const STORES = ['st-01', 'st-02'];
export const WAREHOUSE = 'wh-1';
export const LOCATIONS = [...STORES, WAREHOUSE];
/** SKUs moved by events only (sales can take them below zero: that is the ledger's business). */
export const EVENT_SKUS = Array.from({ length: 40 }, (_, i) => `EV-${i}`);
/** SKUs that are reserved: they only ever receive stock, so a hold beyond what is there is an oversell. */
export const RESERVED_SKUS = Array.from({ length: 8 }, (_, i) => `RS-${i}`);

const REQUEST_TIMEOUT_MS = 15_000;

export interface LoadState {
  samples: Sample[];
  accepted: StockEvent[];
  /** Events generated but never answered 202 by the end (must be none). */
  unsent: StockEvent[];
  /** 202 answers that rejected one of our (valid) events: must be none. */
  rejectedValid: string[];
  /** Unexpected answers (a 500, a 4xx to a valid request), for the report. */
  anomalies: string[];
  /** Clock offset (ms) of the skewed event source right now. */
  skewMs: number;
  /** True while the overload fault runs: extra clients post as fast as they can. */
  overload: boolean;
  /** The run is being abandoned (its broker died): requests stop retrying. */
  abandoned: boolean;
  holds: { made: number; shortages: number; committed: number; released: number; leftToExpire: number };
}

export function newLoadState(): LoadState {
  return { samples: [], accepted: [], unsent: [], rejectedValid: [], anomalies: [], skewMs: 0, overload: false, abandoned: false, holds: { made: 0, shortages: 0, committed: 0, released: 0, leftToExpire: 0 } };
}

interface Answer { status: number; json: Record<string, unknown> | null; retryAfter: number }

export class SoakClient {
  constructor(private readonly url: () => string, private readonly state: LoadState) {}

  async call(kind: RequestKind, method: string, path: string, body?: unknown): Promise<Answer> {
    const started = Date.now();
    let status = 0;
    let json: Record<string, unknown> | null = null;
    let retryAfter = 1;
    try {
      const res = await fetch(`${this.url()}${path}`, {
        method,
        headers: { authorization: `Bearer ${SOAK_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      status = res.status;
      retryAfter = Math.min(5, Math.max(1, Number(res.headers.get('retry-after') ?? 1) || 1));
      const text = await res.text();
      try { json = JSON.parse(text) as Record<string, unknown>; } catch { json = null; }
    } catch {
      status = 0;
    }
    this.state.samples.push({ t: started, kind, ms: Date.now() - started, status });
    if (status >= 500 && status !== 503) this.state.anomalies.push(`${method} ${path} → ${status} ${JSON.stringify(json).slice(0, 200)}`);
    return { status, json, retryAfter };
  }

  /** Resends until `done(status)`, waiting Retry-After on 429/503 and a second on no answer; gives up at `deadline`. */
  async until(kind: RequestKind, method: string, path: string, body: unknown, done: (a: Answer) => boolean, deadline: number): Promise<Answer | null> {
    for (;;) {
      const a = await this.call(kind, method, path, body);
      if (done(a)) return a;
      if (a.status !== 0 && a.status !== 429 && a.status !== 503) {
        this.state.anomalies.push(`${method} ${path} → ${a.status} ${JSON.stringify(a.json).slice(0, 200)}`);
        return a;
      }
      if (Date.now() > deadline || this.state.abandoned) return null;
      await sleep(a.retryAfter * 1000);
    }
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One event source's batches: resent until 202. */
export async function eventSource(client: SoakClient, state: LoadState, o: { id: number; seed: number; until: () => boolean; hardDeadline: number; maxEvents: number; pauseMs: number }) {
  const rnd = seeded(o.seed * 7919 + o.id);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  let n = 0;
  while (!o.until() && n < o.maxEvents) {
    const size = state.overload ? 100 : 1 + Math.floor(rnd() * 25);
    const skewed = o.id === 0 && state.skewMs !== 0;
    const batch: StockEvent[] = [];
    for (let i = 0; i < size; i++, n++) {
      const now = Date.now() + (skewed ? state.skewMs : 0);
      const common = { eventId: `soak-${o.seed}-${o.id}-${n}`, locationId: pick(LOCATIONS), source: skewed ? 'pos-skewed-clock' : `pos-${o.id}` };
      const k = rnd();
      if (k < 0.1) {
        // Receipts of reserved SKUs keep stock there to hold.
        batch.push({ ...common, sku: pick(RESERVED_SKUS), type: 'stock.received', quantity: 1 + Math.floor(rnd() * 20), occurredAt: new Date(now).toISOString() });
        continue;
      }
      const sku = pick(EVENT_SKUS);
      const q = 1 + Math.floor(rnd() * 5);
      const late = rnd() < 0.1 ? 60_000 * (2 + Math.floor(rnd() * 10)) : 0;
      const occurredAt = new Date(now - late - Math.floor(rnd() * 2_000)).toISOString();
      if (k < 0.5) batch.push({ ...common, sku, occurredAt, type: 'stock.sold', quantity: q });
      else if (k < 0.72) batch.push({ ...common, sku, occurredAt, type: 'stock.received', quantity: q * 4 });
      else if (k < 0.82) batch.push({ ...common, sku, occurredAt, type: 'stock.counted', quantity: q * 10 });
      else if (k < 0.88) batch.push({ ...common, sku, occurredAt, type: 'stock.returned', quantity: 1, sellable: rnd() < 0.7 });
      else if (k < 0.94) batch.push({ ...common, sku, occurredAt, type: 'stock.adjusted', delta: rnd() < 0.5 ? -q : q, reason: 'cycle count fix' });
      else batch.push({ ...common, sku, occurredAt, type: 'stock.unavailable', quantity: rnd() < 0.3 ? -1 : 1, reason: 'damaged' });
    }
    const a = await client.until('events', 'POST', '/v1/events', { events: batch }, (x) => x.status === 202, o.hardDeadline);
    if (a?.status === 202) {
      state.accepted.push(...batch);
      const rejected = (a.json?.rejected as Array<{ index: number; error: string }> | undefined) ?? [];
      for (const r of rejected) state.rejectedValid.push(`${batch[r.index]?.eventId}: ${r.error}`);
    } else {
      state.unsent.push(...batch);
    }
    if (!state.overload) await sleep(o.pauseMs);
  }
}

/** Holds, then commits, releases or leaves them to expire; routed orders hold their plan. */
export async function reservationClient(client: SoakClient, state: LoadState, o: { id: number; seed: number; until: () => boolean; hardDeadline: number; pauseMs: number }) {
  const rnd = seeded(o.seed * 104_729 + o.id);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  let n = 0;
  while (!o.until()) {
    const id = `soak-r-${o.seed}-${o.id}-${n++}`;
    const routed = rnd() < 0.25;
    const fate = rnd();
    const ttlSeconds = fate < 0.3 ? 2 : 600;
    const lines = Array.from({ length: 1 + Math.floor(rnd() * 2) }, () => ({ sku: pick(RESERVED_SKUS), locationId: pick(STORES), quantity: 1 + Math.floor(rnd() * 3) }));
    const a = routed
      ? await client.until('route', 'POST', '/v1/routing/plan', {
        method: 'ship', destination: { lat: 52.1, lon: 5.1 }, orderRef: id, lines: lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
        reserve: { ttlSeconds, reservationId: id },
      }, (x) => x.status === 200 || x.status === 201 || x.status === 409, o.hardDeadline)
      : await client.until('hold', 'POST', '/v1/reservations', { reservationId: id, ttlSeconds, lines }, (x) => x.status === 201 || x.status === 409, o.hardDeadline);
    const held = (a?.status === 201 || a?.status === 200) && (!routed || a.json?.reservationId === id);
    if (!held) {
      if (a?.status === 409) state.holds.shortages += 1;
    } else {
      state.holds.made += 1;
      if (fate < 0.3) state.holds.leftToExpire += 1;
      else {
        const action = fate < 0.7 ? 'commit' : 'release';
        const r = await client.until(action, 'POST', `/v1/reservations/${id}/${action}`, undefined, (x) => x.status === 200 || x.status === 409, o.hardDeadline);
        if (r?.status === 200) state.holds[action === 'commit' ? 'committed' : 'released'] += 1;
      }
    }
    await sleep(o.pauseMs);
  }
}

export async function reader(client: SoakClient, o: { id: number; seed: number; until: () => boolean; pauseMs: number }) {
  const rnd = seeded(o.seed * 15_485_863 + o.id);
  const all = [...EVENT_SKUS, ...RESERVED_SKUS];
  while (!o.until()) {
    if (rnd() < 0.7) await client.call('read', 'GET', `/v1/availability/${all[Math.floor(rnd() * all.length)]}`);
    else await client.call('query', 'POST', '/v1/availability/query', { skus: Array.from({ length: 10 }, () => all[Math.floor(rnd() * all.length)]) });
    await sleep(o.pauseMs);
  }
}
