import { monotonicFactory } from 'ulid';
import { systemClock, type Clock } from '../clock.ts';
import { StoreError } from '../errors.ts';
import { createMemoryDeadLetters } from './memory-dead-letters.ts';
import { createMemoryHandlers } from './memory-handlers.ts';
import { createMemoryLog } from './memory-log.ts';
import type { EventStore } from './types.ts';

/** Options of {@link inMemoryStore}. */
export interface InMemoryStoreOptions {
  /**
   * Source of `createdAt`, `updatedAt` and `deadAt`.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Id generator for dead letters.
   * @default ulid's monotonicFactory()
   */
  newId?: () => string;
}

/**
 * The embedded store: the whole {@link EventStore} contract in process memory (the demo's and unit tests'
 * default). Data lives as long as the object; events handed out are frozen and cannot change the log.
 * Reads index arrays directly (`$all`) or binary-search a per-stream index, so a page costs O(limit).
 * @example
 * const store = inMemoryStore();
 * const app = createApp({ store });
 */
export function inMemoryStore(options: InMemoryStoreOptions = {}): EventStore {
  const clock = options.clock ?? systemClock;
  const newId = options.newId ?? monotonicFactory();
  const log = createMemoryLog();
  const handlers = createMemoryHandlers();
  const deadLetters = createMemoryDeadLetters();
  const appendListeners = listenerSet<[]>();
  const cursorListeners = listenerSet<[handlerName: string, position: number]>();
  /** Runs `work` now (the store is synchronous inside), as a promise. */
  function op<T>(_name: string, work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  return {
    kind: 'memory',
    migrate: () => op('migrate', () => undefined),
    append: (request) =>
      op('append', () => {
        if (request.transaction !== undefined) {
          throw new StoreError('append: the in-memory store cannot append inside a PostgreSQL transaction');
        }
        const result = log.append(request.streamId, request.events, request.expectedVersion, clock.now());
        if (result.events.length > 0) appendListeners.notify();
        return result;
      }),
    read: (request) => op('read', () => log.read(request)),
    headPosition: () => op('headPosition', () => log.head()),
    registerHandler: (registration) => op('registerHandler', () => handlers.register(registration, log.head(), clock.now())),
    loadHandler: (name) => op('loadHandler', () => handlers.load(name)),
    listHandlers: () => op('listHandlers', () => handlers.list()),
    saveCursor: (handlerName, state) =>
      op('saveCursor', () => {
        handlers.saveCursor(handlerName, state, clock.now());
        cursorListeners.notify(handlerName, state.position);
      }),
    resetCursor: (handlerName) => op('resetCursor', () => handlers.reset(handlerName, clock.now())),
    addDeadLetter: (deadLetter) => op('addDeadLetter', () => deadLetters.add(deadLetter, newId(), clock.now())),
    listDeadLetters: (filter) => op('listDeadLetters', () => deadLetters.list(filter?.handlerName)),
    getDeadLetter: (id) => op('getDeadLetter', () => deadLetters.get(id)),
    removeDeadLetter: (id) => op('removeDeadLetter', () => deadLetters.remove(id)),
    pruneDeadLetters: (olderThan) => op('pruneDeadLetters', () => deadLetters.prune(olderThan)),
    onAppend: (listener) => appendListeners.add(listener),
    onCursorSaved: (listener) => cursorListeners.add(listener),
    // The log outlives the apps that use it, like a database outlives a process: closing only detaches
    // listeners, and a new app can start on the same store (which is how tests and demos simulate a restart).
    close() {
      appendListeners.clear();
      cursorListeners.clear();
      return Promise.resolve();
    },
  };
}

/** Listeners called in a microtask after the change; one that throws is ignored, the others still run. */
function listenerSet<A extends unknown[]>() {
  const listeners = new Set<(...args: A) => void>();
  return {
    add(listener: (...args: A) => void): () => void {
      // A wrapper per subscription, so subscribing the same function twice gives two independent subscriptions.
      const entry = (...args: A): void => listener(...args);
      listeners.add(entry);
      return () => void listeners.delete(entry);
    },
    notify(...args: A): void {
      if (listeners.size === 0) return;
      queueMicrotask(() => {
        // Iterating the live set: a listener removed before this runs is not called.
        for (const listener of listeners) {
          try {
            listener(...args);
          } catch {
            // A listener's failure is its own; the store and the other listeners carry on.
          }
        }
      });
    },
    clear(): void {
      listeners.clear();
    },
  };
}
