// What the channel benches share: a throwaway database on the benchmark PostgreSQL, a mock Kafka
// broker with the bench topics, and the environment `omnistock serve` runs with against them.
import pg from 'pg';
import { startMockKafka, type MockKafka } from '../test/support/kafka-broker.js';

const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try { await c.query(sql); } finally { await c.end(); }
}

export interface BenchInfra {
  dbUrl: string;
  broker: MockKafka;
  /** The service's environment: this database and broker, bench topics, one token with every scope. */
  serviceEnv: Record<string, string>;
  /** Stops the broker and drops the database. */
  dispose(): Promise<void>;
}

export async function startBenchInfra(prefix: string, token: string): Promise<BenchInfra> {
  const name = `${prefix}_${process.pid}`;
  await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin(`CREATE DATABASE "${name}"`);
  const dbUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  const broker = await startMockKafka({ topics: [{ name: 'bench.events', partitions: 8 }, { name: 'bench.atp', partitions: 4 }] });
  return {
    dbUrl, broker,
    serviceEnv: {
      DATABASE_URL: dbUrl, KAFKA_BROKERS: broker.brokers.join(','), KAFKA_EVENTS_TOPIC: 'bench.events', KAFKA_ATP_TOPIC: 'bench.atp',
      RECONCILER_GROUP: 'bench-reconciler', API_TOKENS: `bench:${token}:events:write+stock:read+stock:write+reservations+routing+admin`, PORT: '0', LOG_LEVEL: 'info',
    },
    async dispose() {
      await broker.stop();
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
    },
  };
}
