import type { Clock, TimerHandle } from '../clock.ts';
import type { EventStore } from '../store/types.ts';
import type { Telemetry } from '../telemetry/emitter.ts';
import { directRun, handleEvent, type Delivery, type EventResult, type HandleEnv, type RetryState } from './handle-event.ts';
import type { Checkpoint } from './checkpoint.ts';
import { isTransactionLost } from './checkpoint-transactional.ts';
import { invokeHandle } from './invoke.ts';
import { batchSavepoints } from './savepoints.ts';
import type { HandlerScope } from './scope.ts';
import type { HandlerConfig } from './types.ts';

export type { Delivery } from './handle-event.ts';

/** How a replayed event ended. */
export type HandlingOutcome = 'handled' | 'skipped' | 'stopped' | 'halted';

/** What a worker needs from the subscription that owns it. */
export interface WorkerHost {
  readonly config: HandlerConfig;
  readonly scope: HandlerScope;
  readonly appName: string;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  readonly store: EventStore;
  /** Where handled (or skipped) events are reported: the only way a worker moves the cursor. */
  readonly checkpoint: Checkpoint;
  /** Whether the run is live (caught up), which decides whether a batch waits to fill. */
  live(): boolean;
  /** `error()` decided to stop the handler, or the store failed under a transactional batch. */
  stopHandler(reason: unknown): void;
  /** Remembers the latest failure for `status().lastError`. */
  recordError(error: unknown): void;
  /**
   * Runs a store call with effects (a dead letter's write), repeating it after transient failures for up to the
   * app's `storeRetryMs` (reported as store trouble), or until `halted` is set.
   */
  retryStore<T>(work: () => Promise<T>, halted: { readonly aborted: boolean }): Promise<T>;
}

/** A worker: handles its queue one event at a time, in order, routing failures through `error`. */
export interface Worker {
  readonly index: number;
  /** Queues an event and makes sure the worker runs. */
  push(delivery: Delivery): void;
  /** Resolves once the queue is empty and nothing runs (or the worker halted). */
  idle(): Promise<void>;
  /** Stops after the event in progress; cancels a pending retry delay; queued events stay unhandled. */
  halt(): void;
  /** Handles one event outside the queue (dead-letter replay). */
  handleOnce(delivery: Delivery): Promise<HandlingOutcome>;
}

/** Events per transaction of a `transactional` handler, and the longest a batch keeps adding events. */
const TX_BATCH_EVENTS = 1000;
const TX_BATCH_MS = 50;
const FIRST_TRY: RetryState = { attempt: 0, context: {} };

/** Creates worker `index` of a subscription. */
export function createWorker(index: number, host: WorkerHost): Worker {
  const { config, clock } = host;
  const queue: Delivery[] = [];
  let head = 0;
  let running = false;
  let halted = false;
  /** Ends store retries (a dead letter's write, a transactional batch's re-runs) once the worker halts. */
  const haltSignal = { get aborted() { return halted; } };
  let retryState = FIRST_TRY;
  let idleWaiters: (() => void)[] = [];
  let cancelDelay: (() => void) | undefined;

  const env: HandleEnv = {
    config, scope: host.scope, appName: host.appName, clock, telemetry: host.telemetry, workerIndex: index,
    state: config.state,
    halted: () => halted,
    run: directRun({ config, scope: host.scope, clock }),
    sql: undefined,
    deadLetter: async (deadLetter) => void (await host.retryStore(() => host.store.addDeadLetter(deadLetter), haltSignal)),
    recordError: host.recordError,
  };

  async function run(): Promise<void> {
    running = true;
    try {
      if (host.checkpoint.transactional) await runTransactional();
      else await runPlain();
    } catch (error) {
      // A store failure while recording a dead letter or committing: the handler cannot go on safely.
      host.stopHandler(error);
    } finally {
      running = false;
    }
    // An event pushed while the loop was returning found it still running and did not start it.
    if (head < queue.length && !halted) {
      void run();
      return;
    }
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  async function runPlain(): Promise<void> {
    while (head < queue.length && !halted) {
      // A synchronous `handle` gives a synchronous result: the loop then runs on without a promise per event.
      let result = handleEvent(queue[head] as Delivery, env, retryState);
      if (result instanceof Promise) result = await result;
      if (result.kind === 'handled' || result.kind === 'skipped') {
        host.checkpoint.acknowledge((queue[head] as Delivery).event.eventNumber);
        advance(1);
      } else if (!(await settle(result))) return;
    }
  }

  /** Ends the re-runs of a batch whose transaction failed transiently once the worker halts. */
  const commitControl = {
    signal: haltSignal,
    sleep: (ms: number) => delay(ms).then(() => undefined),
  };

  async function runTransactional(): Promise<void> {
    while (head < queue.length && !halted) {
      let outcome: EventResult | undefined;
      let handled = 0;
      // A re-run (the transaction failed transiently) starts again from where the batch began.
      const stateBefore = env.state;
      const retryBefore = retryState;
      // A re-run takes the events the first complete attempt took (their acks may already be in the tracks),
      // not the ones pushed meanwhile, and not fewer because the handler ran slower this time.
      let rerunCount: number | undefined;
      await host.checkpoint.commit(async (tx) => {
        outcome = undefined;
        handled = 0;
        /** The transaction died under a handler's query: the batch is re-run in a new one, whatever `error` said. */
        let lost: { error: unknown } | undefined;
        env.state = stateBefore;
        retryState = retryBefore;
        // Savepoints only for events that use `ctx.sql` (see savepoints.ts); closed before the transaction's own writes.
        const savepoints = batchSavepoints(tx);
        const txEnv: HandleEnv = {
          ...env,
          sql: tx.sql,
          run: async (event, ctx) => {
            try {
              return await savepoints.run(ctx, (scoped) => invokeHandle(config, host.scope, clock, event, scoped));
            } catch (error) {
              if (isTransactionLost(error)) lost ??= { error };
              throw error;
            }
          },
          deadLetter: async (deadLetter) => {
            await savepoints.close();
            await tx.addDeadLetter(deadLetter);
          },
        };
        const started = clock.now();
        const acknowledged: number[] = [];
        try {
          const more = (): boolean =>
            rerunCount === undefined ? handled < TX_BATCH_EVENTS && clock.now() - started < TX_BATCH_MS : handled < rerunCount;
          while (head + handled < queue.length && more()) {
            const delivery = queue[head + handled] as Delivery;
            let result = handleEvent(delivery, txEnv, retryState);
            if (result instanceof Promise) result = await result;
            if (lost !== undefined) throw lost.error;
            env.state = txEnv.state;
            if (result.kind !== 'handled' && result.kind !== 'skipped') {
              outcome = result;
              break;
            }
            retryState = FIRST_TRY;
            acknowledged.push(delivery.event.eventNumber);
            handled++;
          }
        } catch (error) {
          await savepoints.close().catch(() => undefined);
          throw error;
        }
        await savepoints.close();
        // The event that ended the batch with an outcome (a delayed retry, a stop) is run again too.
        rerunCount ??= outcome === undefined ? handled : handled + 1;
        return acknowledged;
      }, commitControl);
      advance(handled);
      if (outcome !== undefined && !(await settle(outcome))) return;
    }
  }

  /** Acts on a result that is not an acknowledgement; returns whether the worker goes on. */
  async function settle(result: EventResult): Promise<boolean> {
    if (result.kind === 'stopped') {
      halted = true;
      host.stopHandler(result.reason);
      return false;
    }
    if (result.kind === 'delay') {
      retryState = result.retry;
      return delay(result.delayMs);
    }
    return false;
  }

  function advance(count: number): void {
    for (let i = 0; i < count; i++) queue[head + i] = undefined as unknown as Delivery;
    head += count;
    retryState = FIRST_TRY;
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
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
    idle() {
      return running ? new Promise((resolve) => idleWaiters.push(resolve)) : Promise.resolve();
    },
    halt() {
      halted = true;
      cancelDelay?.();
    },
    async handleOnce(delivery) {
      let from = FIRST_TRY;
      for (;;) {
        const result = await handleEvent(delivery, env, from);
        if (result.kind !== 'delay') {
          if (result.kind === 'stopped') host.stopHandler(result.reason);
          return result.kind;
        }
        from = result.retry;
        if (!(await delay(result.delayMs))) return 'halted';
      }
    },
  };
}
