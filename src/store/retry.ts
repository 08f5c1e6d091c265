/**
 * The one retry policy of herald (CONVENTIONS §13): transient store failures are repeated with capped,
 * jittered, doubling delays on the injected clock. What counts as transient is {@link isTransient}, a pure
 * function of the error; the delay of a given failure is {@link backoffDelay}, pure too.
 */
import type { Clock } from '../clock.ts';
import { StoreError } from '../errors.ts';

/** Driver and socket codes of a lost or refused connection (not `CONNECTION_ENDED`: the pool was ended). */
const lostConnection = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  '57P01', // admin_shutdown: terminated by an administrator or a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the server is starting up
]);

function codeOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Whether `error` itself says the connection was lost or refused (a driver or socket code, SQLSTATE class 08). */
export function isConnectionLoss(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && (lostConnection.has(code) || code.startsWith('08'));
}

/**
 * Whether repeating the failed call later may succeed: a lost or refused connection (on the error or anywhere
 * in its `cause` chain), or a {@link StoreError} (a store call that failed past the store's own retries: the
 * database may be back later). Anything else (a bad query, a lost lease, a wrong expected version) is not.
 */
export function isTransient(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    if (current instanceof StoreError || isConnectionLoss(current)) return true;
    current = typeof current === 'object' ? (current as { cause?: unknown }).cause : undefined;
  }
  return false;
}

/** Delays of a retry policy: `baseMs` doubling per failure up to `capMs`, with jitter. */
export interface BackoffPolicy {
  /** Delay ceiling after the first failure. */
  readonly baseMs: number;
  /** Highest delay ceiling. */
  readonly capMs: number;
}

/**
 * The delay before retrying after `failures` failures in a row (0 for the first): a ceiling of
 * `min(capMs, baseMs × 2^failures)`, of which a random half is kept ("equal jitter", so that processes
 * retrying together spread out, and no delay exceeds its ceiling). `random` returns a number in [0, 1).
 */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(failures, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/**
 * The backoff of every store call a handler repeats (reads, start-up, in-flight notes, transactional re-runs,
 * dead letter writes): 100 ms doubling to at most 5 s, jittered (docs/error-handling.md#store-failures).
 */
export const HANDLER_STORE_BACKOFF: BackoffPolicy = { baseMs: 100, capMs: 5000 };

/** How {@link retrying} repeats a call. */
export interface RetryOptions extends BackoffPolicy {
  readonly clock: Clock;
  /** Whether a failure is worth repeating. @default isTransient */
  readonly retryable?: (error: unknown) => boolean;
  /** Gives up once this much time was spent waiting between attempts. @default Infinity */
  readonly budgetMs?: number;
  /** Stops retrying once set (the last failure is thrown). */
  readonly signal?: { readonly aborted: boolean };
  /** Called with each failure that will be retried, before the wait. */
  readonly onRetry?: (error: unknown, failures: number) => void;
  /** Waits `ms` (default: a timer on `clock`); a caller may end a wait early (e.g. woken by new events). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

/** Runs `work`, repeating it after retryable failures with {@link backoffDelay} waits until it succeeds or gives up. */
export async function retrying<T>(work: () => Promise<T>, options: RetryOptions): Promise<T> {
  const retryable = options.retryable ?? isTransient;
  const budget = options.budgetMs ?? Number.POSITIVE_INFINITY;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => options.clock.setTimeout(resolve, ms)));
  const aborted = (): boolean => options.signal?.aborted === true;
  let waited = 0;
  for (let failures = 0; ; failures++) {
    try {
      return await work();
    } catch (error) {
      if (aborted() || !retryable(error) || waited >= budget) throw error;
      const pause = Math.min(backoffDelay(failures, options, options.random), budget - waited);
      waited += pause;
      options.onRetry?.(error, failures + 1);
      await sleep(pause);
      if (aborted()) throw error;
    }
  }
}
