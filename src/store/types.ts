import type { TransactionSql } from 'postgres';
import type { ExpectedVersion, NewEvent, RecordedEvent } from '../events/types.ts';

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
}

/** A handler as the store keeps it. */
export interface HandlerRecord {
  readonly name: string;
  readonly subscribeTo: string;
  readonly consistency: 'eventual' | 'strong';
  /** Where `startFrom` put the cursor when it was first created (what `reset` goes back to). */
  readonly initialPosition: number;
  readonly cursor: CursorState;
  readonly updatedAt: Date;
}

/** An event acknowledged by `skip()`. */
export interface DeadLetter {
  readonly id: string;
  readonly handlerName: string;
  readonly event: RecordedEvent;
  readonly error: { readonly message: string; readonly stack?: string | undefined };
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
  /** Creates the handler's cursor on first registration; otherwise updates its settings and keeps the cursor. */
  registerHandler(registration: HandlerRegistration): Promise<HandlerRecord>;
  /** The handler's record, if it was ever registered. */
  loadHandler(name: string): Promise<HandlerRecord | undefined>;
  /** Every registered handler (other processes' too, for the PostgreSQL store). */
  listHandlers(): Promise<HandlerRecord[]>;
  /** Persists a handler's cursor. */
  saveCursor(handlerName: string, state: CursorState): Promise<void>;
  /** Puts the cursor back to its `initialPosition` with nothing acknowledged above it. */
  resetCursor(handlerName: string): Promise<HandlerRecord>;
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
  /** Calls `listener` when some handler's cursor was saved (by any process). Returns an unsubscribe function. */
  onCursorSaved(listener: (handlerName: string, position: number) => void): () => void;
  /** Runs `work` in one transaction (PostgreSQL only; absent on stores without transactions). */
  transaction?<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  /** Releases what the store opened itself (never a connection it was given). Idempotent. */
  close(): Promise<void>;
}
