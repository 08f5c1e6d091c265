import type { TransactionSql } from 'postgres';
import type { Clock } from '../clock.ts';
import type { AnyEvents, DispatchEvent, EventCatalog, EventShapes } from '../events/define-events.ts';
import type { ExpectedVersion, RecordedEvent } from '../events/types.ts';
import type { Upcasters } from '../events/upcast.ts';
import type { SlotOwnership } from '../handler/slots.ts';
import type { DeadLetter, EventStore, NodeIdentity } from '../store/types.ts';
import type { ChildSpec, SupervisorOptions } from '../supervisor/types.ts';
import type { TelemetryListener } from '../telemetry/emitter.ts';
import type { TelemetryEventName } from '../telemetry/types.ts';
import type { HandlerState } from '../handler/handler-state.ts';

/** Options of {@link createApp}; `E` are the shapes of its `events` catalog, if it has one. */
export interface AppOptions<E extends EventShapes = AnyEvents> {
  /** Where events and cursors live. @default inMemoryStore() */
  store?: EventStore;
  /** Shown in telemetry and `ctx.app`. @default 'herald' */
  name?: string;
  /** Injected time (tests). @default systemClock */
  clock?: Clock;
  /** Events per read. @default 1000 */
  batchSize?: number;
  /** Fallback poll when no wake-up arrives, in ms. @default 1000 */
  pollMs?: number;
  /** Save a cursor after this many acknowledgements. @default 1000 */
  flushEvery?: number;
  /** Save a cursor at most this long after an acknowledgement, in ms. @default 1000 */
  flushAfterMs?: number;
  /**
   * How long a handler keeps re-running work whose store call failed transiently (a lost connection, a
   * serialization failure, the store's own retries exhausted) before the failure stops it: a transactional batch
   * (re-run whole in a new transaction), a dead letter's write. Reads, start-up and cursor saves have no effects
   * and are retried until the database is back. In ms. @default 300000 (5 minutes)
   */
  storeRetryMs?: number;
  /** This process among several running the same handlers (see docs/scaling.md). */
  node?: NodeOptions;
  /**
   * The app's event types (`defineEvents`): dispatch then accepts only their shapes at compile time, and validates
   * the `data` of each event of a known type with its validator, storing the validator's output. @default undefined
   */
  events?: EventCatalog<E> | undefined;
  /** Reject dispatched events whose type `events` does not list (`InvalidEventError`). @default false */
  strictEvents?: boolean | undefined;
  /** One function per stored event type, applied to every delivery before routing (see docs/typed-events.md). */
  upcasters?: Upcasters | undefined;
}

/** Options of `app.caughtUp`. */
export interface CaughtUpOptions {
  /** The handlers to wait for. @default every running handler of this app */
  handlers?: readonly string[] | undefined;
  /** How long to wait before rejecting with `ConsistencyTimeoutError`. @default 5000 */
  timeoutMs?: number | undefined;
}

/** How this process takes part with others in running handlers. */
export interface NodeOptions {
  /**
   * This process's identity among those running the same handlers, shown in `status()` and telemetry. Give a
   * *stable* label (one that a restart keeps, such as a Kubernetes pod name: `process.env.HOSTNAME` in a
   * StatefulSet) and a process that restarts after a crash takes the dead one's slots over at once instead of after
   * its lease; a second live process with the same label is refused at `start()` with `HandlerConfigError`
   * (docs/scaling.md). The default is not stable: a restart waits for the dead process's leases.
   * @default `${hostname}:${pid}`
   */
  label?: string;
  /** A process that has not renewed its leases for this long loses its slots to the others, in ms. @default 4000 */
  leaseMs?: number;
  /** How often leases are renewed and slots rebalanced, in ms; below `leaseMs`. @default leaseMs / 4 */
  heartbeatMs?: number;
}

/** Options of `app.dispatch`. */
export interface DispatchOptions {
  /** @default 'any' */
  expectedVersion?: ExpectedVersion;
  /** `'strong'`: wait for every strong handler covering the stream; `string[]`: exactly these handlers. @default 'eventual' */
  consistency?: 'eventual' | 'strong' | readonly string[];
  /** How long a strong dispatch waits. @default 5000 */
  timeoutMs?: number;
  /** PostgreSQL store: append inside this postgres.js transaction (outbox). */
  sql?: TransactionSql;
}

/** What `app.dispatch` resolves with. */
export interface DispatchResult {
  /** Events appended by this call. */
  events: RecordedEvent[];
  /** `eventId`s that were stored before, so not appended again. */
  duplicates: string[];
  /** Highest global number among the call's events, stored now or before (0 inside a caller's transaction). */
  lastEventNumber: number;
}

/** One handler as `app.status()` shows it. */
export interface HandlerStatus {
  name: string;
  /** Where the handler is in its lifecycle (a restart goes from `failed` to `starting`; `standby`: other processes own every slot). */
  state: HandlerState;
  /** Low-water mark: every event up to here is acknowledged. */
  cursor: number;
  /** Events in the log after the cursor, as far as this app knows. */
  lag: number;
  workers: number;
  restarts: number;
  lastError: { message: string; at: Date } | undefined;
  /** This process. */
  node: NodeIdentity;
  /** Slot ownership as this process last saw it (a handler without `partitionBy` has one slot). */
  slots: SlotOwnership;
}

/** A herald application: handlers under a supervisor, dispatching to one store; `E`: its event catalog's shapes. */
export interface App<E extends EventShapes = AnyEvents> {
  readonly name: string;
  /** Starts handlers under the root supervisor; once per app. */
  start(children: readonly ChildSpec[], options?: SupervisorOptions): Promise<void>;
  /** Appends events to a stream (with `events`, validated by their types' validators first). */
  dispatch(streamId: string, events: DispatchEvent<E> | readonly DispatchEvent<E>[], options?: DispatchOptions): Promise<DispatchResult>;
  /**
   * Resolves once the handlers (default: every running handler of this app) acknowledged every event stored when
   * it was called; rejects with `ConsistencyTimeoutError` naming those behind, or `HandlerConfigError` for an unknown name.
   */
  caughtUp(options?: CaughtUpOptions): Promise<void>;
  /** Every handler started, including those that ended for good. */
  status(): HandlerStatus[];
  /** Stops a handler, runs `beforeReset`, moves its cursor back to where `startFrom` first put it, and starts it again. */
  reset(name: string): Promise<void>;
  /** Drains in-flight events, saves cursors, closes the store. Idempotent. */
  stop(options?: { timeoutMs?: number }): Promise<void>;
  /** Skipped events, oldest first. */
  deadLetters(filter?: { handler?: string }): Promise<DeadLetter[]>;
  /** Hands a dead letter's event to its handler again once; removes the dead letter if that succeeds. */
  replayDeadLetter(id: string): Promise<'handled' | 'skipped' | 'stopped'>;
  /** Removes dead letters recorded before `deadLettersOlderThan`; returns how many. */
  prune(options: { deadLettersOlderThan: Date }): Promise<number>;
  /** Subscribes to a telemetry event; returns an unsubscribe function. */
  on<K extends TelemetryEventName>(name: K, listener: TelemetryListener<K>): () => void;
  /** Resolves after `stop()`; rejects with `SupervisorError` when the root supervisor gives up. */
  readonly done: Promise<void>;
}
