import { createActor, fromPromise } from 'xstate';
import type { RecordedEvent } from '../events/types.ts';
import type { ChildExit } from '../supervisor/types.ts';
import { isNormalStop } from './actions.ts';
import { createConsumer, type Consumer, type LeaseSettings, type SlotOwnership } from '../cluster/consumer.ts';
import type { NodeIdentity } from '../store/types.ts';
import { slotCountOf } from './define.ts';
import type { RunDeps } from './pump.ts';
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
  readonly lease: LeaseSettings;
  /** The run ended on its own (never called after `stop()`). */
  onExit(exit: ChildExit): void;
  /** The low-water mark moved (strong consistency waits on it). */
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
  let pump: Consumer | undefined;
  let stopRequested = false;
  let drainTimeoutMs = deps.drainTimeoutMs;
  let state: HandlerState = 'starting';
  let reachedRunning = false;

  const actor = createActor(
    subscriptionMachine.provide({
      actors: {
        startup: startHandler(deps),
        drain: fromPumpWork(() => pump?.drain(drainTimeoutMs)),
        abort: fromPumpWork(() => pump?.abort(deps.drainTimeoutMs)),
      },
      actions: {
        startReading: ({ event }) => {
          const output = (event as unknown as { output: { cursor: { position: number; acked: readonly number[] }; state: unknown } }).output;
          pump = createConsumer({
            config: { ...config, state: output.state },
            store: deps.store,
            clock: deps.clock,
            telemetry: deps.telemetry,
            appName: deps.appName,
            scope: deps.scope,
            settings: deps.settings,
            upcasting: deps.upcasting,
            node: deps.node,
            lease: deps.lease,
            slotCount: slotCountOf(config),
            startPosition: output.cursor.position,
            signals: {
              caughtUp: () => actor.send({ type: 'CAUGHT_UP' }),
              behind: () => actor.send({ type: 'BEHIND' }),
              standby: () => actor.send({ type: 'STANDBY' }),
              stopRequested: (reason) => actor.send({ type: 'FAIL', reason }),
              advanced: deps.onAdvance,
              storeTrouble: (error) => {
                deps.onError(error);
                if (deps.telemetry.hasListeners('store:warning')) {
                  deps.telemetry.emit('store:warning', {
                    app: deps.appName,
                    message: `handler "${config.name}": ${error instanceof Error ? error.message : String(error)}; retrying`,
                    detail: { handlerName: config.name, error },
                  });
                }
              },
              failure: deps.onError,
            },
          });
          pump.start();
        },
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
            else reject(reason ?? new Error(`handler "${config.name}" stopped during start-up`));
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
      if (pump === undefined || !actor.getSnapshot().matches('running')) return 'halted';
      return pump.replay(event);
    },
    get state() {
      return state;
    },
    get position() {
      return pump?.position;
    },
    get localPosition() {
      return pump !== undefined && pump.ownsAll ? pump.position : undefined;
    },
    ownership: () => pump?.ownership(),
    get head() {
      return pump?.head;
    },
  };
}

function fromPumpWork(work: () => Promise<void> | undefined) {
  return fromPromise<void>(async () => {
    await work();
  });
}
