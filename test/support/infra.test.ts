// The test infrastructure itself: the mock Kafka broker (and its fault injection) and the
// per-file PostgreSQL / PGlite databases.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import pg from 'pg';
import { createPgliteTestDir, createPgTestDatabase, pgAdminUrl, templateDatabase, withAdminClient } from './databases.js';
import { kafkaBrokersForTests, startMockKafka, type MockKafka } from './kafka-broker.js';

const quiet = { logLevel: logLevel.NOTHING } as const;

describe('mock Kafka broker', () => {
  let mock: MockKafka;

  beforeAll(async () => {
    mock = await startMockKafka({ topics: [{ name: 'infra.roundtrip', partitions: 3 }, { name: 'infra.faults', partitions: 1 }] });
  });
  afterAll(async () => {
    await mock?.stop();
  });

  it('prints its bootstrap servers as host:port', () => {
    expect(mock.brokers).toHaveLength(1);
    expect(mock.brokers[0]).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('takes a produce and serves it to a consumer group', async () => {
    const kafka = new Kafka({ clientId: 'infra-test', brokers: mock.brokers, ...quiet });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const sent = Array.from({ length: 10 }, (_, i) => ({ key: `sku-${i}`, value: JSON.stringify({ n: i }) }));
    await producer.send({ topic: 'infra.roundtrip', acks: -1, messages: sent });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: 'infra-test-group', sessionTimeout: 10_000, heartbeatInterval: 500 });
    const got: Array<{ key: string; value: string; partition: number }> = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: 'infra.roundtrip', fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`consumed ${got.length} of ${sent.length}`)), 30_000);
        consumer
          .run({
            eachMessage: async ({ partition, message }) => {
              got.push({ key: message.key?.toString() ?? '', value: message.value?.toString() ?? '', partition });
              if (got.length === sent.length) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    expect(got.map((m) => m.key).sort()).toEqual(sent.map((m) => m.key).sort());
    expect(got.find((m) => m.key === 'sku-7')?.value).toBe('{"n":7}');
    // Same key, same partition: keyed partitioning works across the 3 partitions.
    expect(new Set(got.map((m) => m.partition)).size).toBeGreaterThan(1);
  });

  it('pre-creates the topics it was given and the ones created by command', async () => {
    await mock.command('topic infra.created 5');
    const admin = new Kafka({ clientId: 'infra-admin', brokers: mock.brokers, ...quiet }).admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: ['infra.roundtrip', 'infra.created'] });
      const counts = Object.fromEntries(meta.topics.map((t) => [t.name, t.partitions.length]));
      expect(counts).toEqual({ 'infra.roundtrip': 3, 'infra.created': 5 });
    } finally {
      await admin.disconnect();
    }
  });

  describe('fault injection', () => {
    let producer: Producer;
    const send = (value: string) => producer.send({ topic: 'infra.faults', acks: -1, messages: [{ value }] });

    beforeAll(async () => {
      const kafka = new Kafka({
        clientId: 'infra-faults',
        brokers: mock.brokers,
        connectionTimeout: 500,
        requestTimeout: 1_000,
        retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 },
        ...quiet,
      });
      producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 } });
      await producer.connect();
      await send('warm-up');
    });
    afterAll(async () => {
      await mock.command('up -1').catch(() => {});
      await producer?.disconnect();
    });

    it('down makes a produce fail and up makes it succeed again', async () => {
      await mock.command('down 1');
      await expect(send('while down')).rejects.toThrow();
      await mock.command('up 1');
      // The client reconnects on its own; give it a few attempts.
      await eventually(() => send('after up'));
    });

    it('errors fails the next N requests of an API with the given code', async () => {
      // INVALID_REQUIRED_ACKS (21) is not retriable: the very next produce fails with it.
      await mock.command('errors 0 1 21');
      await expect(send('rejected')).rejects.toThrow(/acks/i);
      await expect(send('accepted')).resolves.toBeDefined();
    });

    it('rtt adds latency to every request', async () => {
      await mock.command('rtt 1 400');
      try {
        const t0 = Date.now();
        await send('slow');
        expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
      } finally {
        await mock.command('rtt 1 0');
      }
    });

    it('rejects bad commands with the broker message', async () => {
      await expect(mock.command('down 42')).rejects.toThrow(/down 42.*Broker not available/);
      await expect(mock.command('bogus')).rejects.toThrow(/unknown command/);
      await expect(mock.command('topic x')).rejects.toThrow(/usage/);
      await expect(mock.command('ping')).resolves.toBeUndefined();
    });
  });

  it('runs several brokers and stops when asked', async () => {
    const three = await startMockKafka({ brokers: 3 });
    expect(three.brokers).toHaveLength(3);
    await three.command('down 2');
    await three.command('up 2');
    await three.stop();
    await three.stop(); // idempotent
    await expect(three.command('ping')).rejects.toThrow(/not running/);
  });
});

describe('shared Kafka for the run', () => {
  it('is provided by global setup (or KAFKA_BROKERS) and answers metadata requests', async () => {
    const brokers = kafkaBrokersForTests();
    expect(brokers.length).toBeGreaterThan(0);
    const admin = new Kafka({ clientId: 'infra-shared', brokers, ...quiet }).admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers.length).toBeGreaterThan(0);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('test databases', () => {
  it('clones a migrated PostgreSQL database per caller and drops it', async () => {
    const a = await createPgTestDatabase();
    const b = await createPgTestDatabase();
    try {
      expect(a.url).not.toBe(b.url);
      for (const url of [a.url, b.url]) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          const { rows } = await client.query<{ table_name: string }>(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
          );
          const tables = rows.map((r) => r.table_name);
          expect(tables).toEqual(expect.arrayContaining(['positions', 'ledger_entries', 'processed_events']));
        } finally {
          await client.end();
        }
      }
      // Independent copies: a write to one is not seen by the other.
      const ca = new pg.Client({ connectionString: a.url });
      await ca.connect();
      await ca.query('CREATE TABLE only_in_a (x int)');
      await ca.end();
      const cb = new pg.Client({ connectionString: b.url });
      await cb.connect();
      const { rows } = await cb.query("SELECT to_regclass('only_in_a') AS t");
      await cb.end();
      expect(rows[0]?.t).toBeNull();
    } finally {
      await a.drop();
      await b.drop();
    }
    const names = await withAdminClient(async (c) => (await c.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((r) => r.datname));
    expect(names).toContain(templateDatabase());
    for (const db of [a, b]) expect(names).not.toContain(new URL(db.url).pathname.slice(1));
    expect(new URL(a.url).host).toBe(new URL(pgAdminUrl()).host);
  });

  it('drops a database even while a connection is still open', async () => {
    const d = await createPgTestDatabase();
    const client = new pg.Client({ connectionString: d.url });
    client.on('error', () => {});
    await client.connect();
    await d.drop();
    await d.drop(); // idempotent
    await client.end().catch(() => {});
  });

  it('makes and removes a PGlite temp dir', () => {
    const { dir, cleanup } = createPgliteTestDir();
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    fs.writeFileSync(`${dir}/x`, 'y');
    cleanup();
    expect(fs.existsSync(dir)).toBe(false);
  });
});

async function eventually<T>(fn: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
