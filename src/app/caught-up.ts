/** `app.caughtUp`: wait until handlers have acknowledged every event stored when it was called. */
import { describeValue } from '../describe.ts';
import { HandlerConfigError } from '../errors.ts';
import type { EventStore } from '../store/types.ts';
import type { ConsistencyWaiter } from './consistency.ts';
import type { CaughtUpOptions } from './types.ts';

/** What {@link waitCaughtUp} needs from the app. */
export interface CaughtUpDeps {
  readonly store: EventStore;
  readonly waiter: ConsistencyWaiter;
  /** Whether this app started a handler of that name. */
  knows(name: string): boolean;
  /** The handlers of this app running now. */
  running(): string[];
}

const DEFAULT_TIMEOUT_MS = 5000;
const KNOWN_OPTIONS: ReadonlySet<string> = new Set(['handlers', 'timeoutMs']);

/**
 * Resolves once every named handler (default: every running handler of the app) is at or past the head of the
 * log as it is now; rejects with `ConsistencyTimeoutError` naming those still behind after `timeoutMs`.
 * @throws HandlerConfigError for bad options or a handler name this app did not start.
 * @example
 * await waitCaughtUp({ handlers: ['Totals'], timeoutMs: 2000 }, deps);
 */
export async function waitCaughtUp(options: CaughtUpOptions | undefined, deps: CaughtUpDeps): Promise<void> {
  const { handlers, timeoutMs } = resolveCaughtUpOptions(options);
  const unknown = (handlers ?? []).filter((name) => !deps.knows(name));
  if (unknown.length > 0) {
    throw new HandlerConfigError(`caughtUp: no handler named ${unknown.map((name) => `"${name}"`).join(', ')} in this app`, 'handlers');
  }
  const names = handlers ?? deps.running();
  const head = await deps.store.headPosition();
  if (names.length === 0 || head === 0) return;
  await deps.waiter.wait(names, head, timeoutMs);
}

function resolveCaughtUpOptions(options: CaughtUpOptions | undefined): { handlers: readonly string[] | undefined; timeoutMs: number } {
  if (options === undefined) return { handlers: undefined, timeoutMs: DEFAULT_TIMEOUT_MS };
  if (typeof options !== 'object' || options === null) {
    throw new HandlerConfigError(`caughtUp options must be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new HandlerConfigError(`caughtUp: unknown option "${key}" (known: handlers, timeoutMs)`, key);
  }
  const { handlers, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
  if (handlers !== undefined && !(Array.isArray(handlers) && handlers.every((name) => typeof name === 'string' && name !== ''))) {
    throw new HandlerConfigError(`caughtUp: option "handlers" must be an array of handler names, got ${describeValue(handlers)}`, 'handlers');
  }
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new HandlerConfigError(`caughtUp: option "timeoutMs" must be a non-negative number, got ${describeValue(timeoutMs)}`, 'timeoutMs');
  }
  return { handlers, timeoutMs };
}
