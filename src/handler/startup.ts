import { fromPromise } from 'xstate';
import type { Clock } from '../clock.ts';
import { HANDLER_STORE_BACKOFF, retrying } from '../store/retry.ts';
import type { EventStore } from '../store/types.ts';
import type { StartupResult } from './subscription-machine.ts';
import { slotCountOf } from './define.ts';
import type { HandlerConfig, StopAction } from './types.ts';

/** What start-up needs. */
export interface StartupDeps {
  readonly config: HandlerConfig;
  readonly store: EventStore;
  readonly appName: string;
  readonly clock: Clock;
  onError(error: unknown): void;
}

/**
 * Start-up of one run: registers the handler (creating its cursor at `startFrom` the first time),
 * loads the cursor, then runs `afterStart`. Store failures are retried with backoff until the run is stopped,
 * so a database restart does not burn the supervisor's restart intensity.
 */
export function startHandler(deps: StartupDeps) {
  const { config, store } = deps;
  return fromPromise<StartupResult>(async ({ signal }) => {
    const record = await retryWhileStoreFails(
      () =>
        store.registerHandler({
          name: config.name,
          subscribeTo: config.subscribeTo,
          consistency: config.consistency,
          startFrom: config.startFrom,
          slots: slotCountOf(config),
        }),
      signal,
      deps,
    );
    let state = config.state;
    if (config.afterStart !== undefined) {
      const answer = await config.afterStart({ handlerName: config.name, app: deps.appName, state });
      if (isStopAction(answer)) return { stop: answer.reason };
      if (typeof answer === 'object' && answer !== null && 'state' in answer) state = answer.state;
    }
    return { cursor: record.cursor, state };
  });
}

function isStopAction(value: unknown): value is StopAction {
  return typeof value === 'object' && value !== null && (value as { action?: unknown }).action === 'stop';
}

/** Store failures during start-up are retried (the one retry helper) until they stop being transient or the run stops. */
function retryWhileStoreFails<T>(work: () => Promise<T>, signal: AbortSignal, deps: StartupDeps): Promise<T> {
  return retrying(work, { clock: deps.clock, ...HANDLER_STORE_BACKOFF, signal, onRetry: (error) => deps.onError(error) });
}

