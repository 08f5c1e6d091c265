import { createActor, fromPromise } from 'xstate';
import { HandlerStoppedError } from '../errors.ts';
import type { RecordedEvent } from '../events/types.ts';
import type { ChildExit } from '../supervisor/types.ts';
import { isNormalStop } from './actions.ts';
import type { NodeIdentity } from '../store/types.ts';
import { slotCountOf } from './define.ts';
import type { RunDeps } from './pump.ts';
import { createSlotRunner, type SlotRunner } from './slot-runner.ts';
import type { SlotAssigner, SlotAssignerFactory, SlotOwnership } from './slots.ts';
import { startHandler } from './startup.ts';
import { stateName, subscriptionMachine } from './subscription-machine.ts';
import type { HandlingOutcome } from './worker.ts';
import type { HandlerState } from './handler-state.ts';

/** Everything one run of a handler needs. */
export interface SubscriptionDeps extends RunDeps {
  /** How long `stop()` lets workers finish queued events. */
  readonly drainTimeoutMs: number;
  /** This process among those running the handler. */
  readonly node: NodeIdentity;
  /** The ownership layer that tells this run which slots it holds. */
  readonly slots: SlotAssignerFactory;
  /** The run ended on its own (never called after `stop()`). */
  onExit(exit: ChildExit): void;
  /** The handler's low-water mark moved (reported only while this run owns every slot; strong consistency waits on it). */
  onAdvance(position: number): void;
  /** A failure or store problem worth showing in `status().lastError`. */
  onError(error: unknown): void;
  /** The lifecycle state changed. */
  onState(state: HandlerState): void;
}

/** One run of a handler: an xstate actor from start to stop or failure. */
export interface Subscription {
  /** Resolves once the handler runs (after `afterStart`); rejects if it ended during start-up. */
  start(): Promise<void>;
  /** Stops on request: drains, saves the cursor. Never reports an exit. Idempotent. */
  stop(timeoutMs?: number): Promise<void>;
  /** Hands one event to the handler again (dead-letter replay); `'halted'` when it is not running. */
  replay(event: RecordedEvent): Promise<HandlingOutcome>;
  readonly state: HandlerState;
  /** The low-water mark, or `undefined` before the cursor is loaded. */
  readonly position: number | undefined;
  /** The position when this run owns every slot (so it alone decides it), else `undefined`. */
  readonly localPosition: number | undefined;
  readonly head: number | undefined;
  /** Slot ownership as this run last saw it, `undefined` before it runs. */
  ownership(): SlotOwnership | undefined;
}

/** Creates (but does not start) one run of a handler. */
export function createSubscription(deps: SubscriptionDeps): Subscription {
  const { config } = deps;
  let runner: SlotRunner | undefined;
  let assigner: SlotAssigner | undefined;
  let stopRequested = false;
  let drainTimeoutMs = deps.drainTimeoutMs;
  let state: HandlerState = 'starting';
  let reachedRunning = false;

  /** Stops the run's work: no new slots, the pump drained (or halted), the slots released. */
  async function finish(how: 'drain' | 'abort', timeoutMs: number): Promise<void> {
    if (runner === undefined || assigner === undefined) return;
    runner.freeze();
    await assigner.quiesce();
    await (how === 'drain' ? runner.drain(timeoutMs) : runner.abort(timeoutMs));
    await assigner.leave();
  }

  function storeTrouble(error: unknown): void {
    deps.onError(error);
    if (deps.telemetry.hasListeners('store:warning')) {
      deps.telemetry.emit('store:warning', {
        app: deps.appName,
        message: `handler "${config.name}": ${error instanceof Error ? error.message : String(error)}; retrying`,
        detail: { handlerName: config.name, error },
      });
    }
  }

  function startReading(output: StartupOutput): void {
    const slotCount = slotCountOf(config);
    const started = createSlotRunner({
      config: { ...config, state: output.state },
      store: deps.store,
      clock: deps.clock,
      telemetry: deps.telemetry,
      appName: deps.appName,
      scope: deps.scope,
      settings: deps.settings,
      upcasting: deps.upcasting,
      nodeId: deps.node.id,
      slotCount,
      startPosition: output.cursor.position,
      onAdvance: deps.onAdvance,
      signals: {
        caughtUp: () => actor.send({ type: 'CAUGHT_UP' }),
        behind: () => actor.send({ type: 'BEHIND' }),
        stopRequested: (reason) => actor.send({ type: 'FAIL', reason }),
        storeTrouble,
        failure: deps.onError,
        leaseLost: (error) => assigner?.lost(error),
      },
    });
    runner = started;
    assigner = deps.slots({
      config,
      slotCount,
      holder: started,
      signals: { standby: () => actor.send({ type: 'STANDBY' }), storeTrouble, failure: deps.onError },
    });
    assigner.start();
  }

  const actor = createActor(
    subscriptionMachine.provide({
      actors: {
        startup: startHandler(deps),
        drain: fromPumpWork(() => finish('drain', drainTimeoutMs)),
        abort: fromPumpWork(() => finish('abort', deps.drainTimeoutMs)),
      },
      actions: {
        startReading: ({ event }) => startReading((event as unknown as { output: StartupOutput }).output),
      },
    }),
  );

  const settled = new Promise<void>((resolve) => {
    actor.subscribe({
      next: (snapshot) => {
        const next = stateName(snapshot.value);
        if (next !== state) {
          const from = state;
          state = next;
          deps.onState(next);
          if (deps.telemetry.hasListeners('handler:state')) {
            deps.telemetry.emit('handler:state', { app: deps.appName, handlerName: config.name, from, to: next });
          }
        }
        if (snapshot.status === 'done') {
          resolve();
          const { reason, failed } = snapshot.context;
          // An abnormal end during start-up is reported by start() rejecting, not as an exit as well.
          if (!stopRequested && failed && (reachedRunning || isNormalStop(reason))) {
            deps.onExit(isNormalStop(reason) ? { kind: 'normal' } : { kind: 'abnormal', reason });
          }
        }
      },
      error: () => resolve(),
    });
  });

  return {
    start() {
      return new Promise((resolve, reject) => {
        const subscription = actor.subscribe((snapshot) => {
          if (snapshot.matches('running')) {
            reachedRunning = true;
            subscription.unsubscribe();
            resolve();
          } else if (snapshot.status === 'done') {
            subscription.unsubscribe();
            const { reason } = snapshot.context;
            // afterStart returned stop('normal'), or the app stopped it while starting: it started and ended cleanly.
            if (stopRequested || isNormalStop(reason)) resolve();
            else reject(reason ?? new HandlerStoppedError(config.name));
          }
        });
        actor.start();
      });
    },
    async stop(timeoutMs) {
      stopRequested = true;
      if (timeoutMs !== undefined) drainTimeoutMs = timeoutMs;
      if (actor.getSnapshot().status === 'active') actor.send({ type: 'STOP' });
      await settled;
    },
    async replay(event) {
      if (runner === undefined || !actor.getSnapshot().matches('running')) return 'halted';
      return runner.replay(event);
    },
    get state() {
      return state;
    },
    get position() {
      return runner?.position;
    },
    get localPosition() {
      return runner !== undefined && runner.ownsAll ? runner.position : undefined;
    },
    ownership: () => assigner?.ownership(),
    get head() {
      return runner?.head;
    },
  };
}

/** What start-up hands to reading: the loaded cursor and the state `afterStart` left. */
interface StartupOutput {
  readonly cursor: { readonly position: number; readonly acked: readonly number[] };
  readonly state: unknown;
}

function fromPumpWork(work: () => Promise<void> | undefined) {
  return fromPromise<void>(async () => {
    await work();
  });
}
