import { describeValue } from '../describe.ts';
import { HandlerConfigError } from '../errors.ts';
import { isPlainObject } from '../events/json.ts';
import { delayProblem } from './actions.ts';

/** What to do after a failed `handle`: a plain value, executed elsewhere (timers, dead letters, stop). */
export type FailureDecision =
  | { kind: 'retry'; delayMs: number; context: Record<string, unknown> }
  | { kind: 'skip' }
  | { kind: 'stop'; reason: unknown };

/**
 * What asking the handler's `error` callback gave: the (already awaited) value it returned, the error
 * it threw, or `none` when the handler has no `error` callback (`error` is then the failure itself).
 */
export type ErrorCallbackOutcome =
  | { kind: 'returned'; value: unknown }
  | { kind: 'threw'; error: unknown }
  | { kind: 'none'; error: unknown };

/**
 * Turns the outcome of the `error` callback into a decision. Pure: no timers, no I/O.
 *
 * - no callback: stop with the failure (as Commanded);
 * - the callback threw: stop with what it threw;
 * - it returned an error action: that action. A hand-built `{ action: 'retry' }` may leave out
 *   `delayMs` (0) and `context` (`{}`); `{ action: 'stop' }` may leave out `reason` (abnormal);
 * - it returned anything else: stop with a `HandlerConfigError` naming the handler and the value.
 * @example
 * decideOnFailure({ kind: 'returned', value: retry(100) }, 'Mailer'); // { kind: 'retry', delayMs: 100, context: {} }
 */
export function decideOnFailure(outcome: ErrorCallbackOutcome, handlerName: string): FailureDecision {
  switch (outcome.kind) {
    case 'none':
    case 'threw':
      return { kind: 'stop', reason: outcome.error };
    case 'returned':
      return decideOnAction(outcome.value, handlerName);
  }
}

/**
 * The action name telemetry reports for a decision (`handle:exception`'s `action`).
 * @example
 * telemetryAction({ kind: 'skip' }); // 'skip'
 */
export function telemetryAction(decision: FailureDecision): 'retry' | 'skip' | 'stop' {
  return decision.kind;
}

function decideOnAction(value: unknown, handlerName: string): FailureDecision {
  if (typeof value === 'object' && value !== null) {
    const action = value as { action?: unknown; delayMs?: unknown; context?: unknown; reason?: unknown };
    if (action.action === 'skip') return { kind: 'skip' };
    if (action.action === 'stop') return { kind: 'stop', reason: action.reason };
    if (action.action === 'retry') return decideOnRetry(action.delayMs ?? 0, action.context ?? {}, value, handlerName);
  }
  return invalid(
    handlerName,
    `returned ${describeValue(value)}, which is not an error action: return retry(), retry(delayMs), skip() or stop(reason)`,
  );
}

function decideOnRetry(delayMs: unknown, context: unknown, value: unknown, handlerName: string): FailureDecision {
  const problem = delayProblem(delayMs);
  if (problem !== undefined || typeof delayMs !== 'number') {
    return invalid(handlerName, `returned ${describeValue(value)}: the retry delayMs must be ${problem}, got ${describeValue(delayMs)}`);
  }
  if (!isPlainObject(context)) {
    return invalid(handlerName, `returned ${describeValue(value)}: the retry context must be a plain object, got ${describeValue(context)}`);
  }
  return { kind: 'retry', delayMs, context };
}

function invalid(handlerName: string, problem: string): FailureDecision {
  return { kind: 'stop', reason: new HandlerConfigError(`error() of handler "${handlerName}" ${problem}`, 'error') };
}
