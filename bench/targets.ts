/** Target checks of the benchmark issue, each saying by how much a miss missed. */
import type { Row, Target } from './types.ts';

type RowFigures = Omit<Row, 'target'>;

/** One condition of a target. */
export interface Condition {
  readonly text: string;
  test(row: RowFigures): { ok: boolean; miss: string };
}

/** Formats a figure compactly: 152,340 → `152k`, 2.345 → `2.35`. */
export function formatNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 10_000) return `${Math.round(value / 1000)}k`;
  if (abs >= 1000) return `${(value / 1000).toFixed(1)}k`;
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** herald's median at least `threshold` (throughput). */
export function atLeast(threshold: number, unit: string): Condition {
  return {
    text: `≥ ${formatNumber(threshold)} ${unit}`,
    test: (row) => ({
      ok: row.herald.median >= threshold,
      miss: `${formatNumber(row.herald.median)} ${unit} is ${((1 - row.herald.median / threshold) * 100).toFixed(0)} % short`,
    }),
  };
}

/** herald's median at most `threshold` (latency). */
export function atMost(threshold: number, unit: string): Condition {
  return {
    text: `≤ ${formatNumber(threshold)} ${unit}`,
    test: (row) => ({
      ok: row.herald.median <= threshold,
      miss: `${formatNumber(row.herald.median)} ${unit} is ${((row.herald.median / threshold - 1) * 100).toFixed(0)} % over`,
    }),
  };
}

/** Median per-round ratio herald/baseline at least `threshold`, shown as a percentage or a factor. */
export function ratioAtLeast(threshold: number, style: 'percent' | 'factor' = 'percent'): Condition {
  const show = (ratio: number): string => (style === 'percent' ? `${(ratio * 100).toFixed(0)} %` : `${ratio.toFixed(2)}x`);
  return {
    text: style === 'percent' ? `≥ ${(threshold * 100).toFixed(0)} % of baseline` : `≥ ${threshold}x baseline`,
    test: (row) => {
      const ratio = row.ratio?.median ?? Number.NaN;
      return { ok: ratio >= threshold, miss: `${show(ratio)} instead of ${show(threshold)}` };
    },
  };
}

/** Every round's ratio herald/baseline at least `threshold` (the worst round), as a percentage. */
export function everyRoundAtLeast(threshold: number): Condition {
  return {
    text: `no round below ${(threshold * 100).toFixed(0)} %`,
    test: (row) => {
      const worst = row.ratio?.min ?? Number.NaN;
      return { ok: worst >= threshold, miss: `worst round ${(worst * 100).toFixed(0)} %` };
    },
  };
}

/** Median per-round ratio herald/baseline at most `threshold` (latency against a baseline's), as a factor. */
export function ratioAtMost(threshold: number): Condition {
  return {
    text: `≤ ${threshold}x baseline`,
    test: (row) => {
      const ratio = row.ratio?.median ?? Number.NaN;
      return { ok: ratio <= threshold, miss: `${ratio.toFixed(2)}x instead of ${threshold}x` };
    },
  };
}

/** Median within `±fraction` of `center` (memory growth in %, centered on 0). */
export function within(center: number, tolerance: number, unit: string): Condition {
  return {
    text: `within ±${tolerance} ${unit}`,
    test: (row) => ({
      ok: Math.abs(row.herald.median - center) <= tolerance,
      miss: `${row.herald.median.toFixed(1)} ${unit}, ${(Math.abs(row.herald.median - center) - tolerance).toFixed(1)} ${unit} outside`,
    }),
  };
}

/** A target met when every condition holds; a miss lists each failed condition. */
export function target(...conditions: Condition[]): (row: RowFigures) => Target {
  return (row) => {
    const misses = conditions.map((c) => c.test(row)).filter((r) => !r.ok).map((r) => r.miss);
    return { text: conditions.map((c) => c.text).join(' and '), met: misses.length === 0, miss: misses.length === 0 ? undefined : misses.join('; ') };
  };
}
