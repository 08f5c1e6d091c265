import type { TransactionSql } from 'postgres';
import type { ExpectedVersion, NewEvent, RecordedEvent } from '../events/types.ts';
import type { StoreControl } from './control-types.ts';
import type { NodeIdentity } from './node-identity.ts';

export type { ControlRequest, HandlerOperations, StoreControl } from './control-types.ts';
export type { NodeIdentity } from './node-identity.ts';

/** One append: validated events for one stream, with the version check to apply atomically. */
export interface AppendRequest {
  readonly streamId: string;
  readonly events: readonly NewEvent[];
  readonly expectedVersion: ExpectedVersion;
  /** PostgreSQL store only: append inside this postgres.js transaction (outbox). */
  readonly transaction?: TransactionSql | undefined;
}

/** The outcome of an append. */
export interface AppendResult {
  /** The events appended by this call, in order. */
  readonly events: RecordedEvent[];
  /** `eventId`s that were already stored, so not appended again (inbox). */
  readonly duplicates: string[];
  /**
   * Highest global number among the call's events, stored now or before (a strong wait on it covers them all). `0` when every event was appended
   * inside a caller's transaction: numbers are assigned once that transaction commits.
   */
  readonly lastEventNumber: number;
}

/** A keyset read of the global log. */
export interface ReadRequest {
  /** Return events with `eventNumber > after`. */
  readonly after: number;
  /** At most this many events. */
  readonly limit: number;
  /** Only this stream's events (a handler's `subscribeTo`); default: all streams. */
  readonly streamId?: string | undefined;
  /**
   * Only events of these types (a handler's `on` types and the types with an upcaster); default: every type.
   * `readThrough` still covers the events of other types, so the reader's cursor moves past them.
   */
  readonly types?: readonly string[] | undefined;
}

/** A page of the log. */
export interface ReadResult {
  /** Matching events in increasing `eventNumber`. */
  readonly events: RecordedEvent[];
  /**
   * Every matching event with a number up to here has been returned (or was at or before `after`).
   * Equals the last event's number when the page is full; the log's safe head otherwise,
   * so a single-stream reader moves past other streams' events.
   */
  readonly readThrough: number;
}

/**
 * A handler's persisted place in the log: every event up to `position` is acknowledged, and so are
 * the events listed in `acked` (all above `position`), which concurrent workers finished early.
 */
export interface CursorState {
  readonly position: number;
  readonly acked: readonly number[];
}

/** How a handler presents itself to the store when it starts. */
export interface HandlerRegistration {
  readonly name: string;
  /** `'$all'` or one stream id. */
  readonly subscribeTo: string;
  readonly consistency: 'eventual' | 'strong';
  /** Where the cursor starts when it is created; ignored afterwards. */
  readonly startFrom: 'origin' | 'current' | number;
  /**
   * How many slots (independently owned parts, each with its own cursor) the handler's events are split into.
   * Changing it re-slices the cursors (see {@link EventStore.registerHandler}). @default 1
   */
  readonly slots?: number | undefined;
}

/** A handler as the store keeps it. */
export interface HandlerRecord {
  readonly name: string;
  readonly subscribeTo: string;
  readonly consistency: 'eventual' | 'strong';
  /** Where `startFrom` put the cursor when it was first created (what `reset` goes back to). */
  readonly initialPosition: number;
  /**
   * The handler's cursor over all its slots: `position` is the lowest slot position and `acked` every number
   * acknowledged above it by some slot (with one slot, exactly that slot's cursor).
   */
  readonly cursor: CursorState;
  /** Number of slots. */
  readonly slots: number;
  readonly updatedAt: Date;
}


/** Another live member carrying a label a process takes up, and what is known of its process. */
export interface LabelHolder {
  readonly nodeId: string;
  /** One handler it runs. */
  readonly handlerName: string;
  /** When its membership expires unless renewed (ms since the epoch, by the store's clock). */
  readonly expiresAt: number;
  /** `alive`: its session is open; `dead`: its session is gone; `unknown`: it recorded none (only its lease tells). */
  readonly state: 'alive' | 'dead' | 'unknown';
}

/** What a heartbeat learned: who runs the handler, and who owns which slot. */
export interface HandlerMembership {
  /** Live members (heartbeat not expired), sorted by `id`; includes the caller. */
  readonly members: readonly NodeIdentity[];
  /** Per slot (index = slot), the id of the node holding an unexpired lease, or `undefined`. */
  readonly owners: readonly (string | undefined)[];
}

/** A slot this node now holds: the fencing `epoch` and where its cursor is. */
export interface SlotClaim {
  readonly slot: number;
  /** Increases with every claim of the slot; cursor saves must present it. */
  readonly epoch: number;
  readonly cursor: CursorState;
  /** Id of the node whose lease had expired when this claim took the slot over (`undefined` if the slot was free). */
  readonly takenFrom: string | undefined;
  /**
   * Events of the slot the cursor has not passed that were in flight when an earlier run of the slot ended without
   * clearing its note (its process died), with how many such ends each saw; empty when none (see {@link InFlightNote}).
   */
  readonly suspects?: readonly Suspect[] | undefined;
}

/** An event in flight each of `crashes` times a run of its slot ended without clearing its note (a crash). */
export interface Suspect {
  readonly eventNumber: number;
  readonly crashes: number;
  /** Whether it was the only event its run had in flight at the latest of those crashes (the crash is then its own). */
  readonly alone: boolean;
}

/**
 * A durable note, written before events are handed over, of the events of a slot about to be in flight. A claim
 * that finds a note (its run never cleared it: the process died) counts one crash for each noted event the
 * cursor has not passed, keeps the counts of earlier crashes for events the cursor has not passed, and clears it.
 */
export interface InFlightNote {
  readonly slot: number;
  /** The lease epoch the slot was claimed with (the note is fenced like a cursor save). */
  readonly epoch: number;
  /** Events about to be in flight, added to those noted already (noted events the cursor passed are dropped). */
  readonly events: readonly number[];
  /**
   * The run has nothing else in flight: if the note then holds this one event and the run dies, the crash is pinned
   * on it (its suspect is `alone`). @default false
   */
  readonly alone?: boolean | undefined;
}

/** A slot's cursor to save, under the lease `epoch` it was claimed with. */
export interface SlotCursor {
  readonly slot: number;
  readonly epoch: number;
  readonly cursor: CursorState;
}

/** An event acknowledged by `skip()`, or parked after crashing the process (`error.code` `'POISON_EVENT'`). */
export interface DeadLetter {
  readonly id: string;
  readonly handlerName: string;
  readonly event: RecordedEvent;
  /** The error; `code`: the error's string code when it had one (e.g. `'POISON_EVENT'`, `'HANDLER_TIMEOUT'`). */
  readonly error: { readonly message: string; readonly stack?: string | undefined; readonly code?: string | undefined };
  readonly attempts: number;
  readonly deadAt: Date;
}

/** What the runtime records when an event is skipped. */
export type NewDeadLetter = Omit<DeadLetter, 'id' | 'deadAt'>;

/** Work done inside one store transaction (PostgreSQL store, `transactional: true` handlers). */
export interface StoreTransaction {
  /** The postgres.js transaction, handed to handlers as `ctx.sql`. */
  readonly sql: TransactionSql;
  /** Runs `work` in a savepoint: if it throws, only its writes roll back, and the error is rethrown. */
  savepoint<T>(work: (sql: TransactionSql) => Promise<T>): Promise<T>;
  /** Saves a cursor in this transaction. */
  saveCursor(handlerName: string, state: CursorState): Promise<void>;
  /** Records a dead letter in this transaction. */
  addDeadLetter(deadLetter: NewDeadLetter): Promise<DeadLetter>;
  /** {@link EventStore.saveSlotCursors} in this transaction: a lost lease rolls the whole transaction back. */
  saveSlotCursors(handlerName: string, nodeId: string, cursors: readonly SlotCursor[]): Promise<void>;
}

/**
 * The storage contract every store implements (in-memory and PostgreSQL pass one contract suite).
 * All methods are async; reads and cursor writes are batched by the caller.
 */
export interface EventStore {
  /** `'memory'` or `'postgres'`. */
  readonly kind: string;
  /** Creates or upgrades the schema; idempotent. */
  migrate(): Promise<void>;
  /** Appends atomically: all events or none, `expectedVersion` checked, known `eventId`s skipped. */
  append(request: AppendRequest): Promise<AppendResult>;
  /** Reads the next page of the log after a position (keyset, never offset). */
  read(request: ReadRequest): Promise<ReadResult>;
  /** Number of the last event a reader can safely see (0 when the log is empty). */
  headPosition(): Promise<number>;
  /**
   * Creates the handler's slots (each cursor at `startFrom`) on first registration; otherwise updates its settings
   * and keeps the cursors. A different `slots` count re-slices them: every new slot starts at the lowest old
   * position, with every number any old slot acknowledged above it (events between that and an old slot's
   * position are delivered again), and all epochs move past the old ones. Rejects with `HandlerConfigError`
   * (field `slots`) while another node holds an unexpired lease on the old slots.
   */
  registerHandler(registration: HandlerRegistration): Promise<HandlerRecord>;
  /** The handler's record, if it was ever registered. */
  loadHandler(name: string): Promise<HandlerRecord | undefined>;
  /** Every registered handler (other processes' too, for the PostgreSQL store). */
  listHandlers(): Promise<HandlerRecord[]>;
  /** Persists a handler's cursor: every slot gets `state`, whoever holds it (tools and tests; the runtime saves per slot). */
  saveCursor(handlerName: string, state: CursorState): Promise<void>;
  /**
   * Puts every slot's cursor back to `initialPosition` with nothing acknowledged above it, and ends every lease
   * (bumping the epochs), so a node still running the handler elsewhere fails its next save and re-claims.
   */
  resetCursor(handlerName: string): Promise<HandlerRecord>;
  /**
   * Renews this node's membership of the handler and its leases on the slots it holds, for `leaseMs` from the
   * database's clock, and reports live members and slot owners. Creates the membership on the first call.
   */
  heartbeat(handlerName: string, node: NodeIdentity, leaseMs: number): Promise<HandlerMembership>;
  /**
   * Claims those of `slots` that are free, expired, or already this node's, for `leaseMs`; each claim bumps the
   * slot's epoch, and counts a crash for the events of an in-flight note it finds (returned in `suspects`).
   * Returns only the slots claimed; a slot another node holds is left alone.
   */
  claimSlots(handlerName: string, node: NodeIdentity, slots: readonly number[], leaseMs: number): Promise<SlotClaim[]>;
  /** Gives up slots this node holds (their cursors stay), so another node may claim them at once. */
  releaseSlots(handlerName: string, nodeId: string, slots: readonly number[]): Promise<void>;
  /**
   * Takes up `node.label` (a stable label: a process restarting under it replaces the one that had it) for
   * `handlerNames`. Returns the other live members of those handlers that carry the label; when every one of them is
   * `dead` (or there is none), it has removed them, freed their slots for claiming (at once, not after their
   * leases) and made `node` a member. Optional: a store of one process (in memory) has none.
   */
  claimLabel?(node: NodeIdentity, handlerNames: readonly string[], leaseMs: number): Promise<LabelHolder[]>;
  /** Ends this node's membership and releases every slot it holds. */
  leave(handlerName: string, nodeId: string): Promise<void>;
  /**
   * Saves the cursors of the slots this node still holds under the given epochs; if any is no longer held
   * (another node claimed it, or the handler was reset), rejects with `LeaseLostError` naming those, whose
   * cursors are not written. Notifies cursor listeners with the handler's lowest slot position.
   */
  saveSlotCursors(handlerName: string, nodeId: string, cursors: readonly SlotCursor[]): Promise<void>;
  /**
   * Adds `events` to the in-flight note of each slot (see {@link InFlightNote}), dropping noted events its cursor
   * passed, in one write. Rejects with `LeaseLostError` for slots no longer held under the given epochs (their
   * notes are not written).
   */
  noteInFlight(handlerName: string, nodeId: string, notes: readonly InFlightNote[]): Promise<void>;
  /**
   * Clears the in-flight notes of the slots this node still holds under the given epochs (a run that ends on
   * purpose: nothing it had in flight counts as crashed). Slots no longer held are left alone.
   */
  clearInFlight(handlerName: string, nodeId: string, slots: readonly { readonly slot: number; readonly epoch: number }[]): Promise<void>;
  /** Records a skipped event. */
  addDeadLetter(deadLetter: NewDeadLetter): Promise<DeadLetter>;
  /** Dead letters, oldest first, optionally of one handler. */
  listDeadLetters(filter?: { readonly handlerName?: string | undefined }): Promise<DeadLetter[]>;
  /** One dead letter by id. */
  getDeadLetter(id: string): Promise<DeadLetter | undefined>;
  /** Removes a dead letter; `false` when there was none with that id. */
  removeDeadLetter(id: string): Promise<boolean>;
  /** Removes dead letters recorded before `olderThan`; returns how many. */
  pruneDeadLetters(olderThan: Date): Promise<number>;
  /** Calls `listener` when new events may be readable. Returns an unsubscribe function. */
  onAppend(listener: () => void): () => void;
  /**
   * Calls `listener` when some handler's cursor was saved (by any process), with the handler's lowest slot
   * position (a concurrent save elsewhere may make it lower than the truth, never higher). Returns an unsubscribe function.
   */
  onCursorSaved(listener: (handlerName: string, position: number) => void): () => void;
  /** Calls `listener` when a handler's members or slot owners changed (join, leave, release). Returns an unsubscribe function. */
  onMembershipChanged(listener: (handlerName: string) => void): () => void;
  /** Requests carried out by the processes running a handler, and what operators see (PostgreSQL only). */
  readonly control?: StoreControl;
  /** Runs `work` in one transaction (PostgreSQL only; absent on stores without transactions). */
  transaction?<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  /** Releases what the store opened itself (never a connection it was given). Idempotent. */
  close(): Promise<void>;
}
