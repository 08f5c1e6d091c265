import { describeValue } from '../describe.ts';
import { HandlerConfigError } from '../errors.ts';
import { isPlainObject } from '../events/json.ts';
import type { ErrorAction, StopAction } from './types.ts';

/** The `retry` member of {@link ErrorAction}. */
export type RetryAction = Extract<ErrorAction, { action: 'retry' }>;
/** The `skip` member of {@link ErrorAction}. */
export type SkipAction = Extract<ErrorAction, { action: 'skip' }>;

/**
 * Longest delay Node's timers honour (2^31 - 1 ms, about 24.8 days): a longer one fires after 1 ms,
 * so herald rejects it instead of retrying at once.
 */
export const MAX_DELAY_MS = 2_147_483_647;

/**
 * Handle the same event again, at once, carrying `context` into the next failure's `failure.context`.
 * @example
 * error(err, event, failure) { return retry({ lastError: String(err) }); }
 */
export function retry(context?: Record<string, unknown>): RetryAction;
/**
 * Handle the same event again after `delayMs` milliseconds, carrying `context` into the next failure.
 * @example
 * error(err, event, failure) { return failure.attempt < 3 ? retry(1000 * failure.attempt) : skip(); }
 */
export function retry(delayMs: number, context?: Record<string, unknown>): RetryAction;
export function retry(first?: number | Record<string, unknown>, second?: Record<string, unknown>): RetryAction {
  if (typeof first === 'number') {
    const problem = delayProblem(first);
    if (problem !== undefined) {
      throw new HandlerConfigError(`retry(delayMs): delayMs must be ${problem}, got ${describeValue(first)}`, 'delayMs');
    }
    return Object.freeze({ action: 'retry', delayMs: first, context: checkContext(second, 'retry(delayMs, context)') });
  }
  if (second !== undefined || (first !== undefined && typeof first !== 'object')) {
    throw new HandlerConfigError(
      `retry() takes (context?) or (delayMs, context?); got ${describeValue(first)} where a delay or a context was expected`,
      typeof first === 'object' ? 'context' : 'delayMs',
    );
  }
  return Object.freeze({ action: 'retry', delayMs: 0, context: checkContext(first, 'retry(context)') });
}

const SKIP: SkipAction = Object.freeze({ action: 'skip' });

/**
 * Acknowledge the failed event and move on; it is recorded as a dead letter with the error.
 * @example
 * error(err) { return err instanceof ValidationError ? skip() : retry(500); }
 */
export function skip(): SkipAction {
  return SKIP;
}

/**
 * Stop the handler with `reason`; its supervisor decides whether it restarts. The stop counts as
 * normal (a `'transient'` child stays down) only when `reason` is exactly `'normal'`; any other reason,
 * including none (`stop()` gives `reason: undefined`), is an abnormal stop.
 * @example
 * error(err) { return stop(err); }
 */
export function stop(reason?: unknown): StopAction {
  return Object.freeze({ action: 'stop', reason });
}

/**
 * Whether a stop reason is a normal exit, as in OTP: only the string `'normal'` is.
 * @example
 * isNormalStop('normal'); // true
 * isNormalStop(undefined); // false: stop() with no reason is abnormal
 */
export function isNormalStop(reason: unknown): boolean {
  return reason === 'normal';
}

/**
 * Why `delayMs` is not a usable retry delay (the expectation, for a message), or `undefined` when it is.
 * @example
 * delayProblem(-5); // 'a non-negative finite number of milliseconds'
 */
export function delayProblem(delayMs: unknown): string | undefined {
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
    return 'a non-negative finite number of milliseconds';
  }
  return delayMs > MAX_DELAY_MS ? `at most ${MAX_DELAY_MS} ms (the longest timer Node supports)` : undefined;
}

function checkContext(context: unknown, call: string): Record<string, unknown> {
  if (context === undefined) return {};
  if (!isPlainObject(context)) {
    throw new HandlerConfigError(`${call}: context must be a plain object, got ${describeValue(context)}`, 'context');
  }
  return { ...context };
}
