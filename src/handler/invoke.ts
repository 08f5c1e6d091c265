import type { Clock, TimerHandle } from '../clock.ts';
import { HandlerConfigError, HandlerTimeoutError } from '../errors.ts';
import type { RecordedEvent } from '../events/types.ts';
import { handlerScope, type HandlerScope } from './scope.ts';
import type { HandlerConfig, HandlerContext } from './types.ts';

/**
 * Calls `handle` inside the handler's async scope, failing with `HandlerTimeoutError` when it runs past
 * `timeoutMs`. A timed-out `handle` cannot be cancelled: it runs on, but its outcome is ignored.
 */
export function invokeHandle(
  config: HandlerConfig,
  scope: HandlerScope,
  clock: Clock,
  event: RecordedEvent,
  ctx: HandlerContext,
): unknown {
  const { handle } = config;
  if (handle === undefined) throw new HandlerConfigError(`handler "${config.name}" has no handle (it is a batch handler)`, 'handle');
  return withTimeout(config, clock, ctx, handlerScope.run(scope, () => handle.call(config, event, ctx)));
}

/** Calls `handleBatch` like {@link invokeHandle} calls `handle`: in the handler's scope, with its `timeoutMs`. */
export function invokeHandleBatch(
  config: HandlerConfig,
  scope: HandlerScope,
  clock: Clock,
  events: readonly RecordedEvent[],
  ctx: HandlerContext,
): unknown {
  const { handleBatch } = config;
  if (handleBatch === undefined) throw new HandlerConfigError(`handler "${config.name}" has no handleBatch`, 'handleBatch');
  return withTimeout(config, clock, ctx, handlerScope.run(scope, () => handleBatch.call(config, events, ctx)));
}

/** `result`, failing with `HandlerTimeoutError` when it is a promise still pending after the handler's `timeoutMs`. */
function withTimeout(config: HandlerConfig, clock: Clock, ctx: HandlerContext, result: unknown): unknown {
  if (config.timeoutMs === undefined || !isPromiseLike(result)) return result;
  const timeoutMs = config.timeoutMs;
  return new Promise((resolve, reject) => {
    const timer: TimerHandle = clock.setTimeout(() => reject(new HandlerTimeoutError(ctx.handlerName, timeoutMs)), timeoutMs);
    result.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clock.clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Whether `value` is a thenable. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** `handle`'s `{ state }` result, if it returned one. */
export function stateFromResult(result: unknown): { state: unknown } | undefined {
  if (typeof result === 'object' && result !== null && 'state' in result) return result as { state: unknown };
  return undefined;
}
