import type { Clock, TimerHandle } from '../clock.ts';
import type { RecordedEvent } from '../events/types.ts';
import type { Upcasting } from '../events/upcast.ts';
import type { LeaseLostError } from '../errors.ts';
import type { EventStore, SlotClaim } from '../store/types.ts';
import type { Telemetry } from '../telemetry/emitter.ts';
import { createBatchWorker } from './batch-worker.ts';
import { retrying } from '../store/retry.ts';
import { createCheckpoint } from './checkpoint.ts';
import { COMMIT_RETRY } from './checkpoint-transactional.ts';
import { createCrashGuard, type HandOver } from './crash-guard.ts';
import { routeEvent, routingTable, type Route } from './router.ts';
import { prepareDelivery, readTypesOf } from './routing.ts';
import type { HandlerScope } from './scope.ts';
import { createSlotTracks } from './slot-tracks.ts';
import { createSource, type SubscriptionSettings } from './source.ts';
import type { HandlerConfig } from './types.ts';
import { createWorker, type HandlingOutcome, type Worker } from './worker.ts';

export type { SubscriptionSettings } from './source.ts';

/** What the pump reports to the run that owns it. */
export interface PumpSignals {
  caughtUp(): void;
  behind(): void;
  /** `error()` decided to stop the handler (or a dead letter could not be stored). */
  stopRequested(reason: unknown): void;
  /** The low-water mark moved. */
  advanced(position: number): void;
  /** The store failed; the pump retries with backoff. */
  storeTrouble(error: unknown): void;
  /** A cursor save found slots no longer held by this node. */
  leaseLost(error: LeaseLostError): void;
  /** A handling failure, for `status().lastError`. */
  failure(error: unknown): void;
}

/** What every part of one handler run shares: its config, store, clock, telemetry and settings. */
export interface RunDeps {
  readonly config: HandlerConfig;
  readonly store: EventStore;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  readonly appName: string;
  readonly scope: HandlerScope;
  readonly settings: SubscriptionSettings;
  /** The app's upcasters, applied to every delivery before routing (see routing.ts). */
  readonly upcasting?: Upcasting | undefined;
}

/** Everything a pump needs. */
export interface PumpDeps extends RunDeps {
  /** The slots this run owns, with their cursors and lease epochs. */
  readonly claims: readonly SlotClaim[];
  /** The handler's slot count (1 without `partitionBy`). */
  readonly slotCount: number;
  /** This node, whose leases the cursor saves present. */
  readonly nodeId: string;
  /** Position to report while no slot is owned. */
  readonly fallbackPosition: number;
  readonly signals: PumpSignals;
}

/**
 * One run over a fixed set of slots, put together from its parts: the source reads pages, the router gives each
 * event its worker and slot, the workers handle their queues, and the checkpoint saves the cursor.
 */
export interface Pump {
  start(): void;
  /**
   * Stops reading, lets workers finish their queues for up to `timeoutMs`, then halts them after the events in
   * progress (waiting up to `timeoutMs` again for those) and saves the cursor.
   */
  drain(timeoutMs: number): Promise<void>;
  /** Stops reading, halts workers after their current event (waiting at most `timeoutMs` for it), saves the cursor. */
  abort(timeoutMs: number): Promise<void>;
  /** Handles one event again outside the log order (dead-letter replay). */
  replay(event: RecordedEvent): Promise<HandlingOutcome>;
  /** The owned slots' cursors as they are now (after a stop: where the next run resumes). */
  current(): SlotClaim[];
  /** Slots owned, ascending. */
  readonly owned: readonly number[];
  readonly position: number;
  readonly head: number;
}

/** Creates a pump positioned at a persisted cursor. */
export function createPump(deps: PumpDeps): Pump {
  const { config, clock, settings, signals } = deps;
  const tracks = createSlotTracks(deps.claims, deps.fallbackPosition);
  const table = routingTable(config, deps.slotCount, deps.appName, deps.upcasting);
  let turn = 0;
  /** A stop is under way (asked by the run, or by a worker's `stop`): nothing more is handed over. */
  let stopping = false;

  const checkpoint = createCheckpoint({
    config,
    store: deps.store,
    clock,
    nodeId: deps.nodeId,
    tracks,
    flushEvery: settings.flushEvery,
    flushAfterMs: settings.flushAfterMs,
    storeRetryMs: settings.storeRetryMs,
    signals: {
      advanced: signals.advanced,
      progressed: () => {
        if (tracks.pending < settings.readAhead) source.wake();
      },
      leaseLost: signals.leaseLost,
      storeTrouble: signals.storeTrouble,
      halt: () => {
        stopping = true;
        for (const worker of workers) worker.halt();
      },
    },
  });

  const newWorker = config.handleBatch === undefined ? createWorker : createBatchWorker;
  const workers: Worker[] = Array.from({ length: config.concurrency }, (_, index) =>
    newWorker(index, {
      config,
      scope: deps.scope,
      appName: deps.appName,
      clock,
      telemetry: deps.telemetry,
      store: deps.store,
      checkpoint,
      stopHandler: (reason) => {
        stopping = true;
        signals.stopRequested(reason);
      },
      recordError: (error) => signals.failure(error),
      retryStore: (work, halted) =>
        retrying(work, { clock, ...COMMIT_RETRY, budgetMs: settings.storeRetryMs, signal: halted, onRetry: signals.storeTrouble }),
      live: () => source.live,
    }),
  );

  const guard = createCrashGuard({
    handlerName: config.name,
    crashLimit: config.crashLimit,
    store: deps.store,
    clock,
    nodeId: deps.nodeId,
    claims: deps.claims,
    flush: () => checkpoint.flush(),
    active: () => !stopping,
    pending: () => tracks.pending,
    signals: { ...signals, failed: (error) => signals.stopRequested(error) },
  });
  const handOver: HandOver = {
    push: (route, poison) => (workers[route.worker] as Worker).push(poison === undefined ? route.delivery : { ...route.delivery, poison }),
    idle: (route) => (workers[route.worker] as Worker).idle(),
  };

  const source = createSource({
    store: deps.store,
    clock,
    settings,
    streamId: config.subscribeTo === '$all' ? undefined : config.subscribeTo,
    types: readTypesOf(config, deps.upcasting),
    tracks,
    deliverPage(events) {
      const routes: Route[] = [];
      for (const event of events) {
        const route = routeEvent(event, table, turn);
        if (!tracks.admit(route.slot, event.eventNumber)) continue;
        if (table.partitionBy === undefined) turn++;
        routes.push(route);
      }
      if (routes.length > 0) guard.handOver(routes, handOver);
    },
    passed: () => checkpoint.passed(),
    signals,
  });

  /** Waits until every worker is idle, or `timeoutMs` passed (work still running then is abandoned). */
  async function waitIdle(timeoutMs: number): Promise<void> {
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all(workers.map((worker) => worker.idle())), timedOut]);
    if (timer !== undefined) clock.clearTimeout(timer);
  }

  return {
    start() {
      source.run().catch((error: unknown) => signals.stopRequested(error));
    },
    async drain(timeoutMs) {
      stopping = true;
      await source.stop();
      await guard.settled();
      await waitIdle(timeoutMs);
      for (const worker of workers) worker.halt();
      // Queued events stay for the next run; the ones in progress get as long again to finish, so that few are
      // still running (and handled again by whoever resumes from the saved cursor) when the slots are released.
      await waitIdle(timeoutMs);
      await checkpoint.close();
      await guard.clear();
    },
    async abort(timeoutMs) {
      stopping = true;
      for (const worker of workers) worker.halt();
      await source.stop();
      await guard.settled();
      await waitIdle(timeoutMs);
      await checkpoint.close();
      await guard.clear();
    },
    replay(event) {
      return (workers[0] as Worker).handleOnce(prepareDelivery(event, config, deps.upcasting, table.context));
    },
    current: () => tracks.current().map((claim) => ({ ...claim, suspects: guard.suspectsOf(claim.slot, claim.cursor) })),
    owned: tracks.owned,
    get position() {
      return tracks.position;
    },
    get head() {
      return source.head;
    },
  };
}
