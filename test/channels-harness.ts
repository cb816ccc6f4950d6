// Shared set-up for the channel engine's tests: a service on one of the deployments, locations,
// stock, and a custom-channel stand-in (test/support/custom-channel-standin.ts).
import { expect } from 'vitest';
import { startService, type RunningService } from '../src/service/service.js';
import { OPS, type Deployment } from './spine/deployments.js';
import { CustomChannelStandin, type StandinOptions } from './support/custom-channel-standin.js';
import type { AmazonStandIn } from './standins/amazon/amazon-standin.js';

export const SECRET = 'custom-channel-secret-0123456789';
export const LOCATIONS = [
  { id: 'ams-01', type: 'store', lat: 52.37, lon: 4.89 },
  { id: 'utr-02', type: 'store', lat: 52.09, lon: 5.12 },
  { id: 'wh-1', type: 'warehouse', lat: 51.92, lon: 4.48 },
] as const;

export interface Api {
  status: number;
  json: any;
  type: string;
}

export function api(s: RunningService, method: string, url: string, body?: unknown, headers: Record<string, string> = OPS): Promise<Api> {
  return apiAt(String(s.url), method, url, body, headers);
}

/** `api` against a service by its base URL (one running as a child process). */
export async function apiAt(base: string, method: string, url: string, body?: unknown, headers: Record<string, string> = OPS): Promise<Api> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, type: res.headers.get('content-type') ?? '' };
}

export async function startWith(d: Deployment, opts: { driftCron?: string | null } = {}): Promise<RunningService> {
  return startService({ config: d.config(), roles: ['api', 'reconciler'], channelDriftCron: opts.driftCron ?? null, announce: () => {} });
}

export async function putLocations(s: RunningService): Promise<void> {
  for (const l of LOCATIONS) {
    const r = await api(s, 'PUT', `/v1/locations/${l.id}`, { name: l.id, type: l.type, lat: l.lat, lon: l.lon, shipFromStore: true, pickup: true });
    expect([200, 201], JSON.stringify(r.json)).toContain(r.status);
  }
}

let eventSeq = 0;
export function eventId(prefix = 'e'): string {
  eventSeq += 1;
  return `${prefix}-${process.pid}-${Date.now()}-${eventSeq}`;
}

export async function postEvents(s: RunningService, events: unknown[], wait = true): Promise<Api> {
  const r = await api(s, 'POST', `/v1/events${wait ? '?wait=true' : ''}`, { events });
  expect(r.status, JSON.stringify(r.json)).toBe(202);
  return r;
}

export function counted(sku: string, locationId: string, quantity: number, at = new Date().toISOString()) {
  return { eventId: eventId('count'), type: 'stock.counted', sku, locationId, quantity, occurredAt: at, source: 'test' };
}

export function sold(sku: string, locationId: string, quantity: number) {
  return { eventId: eventId('sale'), type: 'stock.sold', sku, locationId, quantity, occurredAt: new Date().toISOString(), source: 'pos' };
}

export async function startStandin(o: Partial<StandinOptions> = {}): Promise<CustomChannelStandin> {
  const st = new CustomChannelStandin({ secret: SECRET, ...o });
  await st.start();
  return st;
}

export function customChannel(standin: CustomChannelStandin, extra: Record<string, unknown> = {}, settings: Record<string, unknown> = {}) {
  return {
    kind: 'custom', pool: ['ams-01', 'utr-02', 'wh-1'], bufferUnits: 0,
    settings: { endpoint: standin.url, secret: SECRET, ratePerSecond: 1000, burst: 1000, ...settings },
    ...extra,
  };
}

export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** PUT /v1/channels/{id} body of an `amazon` channel on the SP-API stand-in (rates sped up 100×), pool = fulfilment locations. */
export function amazonChannel(amz: AmazonStandIn, locationIds: string[], bufferUnits = 0) {
  return {
    kind: 'amazon', pool: locationIds, bufferUnits,
    settings: amz.channelSettings(locationIds, { rateScale: 100 }),
  };
}
