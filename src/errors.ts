/**
 * Every error herald throws or rejects with is a {@link HeraldError} with a stable string `code`.
 * Match on `code` (or `instanceof` the subclass), never on the message.
 */

/** Stable codes of herald's errors. */
export type HeraldErrorCode =
  | 'WRONG_EXPECTED_VERSION'
  | 'CONSISTENCY_TIMEOUT'
  | 'HANDLER_CONFIG'
  | 'INVALID_EVENT'
  | 'STORE'
  | 'HANDLER_TIMEOUT'
  | 'SUPERVISOR_GAVE_UP'
  | 'LEASE_LOST'
  | 'HANDLER_STOPPED'
  | 'POISON_EVENT';

/**
 * Base class of every herald error.
 * @example
 * try { await app.dispatch('order-1', events) } catch (err) {
 *   if (err instanceof HeraldError && err.code === 'WRONG_EXPECTED_VERSION') retryLater();
 * }
 */
export class HeraldError extends Error {
  /** Stable machine-readable code. */
  readonly code: HeraldErrorCode;

  constructor(code: HeraldErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A dispatch's `expectedVersion` did not match the stream; nothing was appended. */
export class WrongExpectedVersionError extends HeraldError {
  /** The stream the dispatch targeted. */
  readonly streamId: string;
  /** What the caller expected. */
  readonly expectedVersion: number | string;
  /** The stream's version when the append was attempted (0 when it does not exist). */
  readonly actualVersion: number;

  constructor(streamId: string, expectedVersion: number | string, actualVersion: number) {
    super(
      'WRONG_EXPECTED_VERSION',
      `stream "${streamId}" is at version ${actualVersion}, expected ${String(expectedVersion)}`,
    );
    this.streamId = streamId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** A strong dispatch was not acknowledged in time; the events stay persisted. */
export class ConsistencyTimeoutError extends HeraldError {
  /** Handlers that had not acknowledged the dispatched events when the wait ended. */
  readonly handlers: readonly string[];
  /** The global event number the wait was for. */
  readonly eventNumber: number;

  constructor(handlers: readonly string[], eventNumber: number, timeoutMs: number) {
    super(
      'CONSISTENCY_TIMEOUT',
      `handlers ${handlers.map((h) => `"${h}"`).join(', ')} did not acknowledge event ${eventNumber} within ${timeoutMs} ms`,
    );
    this.handlers = handlers;
    this.eventNumber = eventNumber;
  }
}

/** A handler definition, start option or dispatch option is invalid. */
export class HandlerConfigError extends HeraldError {
  /** The option at fault, when one is. */
  readonly field: string | undefined;

  constructor(message: string, field?: string, cause?: unknown) {
    super('HANDLER_CONFIG', message, cause === undefined ? undefined : { cause });
    this.field = field;
  }
}

/** One problem a validator found: the Standard Schema issue shape. */
export interface EventIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/**
 * An event cannot be stored (missing `type`, data that is not JSON, bad stream id, data its type's validator
 * rejects); nothing was appended.
 */
export class InvalidEventError extends HeraldError {
  /** The validator's issues when a typed event's `data` failed validation; `undefined` otherwise. */
  readonly issues: readonly EventIssue[] | undefined;

  constructor(message: string, options?: { issues?: readonly EventIssue[]; cause?: unknown }) {
    super('INVALID_EVENT', message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.issues = options?.issues;
  }
}

/** The store failed (connection lost past retries, migration failure). */
export class StoreError extends HeraldError {
  constructor(message: string, cause?: unknown) {
    super('STORE', message, cause === undefined ? undefined : { cause });
  }
}

/** `handle` ran longer than the handler's `timeoutMs`; passed to `error()`. */
export class HandlerTimeoutError extends HeraldError {
  /** The limit that was exceeded. */
  readonly timeoutMs: number;

  constructor(handlerName: string, timeoutMs: number) {
    super('HANDLER_TIMEOUT', `handler "${handlerName}" did not finish within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** The root supervisor exceeded its restart intensity; `app.done` rejects with it. */
export class SupervisorError extends HeraldError {
  /** The supervisor that gave up. */
  readonly supervisor: string;

  constructor(supervisor: string, cause: unknown) {
    super('SUPERVISOR_GAVE_UP', `supervisor "${supervisor}" exceeded its restart intensity and gave up`, { cause });
    this.supervisor = supervisor;
  }
}

/**
 * A node saved slot cursors it no longer holds (its lease expired and another node claimed the slot, or the
 * handler was reset); nothing was saved. The runtime stops handling those slots.
 */
export class LeaseLostError extends HeraldError {
  /** The handler whose slots were lost. */
  readonly handlerName: string;
  /** Slots no longer held under the presented epoch. */
  readonly slots: readonly number[];

  constructor(handlerName: string, slots: readonly number[]) {
    super('LEASE_LOST', `handler "${handlerName}" no longer holds slot${slots.length === 1 ? '' : 's'} ${slots.join(', ')}`);
    this.handlerName = handlerName;
    this.slots = slots;
  }
}

/** A handler run ended during start-up without giving a reason (its `start()` rejects with this). */
export class HandlerStoppedError extends HeraldError {
  /** The handler that stopped. */
  readonly handlerName: string;

  constructor(handlerName: string) {
    super('HANDLER_STOPPED', `handler "${handlerName}" stopped during start-up`);
    this.handlerName = handlerName;
  }
}

/**
 * Recorded as a dead letter's error (`code: 'POISON_EVENT'`): the event was in flight each of `crashLimit` times the
 * handler's process died (a crash no `error()` saw: `process.exit`, out of memory, a native fault) without the
 * cursor moving past it, so it was parked instead of handed over again. Never thrown to callers.
 * @example
 * const parked = (await app.deadLetters()).filter((letter) => letter.error.code === 'POISON_EVENT');
 */
export class PoisonEventError extends HeraldError {
  /** The handler whose process died. */
  readonly handlerName: string;
  /** The parked event's global number. */
  readonly eventNumber: number;
  /** How many times the process died with the event in flight. */
  readonly crashes: number;

  constructor(handlerName: string, eventNumber: number, crashes: number) {
    super(
      'POISON_EVENT',
      `handler "${handlerName}": event ${eventNumber} was in flight each of the ${crashes} times the process died; parked instead of handled again`,
    );
    this.handlerName = handlerName;
    this.eventNumber = eventNumber;
    this.crashes = crashes;
  }
}
