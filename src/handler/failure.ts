import type { RecordedEvent } from '../events/types.ts';
import { decideOnFailure, type ErrorCallbackOutcome, type FailureDecision } from './decide.ts';
import { isPromiseLike } from './invoke.ts';
import type { BatchFailureContext, FailureContext, HandlerConfig } from './types.ts';

/**
 * Asks the handler's `error` callback what a failure means and turns the answer into a decision.
 * No callback means stop (as Commanded); a callback that throws or answers garbage means stop too.
 */
export async function routeFailure(
  config: HandlerConfig,
  error: unknown,
  event: RecordedEvent,
  failure: FailureContext,
): Promise<FailureDecision> {
  return decideOnFailure(await askErrorCallback(config, error, event, failure), failure.handlerName);
}

/** {@link routeFailure} for a batch handler: `error(err, events, failure)` with `failure.events`. */
export async function routeBatchFailure(
  config: HandlerConfig,
  error: unknown,
  failure: BatchFailureContext,
): Promise<FailureDecision> {
  return decideOnFailure(await askErrorCallback(config, error, failure.events, failure), failure.handlerName);
}

async function askErrorCallback(
  config: HandlerConfig,
  error: unknown,
  subject: RecordedEvent | readonly RecordedEvent[],
  failure: FailureContext | BatchFailureContext,
): Promise<ErrorCallbackOutcome> {
  if (config.error === undefined) return { kind: 'none', error };
  try {
    // The config's `error` takes the event of a `handle` handler and the batch of a `handleBatch` one.
    const answer = config.error(error, subject as RecordedEvent & readonly RecordedEvent[], failure as FailureContext & BatchFailureContext);
    return { kind: 'returned', value: isPromiseLike(answer) ? await answer : answer };
  } catch (thrown) {
    return { kind: 'threw', error: thrown };
  }
}
