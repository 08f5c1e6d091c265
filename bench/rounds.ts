/** Runs the measurements of a round in an order that rotates from round to round, so no side always goes first. */

/** A named measurement returning one figure. */
export type Measure = readonly [name: string, run: () => Promise<number>];

/** Collects per-round figures by measurement name. */
export interface RoundLog {
  /** Every figure of `name`, in round order. */
  values(name: string): number[];
  /** Runs `measures` for round `round` (0-based), rotating their order, and records each figure. */
  run(round: number, measures: readonly Measure[]): Promise<void>;
}

/** Creates an empty log; `onFigure` is told each figure as it comes (progress output). */
export function roundLog(onFigure: (name: string, round: number, value: number) => void = () => {}): RoundLog {
  const figures = new Map<string, number[]>();
  return {
    values(name) {
      const list = figures.get(name);
      if (list === undefined) throw new Error(`no figures for "${name}"`);
      return list;
    },
    async run(round, measures) {
      const shift = measures.length === 0 ? 0 : round % measures.length;
      const order = [...measures.slice(shift), ...measures.slice(0, shift)];
      for (const [name, measure] of order) {
        const value = await measure();
        const list = figures.get(name) ?? [];
        list[round] = value;
        figures.set(name, list);
        onFigure(name, round, value);
      }
    },
  };
}
