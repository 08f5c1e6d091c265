import type { Clock } from '../clock.ts';
import type { RecordedEvent } from '../events/types.ts';
import type { Upcasting } from '../events/upcast.ts';
import type { SubscriptionSettings } from '../handler/source.ts';
import type { HandlerScope } from '../handler/scope.ts';
import { createSubscription, type Subscription } from '../handler/subscription.ts';
import { slotCountOf } from '../handler/define.ts';
import type { HandlerConfig } from '../handler/types.ts';
import type { HandlingOutcome } from '../handler/worker.ts';
import { slotOwnership, type LeaseSettings } from '../cluster/ownership.ts';
import type { EventStore, NodeIdentity } from '../store/types.ts';
import type { ChildExit, ChildFactory, RestartType } from '../supervisor/types.ts';
import type { Telemetry } from '../telemetry/emitter.ts';
import type { HandlerStatus } from './types.ts';
import type { HandlerState } from '../handler/handler-state.ts';

/** What every handler of an app shares. */
export interface InstanceDeps {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  readonly appName: string;
  readonly appRef: object;
  readonly settings: SubscriptionSettings;
  /** This process among those running the same handlers. */
  readonly node: NodeIdentity;
  readonly lease: LeaseSettings;
  /** The app's upcasters, if any. */
  readonly upcasting?: Upcasting | undefined;
  /** Current drain timeout (set by `app.stop`). */
  drainTimeoutMs(): number;
  /** The highest event number the app knows of. */
  head(): number;
  /** A handler's low-water mark moved. */
  advanced(name: string, position: number): void;
}

/**
 * One handler of an app across all its runs: the supervisor's child (a stable wrapper whose runs are
 * subscriptions), the source of its status, and the target of reset and replay.
 */
export interface HandlerInstance {
  readonly config: HandlerConfig;
  readonly factory: ChildFactory;
  /** The low-water mark of the current run, else the last one known. */
  readonly position: number;
  /** The handler's position if it runs here owning every slot (strong waits use it), else `undefined`. */
  readonly localPosition: number | undefined;
  readonly running: boolean;
  status(): HandlerStatus;
  reset(): Promise<void>;
  replay(event: RecordedEvent): Promise<HandlingOutcome>;
  /**
   * Stops the current run (draining it; its supervisor does not see it stop) for a reset carried out across
   * processes; resolves with whether it was running (and so must {@link resume}).
   */
  pause(): Promise<boolean>;
  /** Starts a fresh run after {@link pause} (unless the app stopped the handler meanwhile). */
  resume(): Promise<void>;
  /** The cursors were moved (a reset carried out here or elsewhere): the position to report until a run says otherwise. */
  moved(position: number): void;
}

/** Creates the instance of a validated handler config. */
export function createHandlerInstance(config: HandlerConfig, restart: RestartType, deps: InstanceDeps): HandlerInstance {
  const scope: HandlerScope = { app: deps.appRef, handlerName: config.name };
  let current: Subscription | undefined;
  let starts = 0;
  let position = 0;
  let state: HandlerState = 'stopped';
  let lastError: HandlerStatus['lastError'];
  let reportExit: (exit: ChildExit) => void = () => {};
  const slots = slotOwnership(deps);

  /** The one path of an advance: the run's slot runner calls it, and it tells the app (strong waits). */
  function advanced(next: number): void {
    position = next;
    deps.advanced(config.name, next);
  }
  /** The supervisor stopped this child: a paused run is not resumed. */
  let halted = false;

  function run(): Subscription {
    const subscription = createSubscription({
      config,
      store: deps.store,
      clock: deps.clock,
      telemetry: deps.telemetry,
      appName: deps.appName,
      scope,
      settings: deps.settings,
      node: deps.node,
      slots,
      upcasting: deps.upcasting,
      drainTimeoutMs: deps.drainTimeoutMs(),
      onExit: (exit) => {
        if (current === subscription) reportExit(exit);
      },
      onAdvance: advanced,
      onError: (error) => {
        lastError = { message: error instanceof Error ? error.message : String(error), at: new Date(deps.clock.now()) };
      },
      onState: (next) => {
        if (current === subscription) state = next;
      },
    });
    current = subscription;
    state = subscription.state;
    return subscription;
  }

  const factory: ChildFactory = {
    name: config.name,
    restart,
    create(onExit) {
      starts++;
      reportExit = onExit;
      halted = false;
      return {
        start: () => run().start(),
        stop: async () => {
          halted = true;
          reportExit = () => {};
          await current?.stop(deps.drainTimeoutMs());
        },
      };
    },
  };

  return {
    config,
    factory,
    get position() {
      return current?.position ?? position;
    },
    get localPosition() {
      return current?.localPosition;
    },
    get running() {
      return current !== undefined && (current.state === 'live' || current.state === 'catching_up' || current.state === 'standby');
    },
    status() {
      const cursor = current?.position ?? position;
      const head = Math.max(deps.head(), current?.head ?? 0);
      return {
        name: config.name,
        state,
        cursor,
        lag: Math.max(0, head - cursor),
        workers: config.concurrency,
        restarts: Math.max(0, starts - 1),
        lastError,
        node: deps.node,
        slots: current?.ownership() ?? { count: slotCountOf(config), owned: [], members: [] },
      };
    },
    async reset() {
      const previous = current;
      const wasRunning = previous !== undefined && previous.state !== 'stopped' && previous.state !== 'failed';
      await previous?.stop(deps.drainTimeoutMs());
      try {
        await config.beforeReset?.();
        const record = await deps.store.resetCursor(config.name);
        advanced(record.cursor.position);
      } finally {
        // Reset or not, a handler that ran before runs again: its supervisor never saw it stop.
        // The supervisor keeps the same child; a fresh run replaces the stopped one and reports exits to it.
        if (wasRunning) await run().start();
      }
    },
    async replay(event) {
      if (current === undefined) return 'halted';
      return current.replay(event);
    },
    async pause() {
      const previous = current;
      const wasRunning = previous !== undefined && previous.state !== 'stopped' && previous.state !== 'failed';
      await previous?.stop(deps.drainTimeoutMs());
      return wasRunning;
    },
    async resume() {
      if (!halted) await run().start();
    },
    moved(next) {
      position = next;
      deps.advanced(config.name, next);
    },
  };
}
