/** docs/benchmarks.svg: herald relative to each baseline on a log scale, one bar per row with a baseline. */
import type { Row } from './types.ts';

const WIDTH = 1060;
const LABEL_WIDTH = 470;
const PLOT_LEFT = LABEL_WIDTH + 10;
const PLOT_WIDTH = 340;
const ROW_HEIGHT = 24;
const TOP = 56;
const MIN = 0.05;
const MAX = 20;

const COLORS = { met: '#2e7d32', missed: '#c62828', none: '#546e7a' } as const;

function x(value: number): number {
  const clamped = Math.min(MAX, Math.max(MIN, value));
  return PLOT_LEFT + ((Math.log10(clamped) - Math.log10(MIN)) / (Math.log10(MAX) - Math.log10(MIN))) * PLOT_WIDTH;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** How many times better herald did than the baseline (above 1: herald ahead), whatever the unit's direction. */
export function advantage(row: Row): number | undefined {
  if (row.ratio === undefined) return undefined;
  return row.higherIsBetter ? row.ratio.median : 1 / row.ratio.median;
}

/** Renders the chart; rows without a baseline are left out. */
export function chartSvg(rows: readonly Row[], subtitle: string): string {
  const bars = rows.filter((row) => advantage(row) !== undefined);
  const height = TOP + bars.length * ROW_HEIGHT + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="16" font-weight="bold">herald relative to a baseline measured in the same run (log scale; right of 1× = herald ahead)</text>`,
    `<text x="10" y="40" fill="#555">${escapeXml(subtitle)} · green: target met · red: target missed · grey: no target</text>`,
  ];
  for (const tick of [0.1, 0.25, 0.5, 1, 2, 4, 10]) {
    const tx = x(tick).toFixed(1);
    parts.push(
      `<line x1="${tx}" y1="${TOP - 6}" x2="${tx}" y2="${TOP + bars.length * ROW_HEIGHT}" stroke="${tick === 1 ? '#000' : '#ddd'}" stroke-width="${tick === 1 ? 1.5 : 1}"/>`,
      `<text x="${tx}" y="${TOP + bars.length * ROW_HEIGHT + 16}" text-anchor="middle" fill="#555">${tick}×</text>`,
    );
  }
  bars.forEach((row, i) => {
    const value = advantage(row) as number;
    const y = TOP + i * ROW_HEIGHT;
    const color = row.target === undefined ? COLORS.none : row.target.met ? COLORS.met : COLORS.missed;
    const from = Math.min(x(1), x(value));
    const width = Math.max(1.5, Math.abs(x(value) - x(1)));
    const label = `${row.scenario}: ${row.label}`;
    parts.push(
      `<text x="${LABEL_WIDTH}" y="${y + 16}" text-anchor="end">${escapeXml(label.length > 72 ? `${label.slice(0, 71)}…` : label)}</text>`,
      `<rect x="${from.toFixed(1)}" y="${y + 5}" width="${width.toFixed(1)}" height="${ROW_HEIGHT - 9}" fill="${color}"/>`,
      `<text x="${(Math.max(x(1), x(value)) + 6).toFixed(1)}" y="${y + 16}" fill="#222">${value >= 10 ? value.toFixed(0) : value.toFixed(2)}× <tspan fill="#777">vs ${escapeXml(row.baseline?.name ?? '')}</tspan></text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
