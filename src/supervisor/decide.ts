import type { ChildExit, RestartStrategy, RestartType } from './types.ts';

/** Timestamps (ms) of a supervisor's past restarts, oldest first. */
export interface RestartHistory {
  readonly restarts: readonly number[];
}

/** What a supervisor does after one of its children exited. */
export type ExitDecision =
  /** Leave the child stopped (temporary child, or transient child that exited normally). */
  | { readonly kind: 'ignore' }
  /**
   * Stop the running ones among `children` and `discard` (in reverse start order), forget `discard`
   * (temporary siblings, never restarted), then start `children` again in start order.
   * `children` lists names in start order, the exited child included.
   */
  | { readonly kind: 'restart'; readonly children: readonly string[]; readonly discard: readonly string[] }
  /** The restart intensity is exceeded: stop everything and fail to the parent with `reason`. */
  | { readonly kind: 'give_up'; readonly reason: unknown };

/** A child as {@link decideOnExit} sees it, in start order. */
export interface DecisionChild {
  readonly name: string;
  readonly restart: RestartType;
  readonly running: boolean;
}

/** Everything {@link decideOnExit} decides from. */
export interface DecisionInput {
  readonly strategy: RestartStrategy;
  readonly maxRestarts: number;
  readonly withinMs: number;
  /** The supervisor's children in start order (the exited one included, with `running: false`). */
  readonly children: readonly DecisionChild[];
  /** Name of the child that exited. */
  readonly exited: string;
  readonly exit: ChildExit;
  /** Current time (ms); a restart decided now is counted at this time. */
  readonly now: number;
  readonly history: RestartHistory;
}

/** The reason a child exit carries: its abnormal reason, or `'normal'`. */
export function exitReason(exit: ChildExit): unknown {
  return exit.kind === 'abnormal' ? exit.reason : 'normal';
}

/** Whether a child with restart type `restart` is restarted after `exit`. */
export function shouldRestart(restart: RestartType, exit: ChildExit): boolean {
  return restart === 'permanent' || (restart === 'transient' && exit.kind === 'abnormal');
}

/**
 * Decides, as an OTP supervisor, what to do after a child exited. Pure: the caller applies the decision
 * and keeps the returned history.
 *
 * - `permanent` children always restart, `transient` ones only after an abnormal exit, `temporary` ones never.
 * - `one_for_one` restarts the exited child; `one_for_all` every child; `rest_for_one` the exited child
 *   and every child after it. As OTP does, a restarted group includes its non-temporary children that are
 *   not running (e.g. a transient child that ended normally earlier, or one not started yet), while its
 *   temporary children are stopped if running and dropped (`discard`), never restarted.
 * - Intensity: the restart is counted at `now`; if more than `maxRestarts` restarts fall in
 *   `(now - withinMs, now]`, the decision is `give_up` with the exit's reason. Older timestamps are pruned.
 *
 * @throws {RangeError} when `exited` is not one of `children`.
 * @example
 * const { decision, history } = decideOnExit({
 *   strategy: 'one_for_one', maxRestarts: 3, withinMs: 5000, now: clock.now(), history: { restarts: [] },
 *   children: [{ name: 'a', restart: 'permanent', running: false }], exited: 'a', exit: { kind: 'abnormal', reason: err },
 * });
 */
export function decideOnExit(input: DecisionInput): { decision: ExitDecision; history: RestartHistory } {
  const { children, exited, exit, now, withinMs } = input;
  const index = children.findIndex((child) => child.name === exited);
  const child = children[index];
  if (child === undefined) throw new RangeError(`"${exited}" is not a child of this supervisor`);
  const recent = input.history.restarts.filter((at) => at > now - withinMs && at <= now);
  if (!shouldRestart(child.restart, exit)) {
    return { decision: { kind: 'ignore' }, history: { restarts: recent } };
  }
  const restarts = [...recent, now];
  if (restarts.length > input.maxRestarts) {
    return { decision: { kind: 'give_up', reason: exitReason(exit) }, history: { restarts } };
  }
  const group = input.strategy === 'one_for_one' ? [child] : input.strategy === 'one_for_all' ? children : children.slice(index);
  const restarted = group.filter((c) => c === child || c.restart !== 'temporary').map((c) => c.name);
  const discard = group.filter((c) => c !== child && c.restart === 'temporary' && c.running).map((c) => c.name);
  return { decision: { kind: 'restart', children: restarted, discard }, history: { restarts } };
}
