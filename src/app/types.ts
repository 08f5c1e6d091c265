import type { TransactionSql } from 'postgres';
import type { Clock } from '../clock.ts';
import type { EventData, ExpectedVersion, RecordedEvent } from '../events/types.ts';
import type { SlotOwnership } from '../cluster/consumer.ts';
import type { DeadLetter, EventStore, NodeIdentity } from '../store/types.ts';
import type { ChildSpec, SupervisorOptions } from '../supervisor/types.ts';
import type { TelemetryListener } from '../telemetry/emitter.ts';
import type { TelemetryEventName } from '../telemetry/types.ts';
import type { HandlerState } from '../handler/handler-state.ts';

/** Options of {@link createApp}. */
export interface AppOptions {
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
  /** This process among several running the same handlers (see docs/scaling.md). */
  node?: NodeOptions;
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

/** A herald application: handlers under a supervisor, dispatching to one store. */
export interface App {
  readonly name: string;
  /** Starts handlers under the root supervisor; once per app. */
  start(children: readonly ChildSpec[], options?: SupervisorOptions): Promise<void>;
  /** Appends events to a stream. */
  dispatch(streamId: string, events: EventData | readonly EventData[], options?: DispatchOptions): Promise<DispatchResult>;
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
