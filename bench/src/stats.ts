/** p50/p95/p99 of a sample, in the sample's unit. */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** Percentiles plus the sample size, min, max and mean. */
export interface Summary extends Percentiles {
  count: number;
  min: number;
  max: number;
  mean: number;
}

const round = (x: number, digits = 2): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** Nearest-rank percentiles (p in 0..100) of `values`; NaN for an empty sample. */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, min: NaN, max: NaN, mean: NaN };
  const at = (p: number): number =>
    sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: n,
    p50: round(at(50)),
    p95: round(at(95)),
    p99: round(at(99)),
    min: round(sorted[0]!),
    max: round(sorted[n - 1]!),
    mean: round(sum / n),
  };
}

/** Rounds to `digits` decimals (figures in the result file stay readable). */
export function roundTo(x: number, digits = 2): number {
  return round(x, digits);
}
