// The push outbox on real PostgreSQL, property-tested: whatever the interleaving of new figures,
// pushes, figures arriving while a push is in flight, failed calls and the channel changing on
// its own, once drained (and drift-checked) the channel shows the latest figure of every item, and no item ever
// shows a figure older than one it already showed (a stale higher value is never pushed after a
// newer lower one). Also: pending rows survive a new runner (the outbox is the only state).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushItem, PushOutcome, StockPublisher } from '../connectors/channel-connector.js';
import { checkDrift } from '../src/channels/drift-check.js';
import { enqueueFigures, outboxSummary } from '../src/channels/outbox.js';
import { startBareRunner } from './support/channel-runner.js';
import { openTestDb, type TestDatabase } from './support/test-database.js';

/** An in-memory channel with compare-and-set, as Shopify's changeFromQuantity behaves. */
class ModelChannel implements StockPublisher {
  readonly maxItemsPerCall = 2; // below the item count, so batches split and priorities matter
  readonly shown = new Map<string, number>();
  /** Per item, the figures our pushes set, in order. */
  readonly history = new Map<string, number[]>();
  midflight: (() => Promise<void>) | null = null;
  failNext = false;
  cost(): number {
    return 1;
  }
  async push(items: readonly PushItem[]): Promise<{ outcomes: PushOutcome[] }> {
    const during = this.midflight;
    this.midflight = null;
    if (during) await during();
    if (this.failNext) {
      this.failNext = false;
      return { outcomes: items.map(() => ({ ok: false, error: '503', retryable: true })) };
    }
    return {
      outcomes: items.map((i): PushOutcome => {
        const cur = this.shown.get(i.sku);
        if (i.expected !== null && cur !== undefined && cur !== i.expected) return { ok: false, error: 'stale', retryable: true, actual: cur };
        this.shown.set(i.sku, i.quantity);
        this.history.set(i.sku, [...(this.history.get(i.sku) ?? []), i.quantity]);
        return { ok: true };
      }),
    };
  }
  async readBack(keys: ReadonlyArray<{ sku: string }>): Promise<Array<number | null>> {
    return keys.map((k) => this.shown.get(k.sku) ?? null);
  }
}

type Op =
  | { t: 'set'; key: number; v: number }
  | { t: 'push' }
  | { t: 'pushWhileSet'; key: number; v: number }
  | { t: 'fail' }
  | { t: 'channelMoves'; key: number; v: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('set' as const), key: fc.integer({ min: 0, max: 2 }), v: fc.integer({ min: 0, max: 40 }) }),
  fc.constant({ t: 'push' as const }),
  fc.record({ t: fc.constant('pushWhileSet' as const), key: fc.integer({ min: 0, max: 2 }), v: fc.integer({ min: 0, max: 40 }) }),
  fc.constant({ t: 'fail' as const }),
  fc.record({ t: fc.constant('channelMoves' as const), key: fc.integer({ min: 0, max: 2 }), v: fc.integer({ min: 0, max: 40 }) }),
);

let t: TestDatabase;
let run = 0;

beforeAll(async () => {
  t = await openTestDb('pg');
});
afterAll(async () => {
  await t?.close();
});

const runner = (channelId: string) => startBareRunner(t.db, channelId);

describe('channel outbox', () => {
  it('ends with the latest figure everywhere and never shows an older figure after a newer one', async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
      const channelId = `prop-${++run}`;
      const channel = new ModelChannel();
      const r = await runner(channelId);
      // Each figure is unique per item (value × 1000 + its sequence number), so a figure seen
      // on the channel names exactly which update it came from.
      let seq = 0;
      const latest = new Map<string, number>();
      const set = async (key: number, v: number) => {
        const q = v * 1000 + ++seq;
        latest.set(`S-${key}`, q);
        await enqueueFigures(t.db, channelId, [{ sku: `S-${key}`, channelLocation: '', quantity: q }], 0);
      };
      for (const o of ops) {
        if (o.t === 'set') await set(o.key, o.v);
        else if (o.t === 'push') await r.pushOnce(channel);
        else if (o.t === 'pushWhileSet') {
          channel.midflight = () => set(o.key, o.v);
          await r.pushOnce(channel);
          channel.midflight = null;
        } else if (o.t === 'fail') channel.failNext = true;
        else channel.shown.set(`S-${o.key}`, o.v * 1000 + 999); // the channel changed on its own
      }
      channel.failNext = false;
      const drain = async () => {
        for (let i = 0; i < 200; i++) {
          await t.db.query('UPDATE channel_outbox SET not_before = now() WHERE channel_id = $1', [channelId]); // skip backoff waits
          if ((await r.pushOnce(channel)) === 0) break;
        }
      };
      await drain();
      // What the channel changed on its own after our last push is found by the drift check.
      await checkDrift(t.db, channelId, channel, { takeTokens: async () => true, signal: new AbortController().signal });
      await drain();
      await r.stop();
      expect((await outboxSummary(t.db, channelId)).pending).toBe(0);
      for (const [sku, q] of latest) expect(channel.shown.get(sku), sku).toBe(q);
      for (const [sku, figures] of channel.history) {
        const seqs = figures.map((f) => f % 1000);
        expect(seqs, `${sku} pushed ${figures.join(', ')}`).toEqual([...seqs].sort((a, b) => a - b));
      }
    }), { numRuns: 60 });
  }, 120_000);

  it('coalesces: many figures for one item before a push make one push of the latest', async () => {
    const channel = new ModelChannel();
    const r = await runner('coalesce');
    for (let q = 10; q >= 1; q--) await enqueueFigures(t.db, 'coalesce', [{ sku: 'A', channelLocation: '', quantity: q }], 0);
    expect(await r.pushOnce(channel)).toBe(1);
    expect(channel.history.get('A')).toEqual([1]);
    expect(await r.pushOnce(channel)).toBe(0);
    await r.stop();
  });

  it('pushes zero and low-stock crossings first', async () => {
    const channel = new ModelChannel();
    const r = await runner('prio');
    await enqueueFigures(t.db, 'prio', ['A', 'B', 'C', 'D'].map((sku) => ({ sku, channelLocation: '', quantity: 50 })), 5);
    while ((await r.pushOnce(channel)) > 0);
    await enqueueFigures(t.db, 'prio', [
      { sku: 'A', channelLocation: '', quantity: 40 }, { sku: 'B', channelLocation: '', quantity: 0 },
      { sku: 'C', channelLocation: '', quantity: 30 }, { sku: 'D', channelLocation: '', quantity: 4 },
    ], 5);
    await r.pushOnce(channel); // two per call: the zero and the crossing go first
    expect(channel.shown.get('B')).toBe(0);
    expect(channel.shown.get('D')).toBe(4);
    expect(channel.shown.get('A')).toBe(50);
    await r.stop();
  });

  it('pending figures outlive the runner that leased nothing yet, and a new runner pushes them', async () => {
    const channel = new ModelChannel();
    await enqueueFigures(t.db, 'restart', [{ sku: 'A', channelLocation: '', quantity: 3 }, { sku: 'B', channelLocation: '', quantity: 4 }], 0);
    const first = await runner('restart');
    await first.stop(); // gone before pushing anything
    expect((await outboxSummary(t.db, 'restart')).pending).toBe(2);
    const second = await runner('restart');
    while ((await second.pushOnce(channel)) > 0);
    await second.stop();
    expect([channel.shown.get('A'), channel.shown.get('B')]).toEqual([3, 4]);
  });
});
