/** Plain-text tables for people (scripts use `--json`). */

/** Renders rows under a header, each column as wide as its widest cell, separated by two spaces. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** A one-line, control-character-free rendering of text that came from events or errors. */
export function oneLine(text: string, max = 80): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Slot numbers as compact ranges: `0-3,7`. */
export function ranges(slots: readonly number[]): string {
  const parts: string[] = [];
  let start: number | undefined;
  let previous: number | undefined;
  for (const slot of [...slots].sort((a, b) => a - b)) {
    if (start !== undefined && previous !== undefined && slot === previous + 1) {
      previous = slot;
      continue;
    }
    if (start !== undefined) parts.push(start === previous ? `${start}` : `${start}-${String(previous)}`);
    start = slot;
    previous = slot;
  }
  if (start !== undefined) parts.push(start === previous ? `${start}` : `${start}-${String(previous)}`);
  return parts.join(',');
}
