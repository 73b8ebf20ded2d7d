/**
 * Small statistics helpers for the bench. Self-check: `bun bench/lib/stats.ts`.
 */

/** Percentile by linear interpolation between closest ranks (p in [0, 100]); NaN for no data. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 1) return sorted[0];
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

export function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    mean: mean(values),
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    min: values.length ? Math.min(...values) : NaN,
    max: values.length ? Math.max(...values) : NaN,
  };
}

/** a / b, or NaN when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return NaN;
  return a / b;
}

function selfCheck(): void {
  const eq = (a: number, b: number, what: string) => {
    if (!(Math.abs(a - b) < 1e-9 || (Number.isNaN(a) && Number.isNaN(b)))) throw new Error(`${what}: got ${a}, want ${b}`);
  };
  eq(percentile([], 50), NaN, "empty");
  eq(percentile([7], 95), 7, "single");
  eq(percentile([3, 1, 2], 50), 2, "odd median, unsorted input");
  eq(percentile([1, 2, 3, 4], 50), 2.5, "even median");
  eq(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 95), 10.5, "p95 interpolates");
  eq(percentile([1, 2], 0), 1, "p0");
  eq(percentile([1, 2], 100), 2, "p100");
  eq(mean([1, 2, 3, 6]), 3, "mean");
  eq(sum([1, 2, 3.5]), 6.5, "sum");
  eq(ratio(6, 3), 2, "ratio");
  eq(ratio(1, 0), NaN, "ratio by zero");
  eq(ratio(undefined, 2), NaN, "ratio missing");
  const s = summarize([5, 1, 3]);
  eq(s.n, 3, "summary n");
  eq(s.p50, 3, "summary p50");
  eq(s.min, 1, "summary min");
  eq(s.max, 5, "summary max");
  const input = [3, 1, 2];
  percentile(input, 50);
  if (input[0] !== 3) throw new Error("percentile must not sort its input in place");
}

if (import.meta.main) {
  selfCheck();
  console.log("stats self-check: ok");
}
