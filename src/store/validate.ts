/**
 * Input checks every store runs before touching its data, so the same mistake gets the same error class from
 * every store (one contract suite).
 */
import { HandlerConfigError, InvalidEventError, StoreError } from '../errors.ts';
import type { ExpectedVersion } from '../events/types.ts';
import type { CursorState, HandlerRegistration, InFlightNote, NewDeadLetter, NodeIdentity, ReadRequest, SlotCursor } from './types.ts';

/** A stream id is a non-empty string not starting with `$`. */
export function checkStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== 'string' || streamId === '' || streamId.startsWith('$')) {
    throw new InvalidEventError(`stream id must be a non-empty string not starting with "$", got ${JSON.stringify(streamId)}`);
  }
}

/** `expectedVersion` is a non-negative integer or one of the conditions. */
export function checkExpectedVersion(expected: unknown): asserts expected is ExpectedVersion {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return;
  if (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0) return;
  throw new HandlerConfigError(
    `expectedVersion must be a non-negative integer, 'any', 'no_stream' or 'stream_exists', got ${String(expected)}`,
    'expectedVersion',
  );
}

/** `after` is a non-negative integer, `limit` a positive one, `streamId` a string when given. */
export function checkReadRequest({ after, limit, streamId, types }: ReadRequest): void {
  if (!Number.isSafeInteger(after) || after < 0) throw new StoreError(`read: after must be a non-negative integer, got ${String(after)}`);
  if (!Number.isSafeInteger(limit) || limit < 1) throw new StoreError(`read: limit must be a positive integer, got ${String(limit)}`);
  if (streamId !== undefined && typeof streamId !== 'string') throw new StoreError('read: streamId must be a string');
  if (types !== undefined && !(Array.isArray(types) && types.every((type) => typeof type === 'string'))) {
    throw new StoreError('read: types must be an array of event types');
  }
}

/** A registration names the handler, its subscription, consistency and a valid `startFrom`. */
export function checkRegistration({ name, subscribeTo, consistency, startFrom, slots }: HandlerRegistration): void {
  if (typeof name !== 'string' || name === '') throw new HandlerConfigError('handler name must be a non-empty string', 'name');
  if (typeof subscribeTo !== 'string' || subscribeTo === '') {
    throw new HandlerConfigError(`subscribeTo must be '$all' or a stream id, got ${String(subscribeTo)}`, 'subscribeTo');
  }
  if (consistency !== 'eventual' && consistency !== 'strong') {
    throw new HandlerConfigError(`consistency must be 'eventual' or 'strong', got ${String(consistency)}`, 'consistency');
  }
  const validStart =
    startFrom === 'origin' || startFrom === 'current' || (typeof startFrom === 'number' && Number.isSafeInteger(startFrom) && startFrom >= 0);
  if (!validStart) {
    throw new HandlerConfigError(`startFrom must be 'origin', 'current' or a non-negative integer, got ${String(startFrom)}`, 'startFrom');
  }
  if (slots !== undefined && (!Number.isSafeInteger(slots) || slots < 1 || slots > MAX_SLOTS)) {
    throw new HandlerConfigError(`slots must be an integer from 1 to ${MAX_SLOTS}, got ${String(slots)}`, 'slots');
  }
}

/** The most slots a handler may be split into. */
export const MAX_SLOTS = 4096;

/** A node has a non-empty string id and a string label. */
export function checkNode(operation: string, node: NodeIdentity): void {
  if (typeof node !== 'object' || node === null || typeof node.id !== 'string' || node.id === '' || typeof node.label !== 'string') {
    throw new StoreError(`${operation}: node needs a non-empty string id and a string label`);
  }
}

/** A lease lasts a positive whole number of milliseconds. */
export function checkLeaseMs(operation: string, leaseMs: number): void {
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1) throw new StoreError(`${operation}: leaseMs must be a positive integer, got ${String(leaseMs)}`);
}

/** Slot numbers are distinct non-negative integers below `MAX_SLOTS`. */
export function checkSlotNumbers(operation: string, slots: readonly number[]): void {
  const valid = Array.isArray(slots) && slots.every((slot) => Number.isSafeInteger(slot) && slot >= 0 && slot < MAX_SLOTS) && new Set(slots).size === slots.length;
  if (!valid) throw new StoreError(`${operation}: slots must be distinct non-negative integers below ${MAX_SLOTS}`);
}

/** Slot cursors name distinct slots, carry an integer epoch and a valid cursor each. */
export function checkSlotCursors(cursors: readonly SlotCursor[]): void {
  if (!Array.isArray(cursors)) throw new StoreError('saveSlotCursors: cursors must be an array');
  checkSlotNumbers('saveSlotCursors', cursors.map((entry) => entry.slot));
  for (const entry of cursors) {
    if (!Number.isSafeInteger(entry.epoch) || entry.epoch < 0) throw new StoreError('saveSlotCursors: epoch must be a non-negative integer');
    checkCursor(entry.cursor);
  }
}

/** In-flight notes name distinct slots, carry an integer epoch and positive integer event numbers each. */
export function checkInFlightNotes(notes: readonly InFlightNote[]): void {
  if (!Array.isArray(notes)) throw new StoreError('noteInFlight: notes must be an array');
  checkSlotNumbers('noteInFlight', notes.map((note) => note.slot));
  for (const { epoch, events, alone } of notes) {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new StoreError('noteInFlight: epoch must be a non-negative integer');
    if (alone !== undefined && typeof alone !== 'boolean') throw new StoreError('noteInFlight: alone must be a boolean');
    if (!Array.isArray(events) || !events.every((n) => Number.isSafeInteger(n) && n > 0)) {
      throw new StoreError('noteInFlight: events must be positive integer event numbers');
    }
  }
}

/** A cursor has a non-negative integer position and acknowledged numbers above it. */
export function checkCursor(state: CursorState): void {
  const valid =
    typeof state === 'object' &&
    state !== null &&
    Number.isSafeInteger(state.position) &&
    state.position >= 0 &&
    Array.isArray(state.acked) &&
    state.acked.every((n) => Number.isSafeInteger(n) && n > state.position);
  if (!valid) throw new StoreError('saveCursor: a cursor needs a non-negative integer position and acked numbers above it');
}

/** A dead letter names its handler and carries an event, an error message and a non-negative attempt count. */
export function checkDeadLetter(deadLetter: NewDeadLetter): void {
  const { handlerName, event, error, attempts } = deadLetter ?? {};
  const valid =
    typeof handlerName === 'string' &&
    handlerName !== '' &&
    typeof event === 'object' &&
    event !== null &&
    typeof error === 'object' &&
    error !== null &&
    typeof error.message === 'string' &&
    (error.stack === undefined || typeof error.stack === 'string') &&
    (error.code === undefined || typeof error.code === 'string') &&
    Number.isSafeInteger(attempts) &&
    attempts >= 0;
  if (!valid) throw new StoreError('addDeadLetter: needs a handlerName, an event, an error and a non-negative integer attempts');
}
