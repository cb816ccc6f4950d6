// A channel runner with no connector of its own and no rate limit, for tests that drive its
// push and poll steps by hand against a model channel (pushOnce / pollOnce).
import pino from 'pino';
import { Registry } from 'prom-client';
import { createChannelMetrics } from '../../src/channels/channel-metrics.js';
import { ChannelRunner } from '../../src/channels/channel-runner.js';
import type { StockPublisher } from '../../connectors/channel-connector.js';
import type { Database } from '../../src/db/database.js';

/** `publisher`: given to the connector, so that `start` treats it as the channel's (its loop runs too). */
export async function startBareRunner(db: Database, channelId: string, publisher?: StockPublisher): Promise<ChannelRunner> {
  const r = new ChannelRunner({
    db, channelId, connector: { channelId, kind: 'custom', ...(publisher ? { publisher } : {}) }, limits: { ratePerSecond: 1e9, burst: 1e9 },
    metrics: createChannelMetrics(new Registry()), logger: pino({ level: 'silent' }),
  });
  await r.start();
  return r;
}
