/** The shapes shared by the bench runner, its scenarios and its report. */

/** Median and spread of one figure over the rounds of a scenario. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Number of rounds. */
  readonly n: number;
}

/** A target from the benchmark issue, checked against the run's own figures. */
export interface Target {
  /** As the issue states it, e.g. `≥ 150k ev/s and ≥ 90 % of raw`. */
  readonly text: string;
  readonly met: boolean;
  /** By how much a missed target was missed, e.g. `41k ev/s short`. */
  readonly miss?: string | undefined;
}

/** One line of the results table: herald's figure beside a baseline measured in the same rounds. */
export interface Row {
  readonly scenario: string;
  /** What was measured, e.g. `no-op handler, concurrency 1`. */
  readonly label: string;
  /** `ev/s`, `ms`, `msg/s`, `%`, `MB`. */
  readonly unit: string;
  /** Whether a higher figure is better (throughput) or worse (latency, memory). */
  readonly higherIsBetter: boolean;
  readonly herald: Summary;
  readonly baseline?: { readonly name: string; readonly value: Summary } | undefined;
  /** herald / baseline, taken per round (both measured back to back), then summarized. */
  readonly ratio?: Summary | undefined;
  readonly target?: Target | undefined;
  readonly note?: string | undefined;
}

/** What a scenario reports: its rows, plus remarks for the markdown (e.g. what could not run). */
export interface ScenarioResult {
  readonly rows: Row[];
  readonly remarks: string[];
}

/** A throwaway database for one scenario. */
export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops the database (closing whatever is still connected to it). */
  drop(): Promise<void>;
}

/** What the runner hands every scenario. */
export interface BenchContext {
  /** `--quick`: small sizes, one round, so that the code cannot rot; no timing is asserted. */
  readonly quick: boolean;
  /** Rounds per scenario (median and spread are over these). */
  readonly rounds: number;
  /** A fresh database on the bench server. */
  freshDatabase(label: string): Promise<BenchDatabase>;
  /** Progress line on stderr. */
  log(message: string): void;
}

/** A scenario module: a name for `--only` and the table, and its run. */
export interface Scenario {
  readonly name: string;
  readonly title: string;
  /** Longest a run may take before the runner gives up on it (full mode; quick mode uses its own bound). */
  readonly timeoutMs: number;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}
