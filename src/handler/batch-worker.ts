import type { TimerHandle } from '../clock.ts';
import type { BatchFlushReason } from '../telemetry/types.ts';
import { isTransactionLost } from './checkpoint-transactional.ts';
import { handleBatch, type BatchEnv } from './handle-batch.ts';
import type { Delivery, EventResult, RetryState } from './handle-event.ts';
import { invokeHandleBatch } from './invoke.ts';
import { batchLength, planBatch } from './router.ts';
import type { HandlingOutcome, Worker, WorkerHost } from './worker.ts';

const FIRST_TRY: RetryState = { attempt: 0, context: {} };

/**
 * Worker `index` of a batch handler: hands consecutive events of its queue to `handleBatch`, at most `batchSize`
 * at a time, in order, as {@link planBatch} decides; a transactional handler commits each batch in one
 * transaction with the cursor. Failures go through `error(err, events, failure)`.
 */
export function createBatchWorker(index: number, host: WorkerHost): Worker {
  const { config, clock, checkpoint } = host;
  const batchSize = config.batchSize ?? 1;
  const timeoutMs = config.batchTimeoutMs ?? 0;
  const queue: Delivery[] = [];
  let head = 0;
  let running = false;
  let halted = false;
  /** Ends store retries (a dead letter's write, a transactional batch's re-runs) once the worker halts. */
  const haltSignal = { get aborted() { return halted; } };
  let retryState = FIRST_TRY;
  let idleWaiters: (() => void)[] = [];
  let cancelWait: (() => void) | undefined;
  let moreArrived: (() => void) | undefined;
  /** When the batch being filled began waiting for more events (live, with `batchTimeoutMs`). */
  let waitingSince: number | undefined;

  const env: BatchEnv = {
    config, scope: host.scope, appName: host.appName, clock, telemetry: host.telemetry, workerIndex: index,
    state: config.state,
    halted: () => halted,
    run: (events, ctx) => invokeHandleBatch(config, host.scope, clock, events, ctx),
    sql: undefined,
    deadLetter: async (deadLetter) => void (await host.retryStore(() => host.store.addDeadLetter(deadLetter), haltSignal)),
    recordError: host.recordError,
  };

  /** Ends the re-runs of a batch whose transaction failed transiently once the worker halts. */
  const commitControl = {
    signal: haltSignal,
    sleep: (ms: number) => pause(ms).then(() => undefined),
  };

  async function run(): Promise<void> {
    running = true;
    try {
      await loop();
    } catch (error) {
      // A store failure while recording a dead letter or committing: the handler cannot go on safely.
      host.stopHandler(error);
    } finally {
      running = false;
    }
    if (head < queue.length && !halted) {
      void run();
      return;
    }
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  async function loop(): Promise<void> {
    while (head < queue.length && !halted) {
      const waited = waitingSince === undefined ? 0 : clock.now() - waitingSince;
      const plan = planBatch(queue.length - head, batchSize, timeoutMs, host.live(), waited);
      if ('waitMs' in plan) {
        waitingSince ??= clock.now();
        await waitForMore(plan.waitMs);
        continue;
      }
      waitingSince = undefined;
      const take = batchLength(queue, head, plan.take);
      const batch = queue.slice(head, head + take);
      const result = checkpoint.transactional ? await inTransaction(batch, plan.flushReason) : await handleBatch(batch, env, retryState, plan.flushReason);
      if (result.kind === 'handled' || result.kind === 'skipped') {
        if (!checkpoint.transactional) for (const delivery of batch) checkpoint.acknowledge(delivery.event.eventNumber);
        advance(take);
      } else if (!(await settle(result))) return;
    }
  }

  /** One transaction per batch: `handleBatch`'s writes (in a savepoint), its dead letters, and the cursor. */
  async function inTransaction(batch: Delivery[], flushReason: BatchFlushReason): Promise<EventResult> {
    let result: EventResult = { kind: 'halted' };
    // A re-run (the transaction failed transiently) starts again from the state before the batch.
    const stateBefore = env.state;
    await checkpoint.commit(async (tx) => {
      /** The transaction died under the handler's query: the batch is re-run in a new one, whatever `error` said. */
      let lost: { error: unknown } | undefined;
      const txEnv: BatchEnv = {
        ...env,
        state: stateBefore,
        sql: tx.sql,
        run: async (events, ctx) => {
          try {
            return await tx.savepoint((sql) => Promise.resolve(invokeHandleBatch(config, host.scope, clock, events, { ...ctx, sql })));
          } catch (error) {
            if (isTransactionLost(error)) lost ??= { error };
            throw error;
          }
        },
        deadLetter: (deadLetter) => tx.addDeadLetter(deadLetter).then(() => undefined),
      };
      result = await handleBatch(batch, txEnv, retryState, flushReason);
      if (lost !== undefined) throw lost.error;
      env.state = txEnv.state;
      return result.kind === 'handled' || result.kind === 'skipped' ? batch.map((delivery) => delivery.event.eventNumber) : [];
    }, commitControl);
    return result;
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
      return pause(result.delayMs);
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

  /** Waits `ms` (a delayed retry); resolves `false` when halted meanwhile. */
  function pause(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer: TimerHandle = clock.setTimeout(() => {
        cancelWait = undefined;
        resolve(true);
      }, ms);
      cancelWait = () => {
        clock.clearTimeout(timer);
        cancelWait = undefined;
        resolve(false);
      };
    });
  }

  /** Waits up to `ms` for another event to be queued (or the worker to halt). */
  function waitForMore(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clock.clearTimeout(timer);
        moreArrived = undefined;
        cancelWait = undefined;
        resolve();
      };
      const timer: TimerHandle = clock.setTimeout(done, ms);
      moreArrived = done;
      cancelWait = done;
    });
  }

  return {
    index,
    push(delivery) {
      queue.push(delivery);
      moreArrived?.();
      if (running || halted) return;
      // Started after the current synchronous stretch, so that a page routed in one go fills the batch.
      running = true;
      queueMicrotask(() => void run());
    },
    idle() {
      return running ? new Promise((resolve) => idleWaiters.push(resolve)) : Promise.resolve();
    },
    halt() {
      halted = true;
      cancelWait?.();
    },
    async handleOnce(delivery) {
      let from = FIRST_TRY;
      for (;;) {
        const result = await handleBatch([delivery], env, from, 'immediate');
        if (result.kind !== 'delay') {
          if (result.kind === 'stopped') host.stopHandler(result.reason);
          return result.kind as HandlingOutcome;
        }
        from = result.retry;
        if (!(await pause(result.delayMs))) return 'halted';
      }
    },
  };
}
