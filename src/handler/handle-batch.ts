import type { RecordedEvent } from '../events/types.ts';
import type { BatchFlushReason } from '../telemetry/types.ts';
import { telemetryAction, type FailureDecision } from './decide.ts';
import { routeBatchFailure } from './failure.ts';
import { describeError, type Delivery, type EventResult, type HandleEnv, type RetryState } from './handle-event.ts';
import { isPromiseLike, stateFromResult } from './invoke.ts';
import { parkPoison } from './park.ts';
import type { BatchFailureContext, HandlerContext, PartitionKey } from './types.ts';

/** What handling a batch needs from its worker: {@link HandleEnv} with `run` calling `handleBatch`. */
export interface BatchEnv extends Omit<HandleEnv, 'run'> {
  /** Runs `handleBatch`: directly, or inside a savepoint of the batch's transaction. */
  run(events: readonly RecordedEvent[], ctx: HandlerContext): unknown;
}

const HANDLED: EventResult = { kind: 'handled' };
const HALTED: EventResult = { kind: 'halted' };

/**
 * Hands one batch to `handleBatch`, routing each failure through `error(err, events, failure)`: immediate retries
 * (the same batch) loop here; a delayed retry, a skip (one dead letter per event, recorded here) or a stop is
 * returned. Acknowledging the batch is the caller's.
 */
export async function handleBatch(batch: readonly Delivery[], env: BatchEnv, from: RetryState, flushReason: BatchFlushReason): Promise<EventResult> {
  const { config } = env;
  const first = batch[0] as Delivery;
  if (first.poison !== undefined) return parkPoison(first, first.poison, env);
  const events = batch.map((delivery) => delivery.event);
  let attempt = from.attempt;
  let context = from.context;
  for (;;) {
    if (env.halted()) return HALTED;
    const started = startTime(env);
    const ctx = contextFor(env, batch);
    if (env.telemetry.hasListeners('batch:start')) env.telemetry.emit('batch:start', basePayload(env, events));
    let error: unknown;
    try {
      const delivered = rerouteOrThrow(batch, ctx, attempt);
      let result = env.run(delivered === batch ? events : delivered.map((delivery) => delivery.event), ctx);
      if (isPromiseLike(result)) result = await result;
      const next = stateFromResult(result);
      if (next !== undefined) env.state = next.state;
      if (env.telemetry.hasListeners('batch:stop')) {
        env.telemetry.emit('batch:stop', { ...basePayload(env, events), durationMs: durationSince(env, started), flushReason });
      }
      return HANDLED;
    } catch (thrown) {
      error = thrown;
    }
    attempt++;
    env.recordError(error);
    const failure: BatchFailureContext = { attempt, context, error, handlerName: config.name, state: env.state, event: events[0] as RecordedEvent, events };
    const decision = await routeBatchFailure(config, error, failure);
    emitException(env, events, started, flushReason, error, attempt, decision);
    if (decision.kind === 'stop') return { kind: 'stopped', reason: decision.reason };
    if (decision.kind === 'skip') {
      const described = describeError(error);
      // A dead letter records the stored event (before upcasting), so a replay upcasts it again.
      for (const { event, source } of batch) await env.deadLetter({ handlerName: config.name, event: source ?? event, error: described, attempts: attempt });
      return { kind: 'skipped' };
    }
    context = decision.context;
    if (decision.delayMs > 0) return { kind: 'delay', delayMs: decision.delayMs, retry: { attempt, context } };
    // One macrotask per immediate retry, so a batch failing synchronously cannot starve timers and I/O.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * An event whose upcasting or `partitionBy` threw is a batch of its own: its first attempt fails with that error;
 * a retry upcasts and asks `partitionBy` again and, if both answer now, hands the upcast event over.
 */
function rerouteOrThrow(batch: readonly Delivery[], ctx: HandlerContext, attempt: number): readonly Delivery[] {
  const first = batch[0] as Delivery;
  if (!('routingError' in first)) return batch;
  if (attempt === 0 || first.retryRouting === undefined) throw first.routingError;
  const again = first.retryRouting(ctx);
  if ('routingError' in again) throw again.routingError;
  return [again];
}

/** `ctx.partition` is the batch's key when all its events share one, else `undefined`. */
function contextFor(env: BatchEnv, batch: readonly Delivery[]): HandlerContext {
  const { config, state, workerIndex, appName: app, sql } = env;
  const key: PartitionKey | undefined = (batch[0] as Delivery).partition;
  const partition = key !== undefined && batch.every((delivery) => delivery.partition === key) ? key : undefined;
  return sql === undefined
    ? { handlerName: config.name, state, workerIndex, partition, app }
    : { handlerName: config.name, state, workerIndex, partition, app, sql };
}

/** When an attempt began; the clock is not read when nobody listens to `batch:stop` or `batch:exception`. */
function startTime(env: BatchEnv): number | undefined {
  const { telemetry } = env;
  return telemetry.hasListeners('batch:stop') || telemetry.hasListeners('batch:exception') ? env.clock.now() : undefined;
}

function durationSince(env: BatchEnv, started: number | undefined): number {
  return started === undefined ? 0 : env.clock.now() - started;
}

function basePayload(env: BatchEnv, events: readonly RecordedEvent[]) {
  return { app: env.appName, handlerName: env.config.name, workerIndex: env.workerIndex, events, state: env.state };
}

function emitException(
  env: BatchEnv,
  events: readonly RecordedEvent[],
  started: number | undefined,
  flushReason: BatchFlushReason,
  error: unknown,
  attempt: number,
  decision: FailureDecision,
): void {
  if (!env.telemetry.hasListeners('batch:exception')) return;
  env.telemetry.emit('batch:exception', {
    ...basePayload(env, events),
    durationMs: durationSince(env, started),
    flushReason,
    error,
    attempt,
    action: telemetryAction(decision),
  });
}
