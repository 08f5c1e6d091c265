import { HandlerConfigError, StoreError } from '../errors.ts';
import type { CursorState, HandlerRecord, HandlerRegistration } from './types.ts';

/** The in-memory handler registry: settings and cursor of every handler ever registered. */
export interface MemoryHandlers {
  /** See `EventStore.registerHandler`; `head` is the log's head, used for `startFrom: 'current'`. */
  register(registration: HandlerRegistration, head: number, now: number): HandlerRecord;
  load(name: string): HandlerRecord | undefined;
  /** Every handler, by name. */
  list(): HandlerRecord[];
  /** Throws `StoreError` for an unknown handler or a malformed cursor. */
  saveCursor(name: string, state: CursorState, now: number): void;
  /** Throws `StoreError` for an unknown handler. */
  reset(name: string, now: number): HandlerRecord;
}

/** Creates an empty registry. Records are frozen and replaced on every change, so handing them out is safe. */
export function createMemoryHandlers(): MemoryHandlers {
  const records = new Map<string, HandlerRecord>();

  function existing(name: string, operation: string): HandlerRecord {
    const record = records.get(name);
    if (record === undefined) throw new StoreError(`${operation}: no handler named "${String(name)}" is registered`);
    return record;
  }

  function put(record: Omit<HandlerRecord, 'updatedAt'>, now: number): HandlerRecord {
    const frozen = freezeRecord({ ...record, updatedAt: new Date(now) });
    records.set(record.name, frozen);
    return copy(frozen);
  }

  return {
    register(registration, head, now) {
      checkRegistration(registration);
      const { name, subscribeTo, consistency, startFrom } = registration;
      const previous = records.get(name);
      if (previous !== undefined) return put({ ...previous, subscribeTo, consistency }, now);
      const initialPosition = startFrom === 'origin' ? 0 : startFrom === 'current' ? head : startFrom;
      return put({ name, subscribeTo, consistency, initialPosition, cursor: { position: initialPosition, acked: [] } }, now);
    },
    load(name) {
      const record = records.get(name);
      return record === undefined ? undefined : copy(record);
    },
    list() {
      return [...records.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(copy);
    },
    saveCursor(name, state, now) {
      const record = existing(name, 'saveCursor');
      checkCursor(state);
      put({ ...record, cursor: { position: state.position, acked: [...state.acked] } }, now);
    },
    reset(name, now) {
      const record = existing(name, 'resetCursor');
      return put({ ...record, cursor: { position: record.initialPosition, acked: [] } }, now);
    },
  };
}

function freezeRecord(record: HandlerRecord): HandlerRecord {
  Object.freeze(record.cursor.acked);
  Object.freeze(record.cursor);
  return Object.freeze(record);
}

/** A `Date` cannot be frozen, so every record handed out gets its own. */
function copy(record: HandlerRecord): HandlerRecord {
  return Object.freeze({ ...record, updatedAt: new Date(record.updatedAt.getTime()) });
}

function checkRegistration(registration: HandlerRegistration): void {
  const { name, subscribeTo, consistency, startFrom } = registration;
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
}

function checkCursor(state: CursorState): void {
  const valid =
    typeof state === 'object' &&
    state !== null &&
    Number.isSafeInteger(state.position) &&
    state.position >= 0 &&
    Array.isArray(state.acked) &&
    state.acked.every((n) => Number.isSafeInteger(n) && n > state.position);
  if (!valid) throw new StoreError(`saveCursor: a cursor needs a non-negative integer position and acked numbers above it`);
}
