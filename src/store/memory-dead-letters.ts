import { StoreError } from '../errors.ts';
import { frozenCopy } from './memory-freeze.ts';
import type { DeadLetter, NewDeadLetter } from './types.ts';
import { checkDeadLetter } from './validate.ts';

/** The in-memory dead-letter table. */
export interface MemoryDeadLetters {
  add(deadLetter: NewDeadLetter, id: string, now: number): DeadLetter;
  /** Oldest first (by `deadAt`, then insertion), optionally of one handler. */
  list(handlerName?: string): DeadLetter[];
  get(id: string): DeadLetter | undefined;
  remove(id: string): boolean;
  /** Removes those with `deadAt < olderThan`; returns how many. */
  prune(olderThan: Date): number;
}

/** Creates an empty table. Entries are stored as frozen copies; every read returns a fresh copy (it holds `Date`s). */
export function createMemoryDeadLetters(): MemoryDeadLetters {
  // A Map keeps insertion order, which is `deadAt` order unless the clock went backwards; `list` sorts anyway.
  const entries = new Map<string, DeadLetter>();

  return {
    add(deadLetter, id, now) {
      checkDeadLetter(deadLetter);
      if (entries.has(id)) throw new StoreError(`addDeadLetter: id "${id}" is already used`);
      const { handlerName, event, error, attempts } = deadLetter;
      let stored: DeadLetter;
      try {
        stored = frozenCopy({
          id,
          handlerName,
          event,
          error: {
            message: String(error.message),
            stack: error.stack === undefined ? undefined : String(error.stack),
            ...(error.code === undefined ? {} : { code: String(error.code) }),
          },
          attempts,
          deadAt: new Date(now),
        });
      } catch (cause) {
        throw new StoreError('addDeadLetter: the dead letter cannot be copied', cause);
      }
      entries.set(id, stored);
      return structuredClone(stored);
    },
    list(handlerName) {
      const all = [...entries.values()];
      const matching = handlerName === undefined ? all : all.filter((entry) => entry.handlerName === handlerName);
      return matching.sort((a, b) => a.deadAt.getTime() - b.deadAt.getTime()).map((entry) => structuredClone(entry));
    },
    get(id) {
      const entry = entries.get(id);
      return entry === undefined ? undefined : structuredClone(entry);
    },
    remove(id) {
      return entries.delete(id);
    },
    prune(olderThan) {
      if (!(olderThan instanceof Date) || Number.isNaN(olderThan.getTime())) throw new StoreError('pruneDeadLetters: olderThan must be a valid Date');
      let removed = 0;
      for (const [id, entry] of entries) {
        if (entry.deadAt.getTime() < olderThan.getTime()) {
          entries.delete(id);
          removed++;
        }
      }
      return removed;
    },
  };
}

