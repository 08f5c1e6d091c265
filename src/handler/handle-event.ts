import type { TransactionSql } from 'postgres';
import type { Clock } from '../clock.ts';
import type { RecordedEvent } from '../events/types.ts';
import type { NewDeadLetter, Suspect } from '../store/types.ts';
import type { Telemetry } from '../telemetry/emitter.ts';
import { telemetryAction, type FailureDecision } from './decide.ts';
import { routeFailure } from './failure.ts';
import { parkPoison } from './park.ts';
import { invokeHandle, isPromiseLike, stateFromResult } from './invoke.ts';
import type { HandlerScope } from './scope.ts';
import type { HandlerConfig, HandlerContext, PartitionKey } from './types.ts';

/**
 * One event queued for a worker, as handlers see it (upcast); `routingError` is set when upcasting or
 * `partitionBy` threw for it (see routing.ts).
 */
export interface Delivery {
  readonly event: RecordedEvent;
  readonly partition: PartitionKey | undefined;
  readonly routingError?: unknown;
  /** The event as stored, when upcasting changed it: what a dead letter records. */
  readonly source?: RecordedEvent;
  /** After a routing failure: upcasts and routes the stored event again (a retry). */
  readonly retryRouting?: (ctx: HandlerContext) => Delivery;
  /** The event reached `crashLimit` (see crash-guard.ts): it is dead-lettered, never handed to `handle`. */
  readonly poison?: Suspect;
}

/** Where a retried event stands: failures so far and the context of the last `retry`. */
export interface RetryState {
  readonly attempt: number;
  readonly context: Record<string, unknown>;
}

/** How handling one event ended. `delay`: retry after `delayMs`, which the caller waits for. */
export type EventResult =
  | { readonly kind: 'handled' | 'skipped' | 'halted' }
  | { readonly kind: 'stopped'; readonly reason: unknown }
  | { readonly kind: 'delay'; readonly delayMs: number; readonly retry: RetryState };

/** What handling needs from the worker running it. */
export interface HandleEnv {
  readonly config: HandlerConfig;
  readonly scope: HandlerScope;
  readonly appName: string;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  readonly workerIndex: number;
  /** The worker's current state. */
  state: unknown;
  /** Whether the worker was told to halt. */
  halted(): boolean;
  /** Runs `handle`: directly, or inside a savepoint of a transaction (`sql` set in the context). */
  run(event: RecordedEvent, ctx: HandlerContext): unknown;
  /** The transaction handed to `handle` as `ctx.sql`, if any. */
  readonly sql: TransactionSql | undefined;
  deadLetter(deadLetter: NewDeadLetter): Promise<void>;
  recordError(error: unknown): void;
}

const FIRST_TRY: RetryState = { attempt: 0, context: {} };
const HANDLED: EventResult = { kind: 'handled' };
const HALTED: EventResult = { kind: 'halted' };

/** An attempt that did not succeed synchronously: when it began, its context, and its pending result or error. */
interface StartedAttempt {
  readonly started: number | undefined;
  readonly ctx: HandlerContext;
  readonly outcome: { readonly pending: PromiseLike<unknown> } | { readonly error: unknown };
}

/**
 * Handles one event, routing each failure through `error()`: immediate retries loop here; a delayed retry,
 * skip (dead letter recorded) or stop is returned to the caller. The event's acknowledgement is the caller's.
 * When a first attempt's `handle` returns a non-promise without throwing, the result comes back synchronously
 * (no promise, no microtask per event); otherwise as a promise.
 */
export function handleEvent(delivery: Delivery, env: HandleEnv, from: RetryState = FIRST_TRY): EventResult | Promise<EventResult> {
  if (delivery.poison !== undefined) return parkPoison(delivery, delivery.poison, env);
  if (from.attempt > 0 || 'routingError' in delivery) return handleAttempts(delivery, env, from, undefined);
  if (env.halted()) return HALTED;
  const { event } = delivery;
  const started = startTime(env);
  const ctx = contextFor(env, delivery.partition);
  if (env.telemetry.hasListeners('handle:start')) env.telemetry.emit('handle:start', basePayload(env, event));
  let result: unknown;
  try {
    result = env.run(event, ctx);
  } catch (error) {
    return handleAttempts(delivery, env, from, { started, ctx, outcome: { error } });
  }
  if (isPromiseLike(result)) return handleAttempts(delivery, env, from, { started, ctx, outcome: { pending: result } });
  succeeded(env, event, started, result);
  return HANDLED;
}

/** The attempts of {@link handleEvent} that need to wait: a pending `handle`, a failure, retries. */
async function handleAttempts(delivery: Delivery, env: HandleEnv, from: RetryState, first: StartedAttempt | undefined): Promise<EventResult> {
  const { config, telemetry } = env;
  let route = routeOf(delivery);
  let { event } = route;
  let attempt = from.attempt;
  let context = from.context;
  if (attempt > 0 && route.failed) ({ event } = route = reroute(config, route, contextFor(env, undefined)));
  for (let current = first; ; current = undefined) {
    if (current === undefined && env.halted()) return HALTED;
    const started = current !== undefined ? current.started : startTime(env);
    const ctx = current?.ctx ?? contextFor(env, route.partition);
    if (current === undefined && telemetry.hasListeners('handle:start')) telemetry.emit('handle:start', basePayload(env, event));
    let error: unknown;
    try {
      let result: unknown;
      if (current === undefined) {
        if (route.failed) throw route.routingError;
        result = env.run(event, ctx);
      } else if ('error' in current.outcome) {
        throw current.outcome.error;
      } else {
        result = current.outcome.pending;
      }
      if (isPromiseLike(result)) result = await result;
      succeeded(env, event, started, result);
      return HANDLED;
    } catch (thrown) {
      error = thrown;
    }
    attempt++;
    env.recordError(error);
    const failure = { attempt, context, error, handlerName: config.name, state: env.state, event };
    const decision = await routeFailure(config, error, event, failure);
    emitException(env, event, started, error, attempt, decision);
    if (decision.kind === 'stop') return { kind: 'stopped', reason: decision.reason };
    if (decision.kind === 'skip') {
      await env.deadLetter({ handlerName: config.name, event: route.source, error: describeError(error), attempts: attempt });
      return { kind: 'skipped' };
    }
    context = decision.context;
    if (decision.delayMs > 0) return { kind: 'delay', delayMs: decision.delayMs, retry: { attempt, context } };
    // An immediate retry of a handle that fails synchronously would otherwise loop in microtasks and starve
    // timers and I/O (the whole process); one macrotask per retry keeps the app responsive.
    await new Promise((resolve) => setImmediate(resolve));
    if (route.failed) ({ event } = route = reroute(config, route, ctx));
  }
}

/**
 * When an attempt began, for the durations of `handle:stop` and `handle:exception`; nobody listening, the
 * clock is not read (once per event otherwise). A listener added while the attempt runs sees a duration of 0.
 */
function startTime(env: HandleEnv): number | undefined {
  const { telemetry } = env;
  return telemetry.hasListeners('handle:stop') || telemetry.hasListeners('handle:exception') ? env.clock.now() : undefined;
}

function durationSince(env: HandleEnv, started: number | undefined): number {
  return started === undefined ? 0 : env.clock.now() - started;
}

/** A successful attempt: takes `handle`'s `{ state }` and reports `handle:stop`. */
function succeeded(env: HandleEnv, event: RecordedEvent, started: number | undefined, result: unknown): void {
  const next = stateFromResult(result);
  if (next !== undefined) env.state = next.state;
  if (env.telemetry.hasListeners('handle:stop')) {
    env.telemetry.emit('handle:stop', { ...basePayload(env, event), durationMs: durationSince(env, started) });
  }
}

/** Runs `handle` as configured: in the handler's async scope, with its timeout. */
export function directRun(env: Pick<HandleEnv, 'config' | 'scope' | 'clock'>) {
  return (event: RecordedEvent, ctx: HandlerContext): unknown => invokeHandle(env.config, env.scope, env.clock, event, ctx);
}

function contextFor(env: HandleEnv, partition: PartitionKey | undefined): HandlerContext {
  const { config, state, workerIndex, appName: app, sql } = env;
  // Two literals rather than a spread: this runs once per event.
  return sql === undefined
    ? { handlerName: config.name, state, workerIndex, partition, app }
    : { handlerName: config.name, state, workerIndex, partition, app, sql };
}

/** Where a delivery stands: the event handlers see, the stored one, its key, and its routing failure if any. */
interface Route {
  readonly event: RecordedEvent;
  readonly source: RecordedEvent;
  readonly partition: PartitionKey | undefined;
  readonly failed: boolean;
  readonly routingError: unknown;
  readonly retryRouting: Delivery['retryRouting'];
}

function routeOf(delivery: Delivery): Route {
  return {
    event: delivery.event,
    source: delivery.source ?? delivery.event,
    partition: delivery.partition,
    failed: 'routingError' in delivery,
    routingError: delivery.routingError,
    retryRouting: delivery.retryRouting,
  };
}

/** Routes a delivery whose routing failed again: upcasting and `partitionBy` when it can, else `partitionBy` alone. */
function reroute(config: HandlerConfig, route: Route, ctx: HandlerContext): Route {
  if (route.retryRouting !== undefined) return routeOf(route.retryRouting(ctx));
  try {
    return { ...route, partition: config.partitionBy?.(route.event, ctx), failed: false, routingError: undefined };
  } catch (routingError) {
    return { ...route, partition: undefined, failed: true, routingError };
  }
}

function basePayload(env: HandleEnv, event: RecordedEvent) {
  return { app: env.appName, handlerName: env.config.name, workerIndex: env.workerIndex, event, state: env.state };
}

function emitException(env: HandleEnv, event: RecordedEvent, started: number | undefined, error: unknown, attempt: number, decision: FailureDecision): void {
  if (!env.telemetry.hasListeners('handle:exception')) return;
  env.telemetry.emit('handle:exception', {
    ...basePayload(env, event),
    durationMs: durationSince(env, started),
    error,
    attempt,
    action: telemetryAction(decision),
  });
}

/** The serializable part of an error, for dead letters: message, stack, and its string `code` when it has one. */
export function describeError(error: unknown): { message: string; stack?: string; code?: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    message: error.message,
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    ...(typeof code === 'string' ? { code } : {}),
  };
}
