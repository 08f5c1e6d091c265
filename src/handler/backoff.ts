import { describeValue } from '../describe.ts';
import { HandlerConfigError } from '../errors.ts';
import type { RecordedEvent } from '../events/types.ts';
import { isPlainObject } from '../events/json.ts';
import { MAX_DELAY_MS, retry, skip, stop } from './actions.ts';
import { suggestName } from './suggest.ts';
import type { ErrorAction, FailureContext } from './types.ts';

/** Options of {@link backoff}. */
export interface BackoffOptions {
  /** Times the event is tried in all (the first handling included); `Infinity` retries for ever. @default 5 */
  maxAttempts?: number;
  /** Delay ceiling of the first retry, in ms. @default 100 */
  baseMs?: number;
  /** Cap of the delay ceiling, in ms (from `baseMs` to 2^31 - 1). @default 30000, or `baseMs` when larger */
  maxMs?: number;
  /** What to return once `maxAttempts` is reached: `skip()` or `stop(error)`. @default 'stop' */
  then?: 'skip' | 'stop';
  /** Source of randomness in [0, 1) for the jitter. @default Math.random */
  random?: () => number;
}

const defaults = {
  maxAttempts: 5,
  baseMs: 100,
  maxMs: 30_000,
  then: 'stop',
  random: Math.random,
} satisfies Required<BackoffOptions>;

type Check = (value: unknown, options: Required<BackoffOptions>) => string | undefined;
const isDelay = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= MAX_DELAY_MS;

const checks: Record<keyof BackoffOptions, Check> = {
  maxAttempts: (v) => (v === Infinity || (Number.isSafeInteger(v) && (v as number) >= 1) ? undefined : 'a positive integer or Infinity'),
  baseMs: (v) => (isDelay(v) ? undefined : `a number of milliseconds from 0 to ${MAX_DELAY_MS}`),
  maxMs: (v, o) => (isDelay(v) && v >= o.baseMs ? undefined : `a number of milliseconds from baseMs (${o.baseMs}) to ${MAX_DELAY_MS}`),
  then: (v) => (v === 'skip' || v === 'stop' ? undefined : "'skip' or 'stop'"),
  random: (v) => (typeof v === 'function' ? undefined : 'a function returning a number in [0, 1)'),
};

/**
 * A ready `error` callback: retries a failing event with capped exponential backoff, then gives up.
 *
 * The n-th failure of an event (`failure.attempt`) waits about `min(maxMs, baseMs * 2^(n-1))`, with
 * "equal jitter": half of that ceiling is fixed and half random, so the delay lies in
 * `[ceiling / 2, ceiling]` (rounded to whole ms) and retries of many workers spread out.
 * The `maxAttempts`-th failure returns `then` instead: `skip()` (dead letter) or `stop(error)`.
 * The retry context of the previous failure is carried on.
 * @throws HandlerConfigError for an unknown option or a bad value.
 * @example
 * defineHandler({ name: 'Sync', handle, error: backoff({ maxAttempts: 8, baseMs: 200, then: 'skip' }) });
 */
export function backoff(
  options: BackoffOptions = {},
): (error: unknown, event: RecordedEvent, failure: FailureContext) => ErrorAction {
  const settings = resolve(options);
  return (error, _event, failure) => {
    const attempt = Math.max(1, failure.attempt);
    if (attempt >= settings.maxAttempts) return settings.then === 'skip' ? skip() : stop(error);
    return retry(backoffDelay(attempt, settings), failure.context);
  };
}

/**
 * The delay before retrying after failure number `attempt` (1-based), as {@link backoff} computes it.
 * @example
 * backoffDelay(3, { baseMs: 100, maxMs: 30_000, random: () => 1 }); // 400
 */
export function backoffDelay(attempt: number, settings: { baseMs: number; maxMs: number; random: () => number }): number {
  // 2^60 already exceeds any allowed maxMs; capping the exponent keeps baseMs 0 away from 0 * Infinity.
  const ceiling = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.min(attempt - 1, 60));
  const draw = settings.random();
  const unit = Number.isFinite(draw) ? Math.min(1, Math.max(0, draw)) : 0;
  return Math.round(ceiling / 2 + (ceiling / 2) * unit);
}

function resolve(options: unknown): Required<BackoffOptions> {
  if (!isPlainObject(options)) {
    throw new HandlerConfigError(`backoff(options): options must be an object, got ${describeValue(options)}`);
  }
  const known = Object.keys(checks);
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(checks, key)) {
      const suggestion = suggestName(key, known);
      throw new HandlerConfigError(
        `backoff(options): unknown option "${key}"${suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`} (known options: ${known.join(', ')})`,
        key,
      );
    }
  }
  const settings = { ...defaults };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) Object.assign(settings, { [key]: value });
  }
  if (options.maxMs === undefined && typeof settings.baseMs === 'number') {
    settings.maxMs = Math.max(defaults.maxMs, settings.baseMs);
  }
  for (const key of Object.keys(checks) as (keyof BackoffOptions)[]) {
    const problem = checks[key](settings[key], settings);
    if (problem !== undefined) {
      throw new HandlerConfigError(`backoff(options): option "${key}" must be ${problem}, got ${describeValue(settings[key])}`, key);
    }
  }
  return settings;
}
