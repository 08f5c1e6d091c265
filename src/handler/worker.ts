import type { Clock, TimerHandle } from '../clock.ts';
import type { RecordedEvent } from '../events/types.ts';
import type { NewDeadLetter } from '../store/types.ts';
import type { Telemetry } from '../telemetry/emitter.ts';
import { telemetryAction, type FailureDecision } from './decide.ts';
import { routeFailure } from './failure.ts';
import { invokeHandle, isPromiseLike, stateFromResult } from './invoke.ts';
import type { HandlerScope } from './scope.ts';
import type { HandlerConfig, HandlerContext, PartitionKey } from './types.ts';

/** What a worker needs from the subscription that owns it. */
export interface WorkerHost {
  readonly config: HandlerConfig;
  readonly scope: HandlerScope;
  readonly appName: string;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  /** Records a skipped event; resolves once it is stored. */
  deadLetter(deadLetter: NewDeadLetter): Promise<void>;
  /** The event is handled (or skipped): count it towards the cursor. */
  acknowledge(eventNumber: number): void;
  /** `error()` decided to stop the handler. */
  stopHandler(reason: unknown): void;
  /** Remembers the latest failure for `status().lastError`. */
  recordError(error: unknown): void;
}

/** One event queued for a worker; `routingError` is set when `partitionBy` threw for it. */
export interface Delivery {
  readonly event: RecordedEvent;
  readonly partition: PartitionKey | undefined;
  readonly routingError?: unknown;
}

/** A worker: handles its queue one event at a time, in order, routing failures through `error`. */
export interface Worker {
  readonly index: number;
  /** Queues an event and makes sure the worker runs. */
  push(delivery: Delivery): void;
  /** Events queued or in progress. */
  readonly backlog: number;
  /** Resolves once the queue is empty and nothing runs (or the worker halted). */
  idle(): Promise<void>;
  /** Stops after the event in progress; cancels a pending retry delay; queued events stay unhandled. */
  halt(): void;
  /** Handles one event outside the queue (dead-letter replay). */
  handleOnce(delivery: Delivery): Promise<HandlingOutcome>;
}

/** How handling one event ended. */
export type HandlingOutcome = 'handled' | 'skipped' | 'stopped' | 'halted';

/** Creates worker `index` of a subscription. */
export function createWorker(index: number, host: WorkerHost): Worker {
  const { config, clock, telemetry } = host;
  const queue: Delivery[] = [];
  let head = 0;
  let running = false;
  let halted = false;
  let state: unknown = config.state;
  let idleWaiters: (() => void)[] = [];
  let cancelDelay: (() => void) | undefined;

  function settleIdle(): void {
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  async function run(): Promise<void> {
    running = true;
    try {
      while (head < queue.length && !halted) {
        const delivery = queue[head] as Delivery;
        const outcome = await process(delivery);
        if (outcome === 'stopped' || outcome === 'halted') break;
        queue[head] = undefined as unknown as Delivery;
        head++;
        if (head > 1024 && head * 2 > queue.length) {
          queue.splice(0, head);
          head = 0;
        }
      }
    } catch (error) {
      // Only a store failure while recording a dead letter gets here: the handler cannot go on safely.
      host.stopHandler(error);
    } finally {
      running = false;
      settleIdle();
    }
  }

  function context(partition: PartitionKey | undefined): HandlerContext {
    return { handlerName: config.name, state, workerIndex: index, partition, app: host.appName };
  }

  async function process(delivery: Delivery): Promise<HandlingOutcome> {
    const { event } = delivery;
    let partition = delivery.partition;
    let routingError = 'routingError' in delivery ? delivery.routingError : undefined;
    let hasRoutingError = 'routingError' in delivery;
    let attempt = 0;
    let failureContext: Record<string, unknown> = {};
    for (;;) {
      if (halted) return 'halted';
      const started = clock.now();
      const ctx = context(partition);
      if (telemetry.hasListeners('handle:start')) {
        telemetry.emit('handle:start', { app: host.appName, handlerName: config.name, workerIndex: index, event, state });
      }
      let error: unknown;
      try {
        if (hasRoutingError) throw routingError;
        let result = invokeHandle(config, host.scope, clock, event, ctx);
        if (isPromiseLike(result)) result = await result;
        const next = stateFromResult(result);
        if (next !== undefined) state = next.state;
        if (telemetry.hasListeners('handle:stop')) {
          const payload = { app: host.appName, handlerName: config.name, workerIndex: index, event, state };
          telemetry.emit('handle:stop', { ...payload, durationMs: clock.now() - started });
        }
        host.acknowledge(event.eventNumber);
        return 'handled';
      } catch (thrown) {
        error = thrown;
      }
      attempt++;
      host.recordError(error);
      const decision = await routeFailure(config, error, event, {
        attempt,
        context: failureContext,
        error,
        handlerName: config.name,
        state,
        event,
      });
      emitException(event, started, error, attempt, decision);
      if (decision.kind === 'retry') {
        failureContext = decision.context;
        if (decision.delayMs > 0 && !(await delay(decision.delayMs))) return 'halted';
        if (hasRoutingError) {
          ({ partition, routingError, hasRoutingError } = reroute(event, ctx));
        }
        continue;
      }
      if (decision.kind === 'skip') {
        await host.deadLetter({ handlerName: config.name, event, error: describeError(error), attempts: attempt });
        host.acknowledge(event.eventNumber);
        return 'skipped';
      }
      host.stopHandler(decision.reason);
      return 'stopped';
    }
  }

  function reroute(event: RecordedEvent, ctx: HandlerContext) {
    try {
      return { partition: config.partitionBy?.(event, ctx), routingError: undefined, hasRoutingError: false };
    } catch (error) {
      return { partition: undefined, routingError: error, hasRoutingError: true };
    }
  }

  function emitException(event: RecordedEvent, started: number, error: unknown, attempt: number, decision: FailureDecision): void {
    if (!telemetry.hasListeners('handle:exception')) return;
    telemetry.emit('handle:exception', {
      app: host.appName,
      handlerName: config.name,
      workerIndex: index,
      event,
      state,
      durationMs: clock.now() - started,
      error,
      attempt,
      action: telemetryAction(decision),
    });
  }

  function delay(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer: TimerHandle = clock.setTimeout(() => {
        cancelDelay = undefined;
        resolve(true);
      }, ms);
      cancelDelay = () => {
        clock.clearTimeout(timer);
        cancelDelay = undefined;
        resolve(false);
      };
    });
  }

  return {
    index,
    push(delivery) {
      queue.push(delivery);
      if (!running && !halted) void run();
    },
    get backlog() {
      return queue.length - head;
    },
    idle() {
      if (!running || halted) return running ? new Promise((resolve) => idleWaiters.push(resolve)) : Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    halt() {
      halted = true;
      cancelDelay?.();
    },
    handleOnce: process,
  };
}

/** The serializable part of an error, for dead letters. */
export function describeError(error: unknown): { message: string; stack?: string } {
  if (error instanceof Error) return error.stack === undefined ? { message: error.message } : { message: error.message, stack: error.stack };
  return { message: String(error) };
}
