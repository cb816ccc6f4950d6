// Small figures for the soak report: percentiles, windows, longest gaps.
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summary(values: readonly number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s.length ? s[s.length - 1]! : NaN };
}

/** Longest run of consecutive `false` samples, as time from its first to the next `true` (or the last sample). */
export function longestGap(samples: ReadonlyArray<{ t: number; ok: boolean }>): { ms: number; from: number } {
  let best = { ms: 0, from: 0 };
  let start: number | null = null;
  for (const s of samples) {
    if (!s.ok && start === null) start = s.t;
    if (s.ok && start !== null) {
      if (s.t - start > best.ms) best = { ms: s.t - start, from: start };
      start = null;
    }
  }
  const last = samples[samples.length - 1];
  if (start !== null && last && last.t - start > best.ms) best = { ms: last.t - start, from: start };
  return best;
}

export const fmtMs = (ms: number) => (Number.isNaN(ms) ? '-' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms)}ms`);
