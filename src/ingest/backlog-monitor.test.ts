import { describe, expect, it } from 'vitest';
import { shedDecision, type BacklogReading } from './backlog-monitor.js';

const at = (s: number, messages: number, appliedMark: number): BacklogReading => ({ at: s * 1000, messages, appliedMark });

describe('shedDecision', () => {
  const limits = { maxMessages: 10_000, maxSeconds: 30 };

  it('does not shed an empty or small, moving backlog', () => {
    expect(shedDecision([], limits, 0).shed).toBe(false);
    expect(shedDecision([at(0, 0, 0), at(1, 0, 100)], limits, 1_000).shed).toBe(false);
    expect(shedDecision([at(0, 500, 0), at(10, 500, 1_000)], limits, 10_000).shed).toBe(false);
  });

  it('sheds past the message bound, with a Retry-After from the apply rate', () => {
    const d = shedDecision([at(0, 9_000, 0), at(10, 20_000, 10_000)], limits, 10_000);
    expect(d).toMatchObject({ shed: true, retryAfter: 10 });
    expect(d.reason).toMatch(/20000 events wait/);
  });

  it('sheds past the drain-time bound', () => {
    // 5,000 waiting, 100/s applied: 50 s to drain, limit 30 s.
    const d = shedDecision([at(0, 5_000, 0), at(10, 5_000, 1_000)], limits, 10_000);
    expect(d).toMatchObject({ shed: true, retryAfter: 20 });
  });

  it('sheds when nothing was applied for a whole window while events wait, but not before a window exists', () => {
    expect(shedDecision([at(0, 50, 0), at(5, 50, 0)], limits, 5_000).shed).toBe(false);
    expect(shedDecision([at(0, 50, 0), at(29, 50, 0)], limits, 29_000).shed).toBe(true);
    // A backlog that appeared only now (after an outage) is not a stall.
    expect(shedDecision([at(0, 0, 0), at(29, 50, 0)], limits, 29_000).shed).toBe(false);
  });

  it('measures the apply rate only since the backlog appeared, so a small backlog after an idle stretch is not shed', () => {
    // Idle for 20 s, then 60 waiting with 30 applied a second later: not 34 s of drain time.
    expect(shedDecision([at(0, 0, 0), at(20, 60, 30), at(21, 60, 30)], limits, 21_000).shed).toBe(false);
    // The same backlog standing still for a whole window is a stall.
    expect(shedDecision([at(0, 0, 0), at(1, 60, 30), at(30, 60, 30)], limits, 30_000).shed).toBe(true);
  });

  it('does not judge drain time from a backlog that has stood only a few seconds (a burst just posted)', () => {
    // 180 waiting, 4 applied in the first second: "45 s" from one second of readings is noise.
    expect(shedDecision([at(0, 180, 0), at(1, 180, 4)], limits, 1_000).shed).toBe(false);
    // The same rate held for 10 s is a real estimate.
    expect(shedDecision([at(0, 180, 0), at(10, 180, 40)], limits, 10_000).shed).toBe(true);
  });

  it('never sheds on a stale reading (the log or database is failing: 503s answer for it)', () => {
    expect(shedDecision([at(0, 90_000, 0)], limits, 11_000).shed).toBe(false);
  });

  it('a zero limit is off', () => {
    expect(shedDecision([at(0, 90_000, 0), at(1, 90_000, 0)], { maxMessages: 0, maxSeconds: 0 }, 1_000).shed).toBe(false);
  });
});
