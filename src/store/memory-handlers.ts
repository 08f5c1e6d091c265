import { StoreError } from '../errors.ts';
import type { CursorState, HandlerRecord, HandlerRegistration } from './types.ts';
import { checkCursor, checkRegistration } from './validate.ts';

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

