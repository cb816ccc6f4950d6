// The `square` kind on the channel engine against the Square stand-in: a POS sale reaches
// Square as a PHYSICAL_COUNT per mapped location; a till sale in Square lands in the ledger via
// the signed inventory.count.updated webhook (the echo of our own push does not); redelivered
// webhooks change nothing; a bad signature is refused; "1.5" for a unit item is quarantined,
// never rounded. Run by square-channel-*.test.ts on each deployment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../src/service/service.js';
import type { Deployment } from './spine/deployments.js';
import { api, counted, postEvents, putLocations, sold, startWith, waitUntil } from './channels-harness.js';
import { SquareStandIn } from './standins/square/square-standin.js';

export function defineSquareChannelSuite(makeDeployment: () => Promise<Deployment>) {
  let d: Deployment;
  let s: RunningService;
  let sq: SquareStandIn;
  const onHand = async (sku: string, loc: string) => ((await api(s, 'GET', `/v1/availability/${sku}`)).json?.locations ?? []).find((l: { locationId: string }) => l.locationId === loc)?.onHand as number | undefined;

  beforeAll(async () => {
    d = await makeDeployment();
    s = await startWith(d);
    await putLocations(s);
    sq = await new SquareStandIn({ notificationUrl: `${s.url}/webhooks/square/sq` }).start();
    sq.addLocation('LOC-AMS');
    sq.addLocation('LOC-UTR');
    for (const [id, sku] of [['VAR-A', 'SQA-1'], ['VAR-B', 'SQA-2'], ['VAR-C', 'SQA-3']] as const) sq.addVariation(id, sku);
    await postEvents(s, [counted('SQA-1', 'ams-01', 10), counted('SQA-1', 'utr-02', 6), counted('SQA-2', 'ams-01', 8), counted('SQA-3', 'ams-01', 5)]);
    const put = await api(s, 'PUT', '/v1/channels/sq', {
      kind: 'square', pool: ['ams-01', 'utr-02'], bufferUnits: 0,
      settings: { accessToken: sq.accessToken, signatureKey: sq.signatureKey, notificationUrl: sq.notificationUrl, locationMap: { 'LOC-AMS': 'ams-01', 'LOC-UTR': 'utr-02' }, apiUrl: sq.url },
    });
    expect(put.status, JSON.stringify(put.json)).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await s?.stop();
    await sq?.stop();
    await d?.cleanup();
  });

  describe('square channel', () => {
    it('publishes per location, and a POS sale at the store reaches Square', async () => {
      await waitUntil(() => sq.quantity('VAR-A', 'LOC-AMS') === '10' && sq.quantity('VAR-A', 'LOC-UTR') === '6' && sq.quantity('VAR-B', 'LOC-AMS') === '8', 20_000, 'initial figures in Square');
      await postEvents(s, [sold('SQA-1', 'ams-01', 3)], false);
      await waitUntil(() => sq.quantity('VAR-A', 'LOC-AMS') === '7', 20_000, 'the sale reaches Square');
      expect(sq.quantity('VAR-A', 'LOC-UTR')).toBe('6');
      await sq.settled();
      // Our pushes come back as webhooks; their changes are our echo and change nothing here.
      await new Promise((r) => setTimeout(r, 300));
      expect(await onHand('SQA-1', 'ams-01')).toBe(7);
      expect(sq.violations).toEqual([]);
    });

    it('a till sale and a dashboard count in Square land in the ledger through the webhook; redeliveries change nothing', async () => {
      await waitUntil(() => sq.quantity('VAR-B', 'LOC-AMS') === '8', 20_000, 'SQA-2 pushed');
      await sq.settled();
      sq.duplicateNextWebhooks(1);
      sq.sell('VAR-B', 'LOC-AMS', '2');
      await sq.settled();
      await waitUntil(async () => (await onHand('SQA-2', 'ams-01')) === 6, 20_000, 'till sale in the ledger');
      const last = sq.deliveries[sq.deliveries.length - 1]!;
      await sq.redeliver(last.eventId);
      sq.count('VAR-C', 'LOC-AMS', '9');
      await sq.settled();
      await waitUntil(async () => (await onHand('SQA-3', 'ams-01')) === 9, 20_000, 'dashboard count in the ledger');
      await new Promise((r) => setTimeout(r, 300));
      expect(await onHand('SQA-2', 'ams-01')).toBe(6);
      expect(sq.deliveries.every((x) => x.status === 200)).toBe(true);
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toMatch(/omnistock_channel_webhooks_total\{channel="sq",outcome="duplicate"\} [1-9]/);
    });

    it('a late offline till sale lands as of its occurred_at: inside a later count', async () => {
      await waitUntil(() => sq.quantity('VAR-C', 'LOC-AMS') === '9', 20_000, 'SQA-3 figure');
      await postEvents(s, [counted('SQA-3', 'ams-01', 9, new Date(Date.now() - 60_000).toISOString())]);
      // Sold offline two minutes ago, before the count a minute ago: already inside it.
      sq.sell('VAR-C', 'LOC-AMS', '1', new Date(Date.now() - 120_000).toISOString());
      await sq.settled();
      await new Promise((r) => setTimeout(r, 500));
      expect(await onHand('SQA-3', 'ams-01')).toBe(9);
    });

    it('a bad signature is refused with 401 and changes nothing', async () => {
      const body = JSON.stringify({ merchant_id: sq.merchantId, type: 'inventory.count.updated', event_id: 'forged-1', created_at: new Date().toISOString(), data: { type: 'inventory_counts', id: 'x', object: { inventory_counts: [] } } });
      for (const sig of [sq.sign(body, 'https://elsewhere.example/hook'), 'AAAA', '']) {
        const res = await fetch(`${s.url}/webhooks/square/sq`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-square-hmacsha256-signature': sig } });
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
      }
      const status = await api(s, 'GET', '/v1/channels/sq/status');
      expect(JSON.stringify(status.json)).toContain('bad signature');
    });

    it('a fractional quantity for a unit item is quarantined with its reason, never rounded', async () => {
      await waitUntil(() => sq.quantity('VAR-A', 'LOC-UTR') === '6', 20_000, 'SQA-1 at UTR');
      const before = await onHand('SQA-1', 'utr-02');
      sq.sell('VAR-A', 'LOC-UTR', '1.5');
      await sq.settled();
      await waitUntil(async () => JSON.stringify((await api(s, 'GET', '/v1/channels/sq/quarantine')).json).includes('1.5\\" is not a whole number of units'), 20_000, 'quarantined');
      expect(await onHand('SQA-1', 'utr-02')).toBe(before);
      const status = await api(s, 'GET', '/v1/channels/sq/status');
      expect(status.json.quarantined).toBeGreaterThanOrEqual(1);
      // A pull re-reads the same change and quarantines it only once.
      expect((await api(s, 'POST', '/v1/channels/sq/sync')).status).toBe(202);
      await new Promise((r) => setTimeout(r, 1000));
      const q = JSON.stringify((await api(s, 'GET', '/v1/channels/sq/quarantine')).json);
      expect(q.split('1.5\\" is not a whole number of units').length - 1).toBe(1);
    });
  });
}
