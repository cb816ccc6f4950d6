export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Percentile of a histogram given as [value, count] buckets in ascending value order. */
export function histogramPercentile(buckets: ReadonlyArray<readonly [number, number]>, p: number): number {
  const total = buckets.reduce((n, [, c]) => n + c, 0);
  if (total === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const [value, count] of buckets) {
    seen += count;
    if (seen >= rank) return value;
  }
  return buckets[buckets.length - 1]![0];
}
