// One active channel in this process: its connector, its token bucket and its push loop, plus
// what GET /v1/channels/{id}/status shows that is not in the database (recent errors, throttle).
import type { Logger } from 'pino';
import type { ChannelConnector, PushItem, PushOutcome, StockPublisher } from '../../connectors/channel-connector.js';
import type { Database } from '../db/database.js';
import { backoffMs } from './channel-figures.js';
import type { ChannelMetrics } from './channel-metrics.js';
import { abandonSubmissions, claimInterruptedPushes, claimSubmission, forgetPushIntents, resolveInterruptedPushes, countDue, extendSubmission, idempotencyKey, leaseDue, nextDueInMs, releaseLeases, settle, type OutboxRow, type Settlement } from './outbox.js';
import { TokenBucket, type BucketLimits } from './token-bucket.js';

export interface ChannelError {
  at: string;
  sku: string | null;
  message: string;
  retryable: boolean;
}

const MAX_ERRORS = 50;
/** A push call's deadline, and a lease outliving it: rows leased by a process that died are due again after LEASE_MS. */
const PUSH_TIMEOUT_MS = 10_000;
const LEASE_MS = 15_000;
/** Longest the loop sleeps with nothing due; a wake() cuts it short. */
const IDLE_POLL_MS = 1_000;
/** CAS-stale retries go at once this many times, then back off like any retryable failure. */
const STALE_FAST_RETRIES = 3;
/** A poll call's deadline; a claimed submission is polled by nobody else meanwhile. */
const POLL_TIMEOUT_MS = 15_000;
const POLL_CLAIM_MS = 20_000;
/** First poll of a submission when the publisher names no time. */
const DEFAULT_POLL_MS = 1_000;
/** How long a process looking for unknown submissions holds the interrupted rows. */
const INTERRUPTED_CLAIM_MS = 20_000;
/** Most due rows counted for `batchSize` (a feed carries at most 25,000). */
const DUE_COUNT_CAP = 25_000;

export interface RunnerOptions {
  db: Database;
  channelId: string;
  connector: ChannelConnector;
  limits: BucketLimits;
  metrics: ChannelMetrics;
  logger: Logger;
  now?: () => number;
  /** Every error reported, to be kept beyond this process (channel-errors.ts). */
  onError?: (e: ChannelError) => void;
}

export class ChannelRunner {
  readonly bucket: TokenBucket;
  readonly errors: ChannelError[] = [];
  lastPushAt: string | null = null;
  lastPullAt: string | null = null;
  drift: { checkedAt: string | null; items: number; units: number } = { checkedAt: null, items: 0, units: 0 };
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private readonly abort = new AbortController();
  private readonly now: () => number;

  constructor(private readonly o: RunnerOptions) {
    this.now = o.now ?? Date.now;
    this.bucket = new TokenBucket(o.limits, this.now());
  }

  get channelId(): string {
    return this.o.channelId;
  }

  get connector(): ChannelConnector {
    return this.o.connector;
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  reportError(e: { sku?: string | undefined; message: string; retryable: boolean }): void {
    const entry = { at: new Date(this.now()).toISOString(), sku: e.sku ?? null, message: e.message, retryable: e.retryable };
    this.errors.unshift(entry);
    if (this.errors.length > MAX_ERRORS) this.errors.length = MAX_ERRORS;
    this.o.onError?.(entry);
  }

  async start(): Promise<void> {
    await this.o.connector.start?.();
    this.running = true;
    const publisher = this.o.connector.publisher;
    if (publisher && !publisher.poll) await this.abandonSubmissions();
    if (publisher && !publisher.awaitUnknownSubmissions) await forgetPushIntents(this.o.db, this.o.channelId);
    if (publisher) this.loop = this.run(publisher);
  }

  /**
   * Submissions left by a connector that could poll them (the channel's kind or settings changed
   * since) cannot be followed by this one: their figures go again as ordinary pushes.
   */
  private async abandonSubmissions(): Promise<void> {
    const n = await abandonSubmissions(this.o.db, this.o.channelId);
    if (n > 0) this.reportError({ message: `${n} items of submissions this connector cannot poll are pushed again`, retryable: true });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    this.wake();
    await this.loop;
    await this.o.connector.stop?.();
  }

  /** Something may be due: look now rather than at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Waits for tokens; answers false if stopping. */
  async takeTokens(cost: number): Promise<boolean> {
    let waited = false;
    for (;;) {
      if (!this.running) return false;
      const wait = this.bucket.take(cost, this.now());
      if (wait === 0) return true;
      if (!waited) this.o.metrics.throttledWaits.inc({ channel: this.o.channelId });
      waited = true;
      await this.sleep(wait, false);
    }
  }

  private sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        if (wakeable && this.wakeUp === done) this.wakeUp = null;
        this.abort.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, Math.max(0, ms));
      if (wakeable) this.wakeUp = done;
      this.abort.signal.addEventListener('abort', done, { once: true });
    });
  }

  private async run(publisher: StockPublisher): Promise<void> {
    while (this.running) {
      this.woken = false;
      let pushed = 0;
      try {
        if (publisher.awaitUnknownSubmissions) pushed += await this.recoverInterrupted(publisher);
        pushed += await this.pushOnce(publisher);
        if (publisher.poll) pushed += await this.pollOnce(publisher);
      } catch (err) {
        this.reportError({ message: `push loop: ${(err as Error).message}`, retryable: true });
        this.o.logger.warn({ err, channel: this.o.channelId }, 'channel push loop failed; retrying');
        await this.sleep(1_000, true);
        continue;
      }
      if (pushed > 0 || this.woken || !this.running) continue;
      let wait = IDLE_POLL_MS;
      try {
        const due = await nextDueInMs(this.o.db, this.o.channelId);
        if (due !== null) wait = Math.min(wait, Math.max(5, due));
      } catch {
        // the database is away: poll again later
      }
      if (!this.woken) await this.sleep(wait, true);
    }
  }

  private pushItem(r: OutboxRow): PushItem {
    return {
      sku: r.sku, channelLocation: r.channelLocation === '' ? null : r.channelLocation, quantity: r.quantity,
      expected: r.ackedQuantity, idempotencyKey: idempotencyKey(this.o.channelId, r, r.ackedQuantity),
    };
  }

  /** Leases one call's worth of due rows, pushes them within the rate limit, settles them. */
  async pushOnce(publisher: StockPublisher): Promise<number> {
    const size = publisher.batchSize
      ? Math.max(1, Math.min(publisher.maxItemsPerCall, publisher.batchSize(await countDue(this.o.db, this.o.channelId, DUE_COUNT_CAP))))
      : publisher.maxItemsPerCall;
    const rows = await leaseDue(this.o.db, this.o.channelId, size, LEASE_MS, publisher.awaitUnknownSubmissions !== undefined);
    if (rows.length === 0) return 0;
    if (!(await this.takeTokens(publisher.cost(rows.length)))) {
      await releaseLeases(this.o.db, this.o.channelId, rows);
      return 0;
    }
    const items = rows.map((r) => this.pushItem(r));
    let results: Settlement[];
    try {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(PUSH_TIMEOUT_MS)]);
      const answer = await publisher.push(items, signal);
      if (answer.retryAfterMs !== undefined && answer.retryAfterMs > 0) {
        this.bucket.pauseUntil(this.now() + answer.retryAfterMs, this.now());
        this.o.metrics.throttledWaits.inc({ channel: this.o.channelId });
      }
      results = rows.map((row, i) => this.settlementOf(row, answer.outcomes[i], publisher, i));
    } catch (err) {
      const message = `push failed: ${(err as Error).message}`;
      this.reportError({ message, retryable: true });
      results = rows.map((row) => ({ kind: 'retry', row, error: message, delayMs: backoffMs(row.attempts) }));
    }
    await this.record(results);
    return results.filter((r) => r.kind !== 'deferred').length;
  }

  /**
   * Rows whose push was interrupted (the process died between leasing and settling them, or a
   * submission call's answer was lost) may be in a submission nobody knows. They are pushed again
   * only once the publisher says every submission created since their push began has finished:
   * otherwise such an orphan, carrying an older figure, could land after the newer push.
   * The window ends a push deadline plus a lease after the last intent: no process can create a
   * submission for these rows later than that.
   */
  async recoverInterrupted(publisher: StockPublisher): Promise<number> {
    const claimed = await claimInterruptedPushes(this.o.db, this.o.channelId, INTERRUPTED_CLAIM_MS);
    if (!claimed) return 0;
    const window = { since: claimed.since, until: new Date(claimed.until.getTime() + PUSH_TIMEOUT_MS + LEASE_MS) };
    try {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(POLL_TIMEOUT_MS)]);
      const answer = await publisher.awaitUnknownSubmissions!(window, signal);
      await resolveInterruptedPushes(this.o.db, this.o.channelId, claimed, answer.settled, answer.settled ? 0 : answer.pollInMs);
      return answer.settled ? claimed.keys.length : 0;
    } catch (err) {
      if (this.abort.signal.aborted) return 0; // stopping: the claim lapses and the next process looks
      this.reportError({ message: `looking for unknown submissions failed: ${(err as Error).message}`, retryable: true });
      await resolveInterruptedPushes(this.o.db, this.o.channelId, claimed, false, backoffMs(3));
      return 0;
    }
  }

  /**
   * Polls one submission that is due (a feed a push answered `pending` for, also one left by a
   * process that died) and settles its rows from the result, or moves its next poll.
   */
  async pollOnce(publisher: StockPublisher): Promise<number> {
    const sub = await claimSubmission(this.o.db, this.o.channelId, POLL_CLAIM_MS);
    if (!sub) return 0;
    try {
      const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(POLL_TIMEOUT_MS)]);
      const answer = await publisher.poll!({ id: sub.id, items: sub.rows.map((r) => this.pushItem(r)) }, signal);
      if (answer.pending) {
        await extendSubmission(this.o.db, this.o.channelId, sub.id, Math.max(0, answer.pollInMs));
        return 0;
      }
      await this.record(sub.rows.map((row, i) => this.settlementOf(row, answer.outcomes[i], publisher, i)));
      return sub.rows.length;
    } catch (err) {
      if (this.abort.signal.aborted) return 0; // stopping: the claim lapses and the next process polls it
      this.reportError({ message: `poll of submission ${sub.id} failed: ${(err as Error).message}`, retryable: true });
      await extendSubmission(this.o.db, this.o.channelId, sub.id, backoffMs(3));
      return 0;
    }
  }

  private async record(results: Settlement[]): Promise<void> {
    await settle(this.o.db, this.o.channelId, results);
    const ok = results.filter((r) => r.kind === 'ok').length;
    if (ok > 0) {
      this.lastPushAt = new Date(this.now()).toISOString();
      this.o.metrics.pushes.inc({ channel: this.o.channelId }, ok);
    }
    for (const r of results) {
      if (r.kind !== 'ok' && r.kind !== 'submitted' && r.kind !== 'deferred') this.o.metrics.pushFailures.inc({ channel: this.o.channelId, kind: r.kind });
    }
  }

  private settlementOf(row: OutboxRow, outcome: PushOutcome | undefined, publisher: StockPublisher, index: number): Settlement {
    if (!outcome) return { kind: 'retry', row, error: 'no outcome for this item', delayMs: backoffMs(row.attempts) };
    if (outcome.ok === 'deferred') return { kind: 'deferred', row };
    if (outcome.ok === 'pending') {
      if (!publisher.poll) return { kind: 'retry', row, error: 'the publisher answered pending but cannot be polled', delayMs: backoffMs(row.attempts) };
      return { kind: 'submitted', row, submissionId: outcome.submissionId, index, pollInMs: outcome.pollInMs ?? DEFAULT_POLL_MS };
    }
    if (outcome.ok) return { kind: 'ok', row };
    if (outcome.actual !== undefined) {
      // The channel already shows our figure: that is an acknowledgement.
      if (outcome.actual === row.quantity) return { kind: 'ok', row };
      if (row.attempts < STALE_FAST_RETRIES) return { kind: 'stale', row, actual: outcome.actual, error: outcome.error, delayMs: 0 };
      this.reportError({ sku: row.sku, message: outcome.error, retryable: true });
      return { kind: 'stale', row, actual: outcome.actual, error: outcome.error, delayMs: backoffMs(row.attempts) };
    }
    if (outcome.notListed) return { kind: 'park', row, error: outcome.error || 'not listed on the channel' };
    this.reportError({ sku: row.sku, message: outcome.error, retryable: outcome.retryable });
    if (outcome.retryable) {
      const maybeSubmitted = outcome.maybeSubmitted === true && publisher.awaitUnknownSubmissions !== undefined;
      return { kind: 'retry', row, error: outcome.error, delayMs: backoffMs(row.attempts), ...(maybeSubmitted ? { maybeSubmitted } : {}) };
    }
    return { kind: 'park', row, error: outcome.error };
  }
}
