/** Small statistics for the bench: medians over rounds, percentiles over samples, ratios per round. */
import type { Row, Summary, Target } from './types.ts';

/** Median, min and max of `values` (at least one). */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('summarize: no values');
  const sorted = [...values].sort((a, b) => a - b);
  return { median: percentileOf(sorted, 50), min: sorted[0] as number, max: sorted[sorted.length - 1] as number, n: sorted.length };
}

/** The `p`-th percentile (0–100) of an ascending array, interpolating between neighbours. */
export function percentileOf(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of no samples');
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = sorted[low] as number;
  const b = sorted[high] as number;
  return a + (b - a) * (rank - low);
}

/** p50/p95/p99 of unsorted samples. */
export function latencyPercentiles(samples: readonly number[]): { p50: number; p95: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentileOf(sorted, 50), p95: percentileOf(sorted, 95), p99: percentileOf(sorted, 99) };
}

/** Spread of a summary as a share of its median: (max − min) / median. */
export function spread(summary: Summary): number {
  return summary.median === 0 ? 0 : (summary.max - summary.min) / Math.abs(summary.median);
}

/** Per-round ratios `a[i] / b[i]`, summarized (rounds ran back to back, so the noise of each round cancels). */
export function ratioOf(a: readonly number[], b: readonly number[]): Summary {
  if (a.length !== b.length) throw new Error('ratioOf: rounds differ');
  return summarize(a.map((value, i) => value / (b[i] as number)));
}

/** Figures of one row, as collected round by round. */
export interface RowInput {
  readonly scenario: string;
  readonly label: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  readonly herald: readonly number[];
  readonly baseline?: { readonly name: string; readonly values: readonly number[] } | undefined;
  readonly target?: ((row: Omit<Row, 'target'>) => Target) | undefined;
  readonly note?: string | undefined;
}

/** Builds a table row from per-round figures: medians, spread, per-round ratio, then the target check. */
export function buildRow(input: RowInput): Row {
  const partial: Omit<Row, 'target'> = {
    scenario: input.scenario,
    label: input.label,
    unit: input.unit,
    higherIsBetter: input.higherIsBetter,
    herald: summarize(input.herald),
    baseline: input.baseline === undefined ? undefined : { name: input.baseline.name, value: summarize(input.baseline.values) },
    ratio: input.baseline === undefined ? undefined : ratioOf(input.herald, input.baseline.values),
    note: input.note,
  };
  return { ...partial, target: input.target?.(partial) };
}

/** Events (or messages) per second for `count` items in `ms` milliseconds. */
export function perSecond(count: number, ms: number): number {
  return (count * 1000) / ms;
}
