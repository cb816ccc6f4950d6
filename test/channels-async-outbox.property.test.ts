// Asynchronous pushes (a publisher that answers `pending`, as Amazon's feeds do) through the
// outbox on real PostgreSQL and on PGlite, property-tested: whatever the interleaving of new figures, pushes,
// polls, the channel processing its submissions (with retryable item errors), and crashes of
// the runner while submissions are pending or between the channel creating a submission and
// the engine storing its id (an orphan the engine never learns of), once drained the channel shows the latest figure of
// every item; it never shows an older figure after a newer one; every submission is applied at
// most once; and no item is pushed again while a submission holding it has not been settled
// (an orphan: processed).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushItem, PushOutcome, StockPublisher, SubmissionAnswer } from '../connectors/channel-connector.js';
import { enqueueFigures, leaseDue, outboxSummary } from '../src/channels/outbox.js';
import { waitUntil } from './channels-harness.js';
import { startBareRunner } from './support/channel-runner.js';
import { openTestDb, type TestDatabase } from './support/test-database.js';

interface ModelSubmission {
  items: PushItem[];
  processed: boolean;
  applied: number;
  /** Item errors decided when processed (retryable). */
  errors: Set<number>;
  /** The engine has had the final outcomes. */
  reported: boolean;
  /** Created, but its id never reached the engine (the process died first). */
  orphan: boolean;
}

/** A channel that takes every push as one asynchronous submission, processed when told. */
class FeedChannel implements StockPublisher {
  readonly maxItemsPerCall = 2;
  readonly shown = new Map<string, number>();
  readonly history = new Map<string, number[]>();
  readonly submissions = new Map<string, ModelSubmission>();
  readonly violations: string[] = [];
  failNextItems = new Set<string>();
  private seq = 0;

  cost(): number {
    return 1;
  }

  async push(items: readonly PushItem[]): Promise<{ outcomes: PushOutcome[] }> {
    for (const it of items) {
      for (const [id, s] of this.submissions) {
        const open = s.orphan ? !s.processed : !s.reported;
        if (open && s.items.some((x) => x.sku === it.sku)) this.violations.push(`${it.sku} pushed again while ${id} was unsettled`);
      }
    }
    const id = `F-${++this.seq}`;
    this.submissions.set(id, { items: [...items], processed: false, applied: 0, errors: new Set(), reported: false, orphan: false });
    return { outcomes: items.map(() => ({ ok: 'pending', submissionId: id, pollInMs: 0 })) };
  }

  /** The channel processes every queued submission, in the order they were created. */
  process(): void {
    for (const s of this.submissions.values()) {
      if (s.processed) continue;
      s.processed = true;
      s.applied += 1;
      s.items.forEach((it, i) => {
        if (this.failNextItems.delete(it.sku)) {
          s.errors.add(i);
          return;
        }
        this.shown.set(it.sku, it.quantity);
        this.history.set(it.sku, [...(this.history.get(it.sku) ?? []), it.quantity]);
      });
    }
  }

  async poll(sub: { id: string; items: readonly PushItem[] }): Promise<SubmissionAnswer> {
    const s = this.submissions.get(sub.id);
    if (!s) throw new Error(`unknown submission ${sub.id}`);
    expect(sub.items.map((i) => [i.sku, i.quantity])).toEqual(s.items.map((i) => [i.sku, i.quantity]));
    if (!s.processed) return { pending: true, pollInMs: 0 };
    s.reported = true;
    return { pending: false, outcomes: s.items.map((_, i) => (s.errors.has(i) ? { ok: false, error: '4000000 An internal error has occurred. Please try again.', retryable: true } : { ok: true })) };
  }

  /** Conservative (every submission, whatever its creation time): settled once all are processed. */
  async awaitUnknownSubmissions(): Promise<{ settled: true } | { settled: false; pollInMs: number }> {
    return [...this.submissions.values()].every((s) => s.processed) ? { settled: true } : { settled: false, pollInMs: 0 };
  }

  async readBack(keys: ReadonlyArray<{ sku: string }>): Promise<Array<number | null>> {
    return keys.map((k) => this.shown.get(k.sku) ?? null);
  }
}

type Op =
  | { t: 'set'; key: number; v: number }
  | { t: 'push' }
  | { t: 'poll' }
  | { t: 'process' }
  | { t: 'itemError'; key: number }
  | { t: 'crash' }
  | { t: 'crashAfterSubmit' }
  | { t: 'recover' };

const key = fc.integer({ min: 0, max: 3 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('set' as const), key, v: fc.integer({ min: 0, max: 40 }) }),
  fc.constant({ t: 'push' as const }),
  fc.constant({ t: 'poll' as const }),
  fc.constant({ t: 'process' as const }),
  fc.record({ t: fc.constant('itemError' as const), key }),
  fc.constant({ t: 'crash' as const }),
  fc.constant({ t: 'crashAfterSubmit' as const }),
  fc.constant({ t: 'recover' as const }),
);

let t: TestDatabase;
let run = 0;
const runner = (channelId: string) => startBareRunner(t.db, channelId);

/** Time passes: backoffs and poll times are due now (a crashed runner's claims too, when `leases`). */
async function dueNow(channelId: string, leases: boolean) {
  await t.db.query(`UPDATE channel_outbox SET not_before = now() ${leases ? ', leased_until = NULL' : ''} WHERE channel_id = $1`, [channelId]);
  if (!leases) await t.db.query("UPDATE channel_outbox SET leased_until = now() - interval '1 millisecond' WHERE channel_id = $1 AND submission IS NOT NULL", [channelId]);
}

// Both databases the engine runs on: the outbox's statements are the same SQL on each.
describe.each(['pg', 'pglite'] as const)('channel outbox with asynchronous submissions (%s)', (kind) => {
  beforeAll(async () => {
    t = await openTestDb(kind);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('converges to the latest figures, in order, each submission applied once, none resent while unsettled', async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
      const channelId = `async-${++run}`;
      const channel = new FeedChannel();
      let r = await runner(channelId);
      let seq = 0;
      const latest = new Map<string, number>();
      for (const o of ops) {
        if (o.t === 'set') {
          const q = o.v * 1000 + ++seq;
          latest.set(`S-${o.key}`, q);
          await enqueueFigures(t.db, channelId, [{ sku: `S-${o.key}`, channelLocation: '', quantity: q }], 0);
        } else if (o.t === 'push') await r.pushOnce(channel);
        else if (o.t === 'poll') {
          await dueNow(channelId, false);
          await r.pollOnce(channel);
        } else if (o.t === 'process') channel.process();
        else if (o.t === 'itemError') channel.failNextItems.add(`S-${o.key}`);
        else if (o.t === 'recover') await r.recoverInterrupted(channel);
        else if (o.t === 'crashAfterSubmit') {
          // A push leases rows (with the push intent, as the runner does for this publisher), the
          // channel creates the submission, and the process dies before storing its id; its lease lapses.
          const rows = await leaseDue(t.db, channelId, channel.maxItemsPerCall, 15_000, true);
          if (rows.length > 0) {
            await channel.push(rows.map((x) => ({ sku: x.sku, channelLocation: null, quantity: x.quantity, expected: x.ackedQuantity, idempotencyKey: `k${x.version}` })));
            [...channel.submissions.values()].at(-1)!.orphan = true;
          }
          await r.stop();
          await t.db.query("UPDATE channel_outbox SET leased_until = now() - interval '1 millisecond' WHERE channel_id = $1 AND push_intent_at IS NOT NULL", [channelId]);
          r = await runner(channelId);
        } else {
          // The process dies: whatever it had submitted stays in the outbox for the next one.
          await r.stop();
          r = await runner(channelId);
        }
      }
      channel.failNextItems.clear();
      for (let i = 0; i < 300; i++) {
        await dueNow(channelId, true);
        channel.process();
        const moved = (await r.recoverInterrupted(channel)) + (await r.pollOnce(channel)) + (await r.pushOnce(channel));
        if (moved === 0 && (await outboxSummary(t.db, channelId)).pending === 0) break;
      }
      await r.stop();
      expect(channel.violations).toEqual([]);
      expect((await outboxSummary(t.db, channelId)).pending).toBe(0);
      for (const [sku, q] of latest) expect(channel.shown.get(sku), sku).toBe(q);
      for (const [sku, figures] of channel.history) {
        const seqs = figures.map((f) => f % 1000);
        expect(seqs, `${sku} applied ${figures.join(', ')}`).toEqual([...seqs].sort((a, b) => a - b));
      }
      for (const [id, s] of channel.submissions) expect(s.applied, id).toBeLessThanOrEqual(1);
    }), { numRuns: 100 });
  }, 180_000);

  it('keeps the submission on its rows across a restart and settles it from the first poll that sees it done', async () => {
    const channel = new FeedChannel();
    await enqueueFigures(t.db, 'resume', [{ sku: 'A', channelLocation: '', quantity: 3 }, { sku: 'B', channelLocation: '', quantity: 4 }], 0);
    const first = await runner('resume');
    expect(await first.pushOnce(channel)).toBe(2);
    await first.stop();
    const rows = await t.db.query<{ submission: string; submitted_quantity: number }>("SELECT submission, submitted_quantity FROM channel_outbox WHERE channel_id = 'resume' ORDER BY sku");
    expect(rows).toEqual([{ submission: 'F-1', submitted_quantity: 3 }, { submission: 'F-1', submitted_quantity: 4 }]);
    // A newer figure for A while the feed is out: it waits for the feed rather than overtaking it.
    await enqueueFigures(t.db, 'resume', [{ sku: 'A', channelLocation: '', quantity: 1 }], 0);
    const second = await runner('resume');
    expect(await second.pushOnce(channel)).toBe(0);
    await dueNow('resume', false);
    expect(await second.pollOnce(channel)).toBe(0); // not processed yet: still pending
    channel.process();
    await dueNow('resume', false);
    expect(await second.pollOnce(channel)).toBe(2);
    expect(await second.pushOnce(channel)).toBe(1); // now A's newer figure
    channel.process();
    await dueNow('resume', false);
    expect(await second.pollOnce(channel)).toBe(1);
    await second.stop();
    expect([channel.shown.get('A'), channel.shown.get('B')]).toEqual([1, 4]);
    expect(channel.history.get('A')).toEqual([3, 1]);
    expect((await outboxSummary(t.db, 'resume')).pending).toBe(0);
    expect(channel.violations).toEqual([]);
  });

  it('a submission call whose answer was lost (maybe submitted) is not pushed again until unknown submissions have finished', async () => {
    const channel = new FeedChannel();
    const lost: StockPublisher = {
      maxItemsPerCall: 2, cost: () => 1,
      // The channel takes the submission, but the answer never comes back (a timeout after createFeed).
      push: async (items) => {
        await channel.push(items);
        [...channel.submissions.values()].at(-1)!.orphan = true;
        return { outcomes: items.map(() => ({ ok: false as const, error: 'createFeed did not answer', retryable: true, maybeSubmitted: true })) };
      },
      awaitUnknownSubmissions: () => channel.awaitUnknownSubmissions(),
      readBack: (keys) => channel.readBack(keys),
    };
    await enqueueFigures(t.db, 'lost', [{ sku: 'A', channelLocation: '', quantity: 5 }], 0);
    const r = await runner('lost');
    expect(await r.pushOnce(lost)).toBe(1);
    await enqueueFigures(t.db, 'lost', [{ sku: 'A', channelLocation: '', quantity: 2 }], 0);
    await dueNow('lost', true);
    expect(await r.pushOnce(channel)).toBe(0); // the row waits for the unknown submission
    expect(await r.recoverInterrupted(channel)).toBe(0); // still queued on the channel
    channel.process();
    await dueNow('lost', true);
    expect(await r.recoverInterrupted(channel)).toBe(1);
    expect(await r.pushOnce(channel)).toBe(1);
    channel.process();
    await dueNow('lost', false);
    expect(await r.pollOnce(channel)).toBe(1);
    await r.stop();
    expect(channel.history.get('A')).toEqual([5, 2]);
    expect(channel.violations).toEqual([]);
    expect((await outboxSummary(t.db, 'lost')).pending).toBe(0);
  });

  it('a connector that cannot poll (the kind changed) pushes the figures of stored submissions again', async () => {
    const feeds = new FeedChannel();
    await enqueueFigures(t.db, 'orphan', [{ sku: 'A', channelLocation: '', quantity: 7 }], 0);
    const first = await runner('orphan');
    expect(await first.pushOnce(feeds)).toBe(1);
    await first.stop();
    const shown = new Map<string, number>();
    const direct: StockPublisher = {
      maxItemsPerCall: 10, cost: () => 1,
      push: async (items) => ({ outcomes: items.map((i) => { shown.set(i.sku, i.quantity); return { ok: true as const }; }) }),
      readBack: async (keys) => keys.map((k) => shown.get(k.sku) ?? null),
    };
    const second = await startBareRunner(t.db, 'orphan', direct);
    await waitUntil(async () => (await outboxSummary(t.db, 'orphan')).pending === 0, 10_000, 'pushed again');
    await second.stop();
    expect(shown.get('A')).toBe(7);
    expect(second.errors.map((e) => e.message)).toContainEqual(expect.stringContaining('cannot poll'));
  });
});
