// Fault tests of the channel engine on PostgreSQL:
// - SIGKILL with pushes pending and one in flight (the channel hangs): after a restart every
//   figure reaches the channel; none is lost (the outbox is in the database, leases expire).
// - The API role alone (reconciler in another process): the engine learns of changes only from
//   the `inventory.atp` stream, on Kafka and on the embedded log, and still converges.
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/open-database.js';
import { startService, type RunningService } from '../src/service/service.js';
import { pgEmbeddedLogDeployment, pgKafkaDeployment, type Deployment } from './spine/deployments.js';
import { call, crashCleanups, pendingPushes, putLocationsAt, serve } from './support/crash-harness.js';
import { counted, customChannel, sold, startStandin, waitUntil } from './channels-harness.js';
import type { CustomChannelStandin } from './support/custom-channel-standin.js';

const cleanups = crashCleanups();

async function setUp(base: string, standin: CustomChannelStandin, skus: string[]) {
  await putLocationsAt(base);
  expect((await call(base, 'PUT', '/v1/channels/web', customChannel(standin, { pool: ['ams-01', 'wh-1'] }, { maxItemsPerCall: 10 }))).status).toBe(201);
  const r = await call(base, 'POST', '/v1/events?wait=true', { events: skus.map((sku, i) => counted(sku, 'wh-1', 10 + i)) });
  expect(r.status).toBe(202);
}

describe('channel engine under faults', () => {
  it('SIGKILL with pushes pending and in flight loses none', async () => {
    const d = await pgKafkaDeployment();
    cleanups.push(d.cleanup);
    const standin = await startStandin();
    cleanups.push(() => standin.stop());
    standin.hang = true; // the first push call never answers: its rows stay leased
    const env = { ...d.env, PORT: '0', LOG_LEVEL: 'info' };
    const { proc: a, base } = await serve(env);
    const skus = Array.from({ length: 30 }, (_, i) => `CR-${i}`);
    await setUp(base, standin, skus);
    await waitUntil(() => standin.callTimes.length >= 1, 20_000, 'a push in flight');
    // More figures arrive while the channel hangs: a sale on top of the counts.
    expect((await call(base, 'POST', '/v1/events?wait=true', { events: [sold('CR-0', 'wh-1', 4), sold('CR-29', 'wh-1', 1)] })).status).toBe(202);
    const db = await openDatabase({ databaseUrl: d.env.DATABASE_URL! });
    cleanups.push(() => db.close());
    await waitUntil(async () => (await pendingPushes(db, 'web')) === 30, 20_000, '30 pending rows');
    const leased = (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM channel_outbox WHERE channel_id = 'web' AND leased_until > now()")).at(0)!.n;
    expect(leased).toBeGreaterThan(0);
    expect(await a.kill('SIGKILL')).toBeNull();
    expect(standin.pushes.length).toBe(0);

    standin.hang = false;
    const { proc: b } = await serve(env);
    const want = (i: number) => 10 + i - (i === 0 ? 4 : i === 29 ? 1 : 0);
    await waitUntil(() => skus.every((sku, i) => standin.show(sku, null) === want(i)), 40_000, 'every figure after the restart');
    await waitUntil(async () => (await pendingPushes(db, 'web')) === 0, 10_000, 'nothing pending');
    await b.kill('SIGTERM');
  }, 150_000);

  for (const make of [pgKafkaDeployment, pgEmbeddedLogDeployment]) {
    it(`the API role alone follows inventory.atp from the reconciler's process (${make.name})`, async () => {
      const d: Deployment = await make();
      cleanups.push(d.cleanup);
      const standin = await startStandin();
      cleanups.push(() => standin.stop());
      const reconciler: RunningService = await startService({ config: d.config(), roles: ['reconciler'], announce: () => {} });
      cleanups.push(() => reconciler.stop());
      const apiOnly: RunningService = await startService({ config: d.config(), roles: ['api'], channelDriftCron: null, announce: () => {} });
      cleanups.push(() => apiOnly.stop());
      await setUp(apiOnly.url!, standin, ['SPLIT-1', 'SPLIT-2']);
      await waitUntil(() => standin.show('SPLIT-1', null) === 10 && standin.show('SPLIT-2', null) === 11, 30_000, 'initial figures');
      expect((await call(apiOnly.url!, 'POST', '/v1/events', { events: [sold('SPLIT-2', 'wh-1', 5)] })).status).toBe(202);
      await waitUntil(() => standin.show('SPLIT-2', null) === 6, 30_000, 'the sale, learnt from inventory.atp');
    }, 120_000);
  }
});
