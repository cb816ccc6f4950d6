// What the SIGKILL tests of the channel engine share (test/*-crash.test.ts): child processes of
// `omnistock serve` that are reaped after the file, plain HTTP calls to them, and the outbox's
// pending rows read straight from the database.
import { afterAll, expect } from 'vitest';
import type { Sql } from '../../src/db/database.js';
import { LOCATIONS } from '../channels-harness.js';
import { OPS } from '../spine/deployments.js';
import { killAllServices, spawnService, type ServiceProcess } from './service-process.js';

/** Cleanups run (newest first) after every test of the file, once the children are killed. */
export function crashCleanups(): Array<() => Promise<void>> {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    await killAllServices();
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });
  return cleanups;
}

export async function call(base: string, method: string, url: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}${url}`, { method, headers: { ...OPS, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const URL_LINE = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/;

/** `omnistock serve` in a child process, once it listens: the process and its base URL. */
export async function serve(env: Record<string, string>): Promise<{ proc: ServiceProcess; base: string }> {
  const proc = spawnService(['serve'], env);
  const base = URL_LINE.exec(await proc.waitFor(URL_LINE, 60_000))![1]!;
  return { proc, base };
}

/** The harness's locations (test/channels-harness.ts), over HTTP. */
export async function putLocationsAt(base: string): Promise<void> {
  for (const l of LOCATIONS) expect((await call(base, 'PUT', `/v1/locations/${l.id}`, { name: l.id, type: l.type, lat: l.lat, lon: l.lon, shipFromStore: true })).status).toBeLessThan(300);
}

/** Outbox rows of the channel whose newest figure the channel has not acknowledged. */
export async function pendingPushes(db: Sql, channelId: string): Promise<number> {
  return (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM channel_outbox WHERE channel_id = $1 AND version > acked_version', [channelId])).at(0)!.n;
}
