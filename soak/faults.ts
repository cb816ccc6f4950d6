// The fault schedule: every fault of issue 17, in an order and at times drawn from the seed,
// so a run is replayable with --seed. Infrastructure faults run one at a time with a recovery
// gap after each; the clock skew of an event source overlaps them (it is a property of the load).
export type FaultKind =
  | 'broker-down' | 'broker-errors-latency' | 'postgres-restart' | 'postgres-refuse'
  | 'kill-api' | 'kill-reconciler' | 'stop-reconciler' | 'clock-ahead' | 'clock-behind' | 'overload';

export interface ScheduledFault {
  kind: FaultKind;
  /** ms after the load started */
  at: number;
  durationMs: number;
}

export const ALL_FAULTS: readonly FaultKind[] = [
  'broker-down', 'broker-errors-latency', 'postgres-restart', 'postgres-refuse',
  'kill-api', 'kill-reconciler', 'stop-reconciler', 'clock-ahead', 'clock-behind', 'overload',
];

/** A small seeded generator (xorshift32): the same seed gives the same schedule and load. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

/** How long each fault lasts. The broker outage is 30 s as the issue asks; a stopped reconciler must outlive its 10 s session. */
function durationOf(kind: FaultKind, short: boolean): number {
  switch (kind) {
    case 'broker-down': return 30_000;
    case 'broker-errors-latency': return short ? 10_000 : 30_000;
    case 'postgres-refuse': return short ? 10_000 : 20_000;
    case 'stop-reconciler': return 16_000;
    case 'clock-ahead': case 'clock-behind': return short ? 12_000 : 30_000;
    case 'overload': return short ? 8_000 : 20_000;
    default: return 0; // instantaneous: restart, kills
  }
}

const OVERLAPPING: ReadonlySet<FaultKind> = new Set(['clock-ahead', 'clock-behind']);

/**
 * Sequential faults from `warmupMs` on, each followed by `gapMs` of recovery; the skews start at
 * random points inside the same span. In a long run the cycle repeats (reshuffled) while it fits.
 */
export function faultSchedule(seed: number, totalMs: number, opts: { warmupMs?: number; gapMs?: number; short?: boolean } = {}): ScheduledFault[] {
  const rnd = seeded(seed);
  const warmup = opts.warmupMs ?? 15_000;
  const gap = opts.gapMs ?? 8_000;
  const short = opts.short ?? false;
  const out: ScheduledFault[] = [];
  let t = warmup;
  for (let cycle = 0; cycle === 0 || t < totalMs - 60_000; cycle++) {
    const sequential = ALL_FAULTS.filter((k) => !OVERLAPPING.has(k));
    for (let i = sequential.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [sequential[i], sequential[j]] = [sequential[j]!, sequential[i]!];
    }
    const cycleStart = t;
    for (const kind of sequential) {
      const durationMs = durationOf(kind, short);
      out.push({ kind, at: t, durationMs });
      t += durationMs + gap;
    }
    // One skew in each half of the cycle, so they never overlap each other.
    const half = (t - cycleStart) / 2;
    for (const [i, kind] of ['clock-ahead', 'clock-behind'].entries()) {
      const durationMs = durationOf(kind as FaultKind, short);
      out.push({ kind: kind as FaultKind, at: Math.round(cycleStart + i * half + rnd() * Math.max(1, half - durationMs)), durationMs });
    }
    if (short) break;
  }
  return out.sort((a, b) => a.at - b.at);
}
