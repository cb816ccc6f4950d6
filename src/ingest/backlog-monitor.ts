// Overload shedding for POST /v1/events (issue 17). The API can accept events several times
// faster than the reconcilers apply them; without a bound the backlog, and the time from 202 to
// applied, grow for as long as clients post. This monitor reads the consumer group's backlog
// once a second (the log's high watermarks against the offsets stored with the ledger) and says
// when to shed: past EVENT_BACKLOG_LIMIT messages, or past EVENT_LAG_LIMIT_SECONDS of estimated
// drain time at the apply rate of the last 30 s. Shedding refuses new batches with 429 and
// Retry-After; it never drops anything already accepted.
import type { Database } from '../db/database.js';
import type { EventLog } from '../eventlog/event-log.js';
import type { Logger } from '../logger.js';
import { Gauge, type Registry } from 'prom-client';
import { withDeadline } from '../http/unavailable.js';

export interface BacklogLimits {
  /** Messages waiting to be applied; 0 turns this bound off. */
  maxMessages: number;
  /** Estimated seconds to apply what waits; 0 turns this bound off. */
  maxSeconds: number;
}

export interface BacklogReading {
  at: number;
  /** Messages in the log beyond the group's stored offsets. */
  messages: number;
  /** Σ over partitions of (high watermark − waiting): grows by one per message applied. */
  appliedMark: number;
}

export interface ShedDecision {
  shed: boolean;
  /** Seconds the client should wait (1..30) when shedding. */
  retryAfter: number;
  reason: string;
}

/** How far back the apply rate is measured. */
const RATE_WINDOW_MS = 30_000;
/** The drain-time bound needs the backlog to have stood this long (the message bound does not). */
const MIN_RATE_SPAN_MS = 10_000;
/** A reading older than this is not trusted to shed (the log or database is failing: 503s say so). */
const STALE_MS = 10_000;
/** A reading that takes longer than this means the database or the log is failing. */
const READ_DEADLINE_MS = 2_000;

/** Pure: the decision from the readings of the last RATE_WINDOW_MS (oldest first). */
export function shedDecision(readings: readonly BacklogReading[], limits: BacklogLimits, now: number): ShedDecision {
  const last = readings[readings.length - 1];
  if (!last || now - last.at > STALE_MS || last.messages === 0) return { shed: false, retryAfter: 0, reason: '' };
  // The apply rate is measured only over the time the backlog has stood without a break: a
  // window that reaches back to when nothing waited (before an outage, say) would count idle
  // time as slowness and shed a small backlog that is draining normally.
  let from = readings.findIndex((r) => last.at - r.at <= RATE_WINDOW_MS);
  for (let i = readings.length - 1; i >= Math.max(0, from); i--) {
    if (readings[i]!.messages === 0) { from = i + 1; break; }
  }
  const first = readings[Math.max(0, from)] ?? last;
  const span = (last.at - first.at) / 1000;
  const rate = span > 0 ? Math.max(0, last.appliedMark - first.appliedMark) / span : 0;
  // Nothing applied: the drain time is unbounded only if events waited through a whole window
  // (a reconciler stalled). A backlog that has just appeared (after an outage, or at start) is
  // judged by the message bound alone until a window of readings exists.
  const stalled = span >= RATE_WINDOW_MS / 1000 - 2 && first.messages > 0;
  // A rate from a second or two of readings says little: a burst just posted, or one slow batch
  // on a busy machine, would look like minutes of drain time. Judge drain time only once the
  // backlog has stood for MIN_RATE_SPAN_MS.
  const judged = span * 1000 >= MIN_RATE_SPAN_MS;
  const seconds = !judged ? 0 : rate > 0 ? last.messages / rate : stalled ? Infinity : 0;
  const clamp = (s: number) => Math.max(1, Math.min(30, Math.ceil(s)));
  if (limits.maxMessages > 0 && last.messages > limits.maxMessages) {
    const excess = last.messages - limits.maxMessages;
    return { shed: true, retryAfter: clamp(rate > 0 ? excess / rate : 5), reason: `${last.messages} events wait to be applied (limit ${limits.maxMessages})` };
  }
  if (limits.maxSeconds > 0 && seconds > limits.maxSeconds) {
    const detail = Number.isFinite(seconds) ? `about ${Math.round(seconds)} s` : 'no progress in 30 s';
    return { shed: true, retryAfter: clamp(Number.isFinite(seconds) ? seconds - limits.maxSeconds : 5), reason: `the backlog of ${last.messages} events needs ${detail} to apply (limit ${limits.maxSeconds} s)` };
  }
  return { shed: false, retryAfter: 0, reason: '' };
}

export class BacklogMonitor {
  private readings: BacklogReading[] = [];
  /** The latest attempt failed, or one has hung past READ_DEADLINE_MS: see decide(). */
  private failing = false;
  private attemptStartedAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private reading: Promise<void> | null = null;
  private readonly gauge: Gauge;
  private readonly sheddingGauge: Gauge;

  constructor(private readonly o: {
    db: Database; log: EventLog; groupId: string; topic: string; limits: BacklogLimits; logger: Logger; registry: Registry;
    intervalMs?: number; now?: () => number;
  }) {
    this.gauge = new Gauge({ name: 'omnistock_ingest_backlog_messages', help: 'Events accepted but not yet applied, as the API last read it (drives 429 shedding)', registers: [o.registry] });
    this.sheddingGauge = new Gauge({ name: 'omnistock_ingest_shedding', help: '1 while POST /v1/events answers 429 because the backlog passed its bound', registers: [o.registry] });
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  start(): void {
    if (this.timer || (this.o.limits.maxMessages <= 0 && this.o.limits.maxSeconds <= 0)) return;
    const tick = () => {
      this.reading ??= this.readOnce().finally(() => { this.reading = null; });
    };
    tick();
    this.timer = setInterval(tick, this.o.intervalMs ?? 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.reading;
  }

  /** One reading now (tests call it to avoid waiting on the interval). */
  async readOnce(): Promise<void> {
    this.attemptStartedAt = this.now();
    try {
      const stored = await this.o.db.query<{ partition: number; next_offset: number }>(
        'SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2', [this.o.groupId, this.o.topic]);
      const positions = new Map(stored.map((r) => [Number(r.partition), Number(r.next_offset)]));
      const backlog = await withDeadline(this.o.log.backlog(this.o.topic, positions), 2_000, () => new Error('backlog read timed out'));
      const messages = backlog.reduce((n, b) => n + b.messages, 0);
      const appliedMark = backlog.reduce((n, b) => n + b.high - b.messages, 0);
      const at = this.now();
      this.readings.push({ at, messages, appliedMark });
      this.readings = this.readings.filter((r) => at - r.at <= RATE_WINDOW_MS);
      this.gauge.set(messages);
      this.failing = false;
    } catch (err) {
      this.failing = true;
      this.o.logger.debug({ err: (err as Error).message }, 'backlog reading failed; keeping the previous one');
    } finally {
      this.attemptStartedAt = null;
    }
  }

  decide(): ShedDecision {
    // While the database or the log fails to answer, the request itself answers 503 (the
    // dependency is down): a backlog that cannot drain then is the outage's, not overload's.
    const hung = this.attemptStartedAt !== null && this.now() - this.attemptStartedAt > READ_DEADLINE_MS;
    const d = this.failing || hung ? { shed: false, retryAfter: 0, reason: '' } : shedDecision(this.readings, this.o.limits, this.now());
    this.sheddingGauge.set(d.shed ? 1 : 0);
    return d;
  }
}
