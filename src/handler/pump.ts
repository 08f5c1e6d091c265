import type { Clock, TimerHandle } from '../clock.ts';
import type { RecordedEvent } from '../events/types.ts';
import type { Upcasting } from '../events/upcast.ts';
import { LeaseLostError } from '../errors.ts';
import type { EventStore, ReadResult, SlotClaim, SlotCursor } from '../store/types.ts';
import type { Telemetry } from '../telemetry/emitter.ts';
import { createCursorFlusher } from './cursor-flusher.ts';
import { placeDelivery, prepareDelivery, readTypesOf } from './routing.ts';
import type { HandlerScope } from './scope.ts';
import { createSlotTracks } from './slot-tracks.ts';
import { createTransactionalCommit } from './transactional-commit.ts';
import type { HandlerConfig, HandlerContext } from './types.ts';
import { createWorker, type HandlingOutcome, type Worker } from './worker.ts';

/** A read's page, or the error it failed with (a read issued ahead must never reject unobserved). */
type SettledRead = { readonly page: ReadResult } | { readonly error: unknown };

/** Tuning of a subscription's reading and cursor writes. */
export interface SubscriptionSettings {
  /** Events per read. @default 1000 */
  readonly batchSize: number;
  /** Fallback poll when no wake-up arrives. @default 1000 */
  readonly pollMs: number;
  /** Save the cursor after this many acknowledgements (strong handlers: after every advance). @default 1000 */
  readonly flushEvery: number;
  /** Save the cursor at most this long after an acknowledgement. @default 1000 */
  readonly flushAfterMs: number;
  /** Events read ahead of the slowest acknowledgement. @default 2 × batchSize */
  readonly readAhead: number;
}

/** What the pump reports to its subscription actor. */
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

/** Reads the log in batches, hands events to workers, tracks acknowledgements and saves the cursor. */
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
  const { config, store, clock, settings, signals, slotCount } = deps;
  const tracks = createSlotTracks(deps.claims, deps.fallbackPosition);
  const streamId = config.subscribeTo === '$all' ? undefined : config.subscribeTo;
  /** A handler with `on` reads only its types (the cursor still moves over the others: readThrough). */
  const types = readTypesOf(config, deps.upcasting);
  const routingContext: HandlerContext = {
    handlerName: config.name, state: config.state, workerIndex: 0, partition: undefined, app: deps.appName,
  };
  let readPosition = tracks.readFrom;
  let head = readPosition;
  let live = false;
  let stopping = false;
  let roundRobin = 0;
  let dirty = false;
  let wakeUp: (() => void) | undefined;
  let loopDone: Promise<void> = Promise.resolve();

  const flusher = createCursorFlusher<SlotCursor[]>({
    clock,
    everyEvents: config.transactional ? Number.POSITIVE_INFINITY : config.consistency === 'strong' ? 1 : settings.flushEvery,
    afterMs: config.consistency === 'strong' ? 0 : settings.flushAfterMs,
    snapshot: () => {
      const cursors = tracks.unsaved();
      return cursors.length === 0 ? undefined : cursors;
    },
    save: (cursors) => store.saveSlotCursors(config.name, deps.nodeId, cursors),
    saved: (cursors) => tracks.saved(cursors),
    onError: (error) => (error instanceof LeaseLostError ? signals.leaseLost(error) : signals.storeTrouble(error)),
  });

  const commitInTransaction = createTransactionalCommit({
    store,
    handlerName: config.name,
    nodeId: deps.nodeId,
    tracks,
    onLeaseLost: () => {
      for (const worker of workers) worker.halt();
    },
    onCommitted: (moved) => {
      if (moved) signals.advanced(tracks.position);
      if (tracks.pending < settings.readAhead) wake();
    },
  });

  const workers: Worker[] = Array.from({ length: config.concurrency }, (_, index) =>
    createWorker(index, {
      config,
      scope: deps.scope,
      appName: deps.appName,
      clock,
      telemetry: deps.telemetry,
      store,
      acknowledge,
      commitInTransaction,
      stopHandler: (reason) => signals.stopRequested(reason),
      recordError: (error) => signals.failure(error),
    }),
  );


  let advanceQueued = false;

  /**
   * Reports the low-water mark once per synchronous stretch of acknowledgements: a worker acknowledging a
   * batch of synchronous `handle` calls would otherwise walk the whole advance chain (consumer, app,
   * consistency waiter) once per event.
   */
  function queueAdvance(): void {
    if (advanceQueued) return;
    advanceQueued = true;
    queueMicrotask(() => {
      advanceQueued = false;
      signals.advanced(tracks.position);
    });
  }

  function acknowledge(eventNumber: number): void {
    if (tracks.ack(eventNumber)) queueAdvance();
    flusher.acknowledged();
    if (tracks.pending < settings.readAhead) wake();
  }

  function wake(): void {
    dirty = true;
    const resolve = wakeUp;
    wakeUp = undefined;
    resolve?.();
  }

  function sleep(ms: number): Promise<void> {
    if (dirty || stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer: TimerHandle = clock.setTimeout(() => wake(), ms);
      wakeUp = () => {
        clock.clearTimeout(timer);
        resolve();
      };
    });
  }

  function route(stored: RecordedEvent): void {
    // Upcasting and partitionBy (see routing.ts); a failure of either travels with the delivery to `error`.
    const delivery = prepareDelivery(stored, config, deps.upcasting, routingContext);
    const { index, slot } = placeDelivery(delivery, config.partitionBy !== undefined, workers.length, slotCount, roundRobin);
    if (!tracks.admit(slot, stored.eventNumber)) return;
    if (config.partitionBy === undefined) roundRobin++;
    (workers[index] as Worker).push(delivery);
  }

  /** The read issued ahead of the one awaited (catching up on `$all` only), and where it starts. */
  let ahead: { readonly after: number; readonly page: Promise<SettledRead> } | undefined;

  function issueRead(after: number): Promise<SettledRead> {
    return store.read({ after, limit: settings.batchSize, streamId, types }).then(
      (page) => ({ page }),
      (error: unknown) => ({ error }),
    );
  }

  /**
   * The page after `readPosition`: the read issued ahead when it starts there, else a new one. While catching
   * up on `$all`, whose numbers are dense, a full page after P ends at P + batchSize, so the read of the page
   * after that is issued now and runs in the database while this process decodes and handles the current one.
   * A read ahead is used only if it starts exactly where the previous page ended; any other is dropped.
   */
  function nextPage(catchingUp: boolean): Promise<SettledRead> {
    const page = ahead !== undefined && ahead.after === readPosition ? ahead.page : issueRead(readPosition);
    ahead = undefined;
    const room = tracks.pending + settings.batchSize <= settings.readAhead;
    if (catchingUp && streamId === undefined && types === undefined && room && !stopping) {
      const after = readPosition + settings.batchSize;
      ahead = { after, page: issueRead(after) };
    }
    return page;
  }

  async function readLoop(): Promise<void> {
    let failures = 0;
    let full = false;
    if (tracks.owned.length === 0) return;
    while (!stopping) {
      if (tracks.pending >= settings.readAhead) {
        dirty = false;
        await sleep(settings.pollMs);
        continue;
      }
      dirty = false;
      const settled = await nextPage(full);
      if ('error' in settled) {
        ahead = undefined;
        full = false;
        signals.storeTrouble(settled.error);
        await sleep(Math.min(100 * 2 ** failures++, 5000));
        continue;
      }
      failures = 0;
      const { page } = settled;
      if (stopping) break;
      const before = tracks.position;
      for (const event of page.events) route(event);
      if (page.readThrough > readPosition) readPosition = page.readThrough;
      if (page.readThrough > head) head = page.readThrough;
      tracks.readThrough(page.readThrough);
      if (tracks.position > before) {
        signals.advanced(tracks.position);
        // A mark moved by reading alone (other streams' or slots' events) is saved too, so the slowest slot of
        // the handler, which strong dispatches of other processes wait on, keeps up.
        flusher.acknowledged();
      }
      full = page.events.length >= settings.batchSize;
      if (full && live) {
        live = false;
        signals.behind();
      } else if (!full && !live) {
        live = true;
        signals.caughtUp();
      }
      if (!full) {
        ahead = undefined;
        await sleep(settings.pollMs);
      }
    }
    ahead = undefined;
  }

  function stopReading(): Promise<void> {
    stopping = true;
    unsubscribe();
    wake();
    return loopDone;
  }

  async function saveFinalCursor(): Promise<void> {
    flusher.close();
    // A transactional handler's cursor is saved with each committed batch, and only there.
    if (config.transactional) return;
    try {
      await flusher.flush();
    } catch (error) {
      signals.storeTrouble(error);
    }
  }

  /** Waits until every worker is idle, or `timeoutMs` passed (work still running then is abandoned). */
  async function waitIdle(timeoutMs: number): Promise<void> {
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all(workers.map((worker) => worker.idle())), timedOut]);
    if (timer !== undefined) clock.clearTimeout(timer);
  }

  const unsubscribe = store.onAppend(() => wake());

  return {
    start() {
      loopDone = readLoop().catch((error: unknown) => signals.stopRequested(error));
    },
    async drain(timeoutMs) {
      await stopReading();
      await waitIdle(timeoutMs);
      for (const worker of workers) worker.halt();
      // Queued events stay for the next run; the ones in progress get as long again to finish, so that few are
      // still running (and handled again by whoever resumes from the saved cursor) when the slots are released.
      await waitIdle(timeoutMs);
      await saveFinalCursor();
    },
    async abort(timeoutMs) {
      for (const worker of workers) worker.halt();
      await stopReading();
      await waitIdle(timeoutMs);
      await saveFinalCursor();
    },
    replay(event) {
      return (workers[0] as Worker).handleOnce(prepareDelivery(event, config, deps.upcasting, routingContext));
    },
    current: () => tracks.current(),
    owned: tracks.owned,
    get position() {
      return tracks.position;
    },
    get head() {
      return head;
    },
  };
}
