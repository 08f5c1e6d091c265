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
  const membershipListeners = listenerSet<[handlerName: string]>();
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
      op('saveCursor', () => cursorListeners.notify(handlerName, handlers.saveCursor(handlerName, state, clock.now()))),
    resetCursor: (handlerName) =>
      op('resetCursor', () => {
        const record = handlers.reset(handlerName, clock.now());
        membershipListeners.notify(handlerName);
        return record;
      }),
    heartbeat: (handlerName, node, leaseMs) =>
      op('heartbeat', () => {
        const { membership, joined } = handlers.heartbeat(handlerName, node, leaseMs, clock.now());
        if (joined) membershipListeners.notify(handlerName);
        return membership;
      }),
    claimSlots: (handlerName, node, slots, leaseMs) => op('claimSlots', () => handlers.claim(handlerName, node, slots, leaseMs, clock.now())),
    releaseSlots: (handlerName, nodeId, slots) =>
      op('releaseSlots', () => {
        if (handlers.release(handlerName, nodeId, slots)) membershipListeners.notify(handlerName);
      }),
    leave: (handlerName, nodeId) =>
      op('leave', () => {
        if (handlers.leave(handlerName, nodeId)) membershipListeners.notify(handlerName);
      }),
    saveSlotCursors: (handlerName, nodeId, cursors) =>
      op('saveSlotCursors', () => {
        if (cursors.length === 0) return;
        let position: number;
        try {
          position = handlers.saveSlotCursors(handlerName, nodeId, cursors, clock.now());
        } catch (error) {
          // The slots still held were saved: tell listeners before reporting the lost ones.
          const record = handlers.load(handlerName);
          if (record !== undefined) cursorListeners.notify(handlerName, record.cursor.position);
          throw error;
        }
        cursorListeners.notify(handlerName, position);
      }),
    noteInFlight: (handlerName, nodeId, notes) => op('noteInFlight', () => handlers.noteInFlight(handlerName, nodeId, notes)),
    clearInFlight: (handlerName, nodeId, slots) => op('clearInFlight', () => handlers.clearInFlight(handlerName, nodeId, slots)),
    addDeadLetter: (deadLetter) => op('addDeadLetter', () => deadLetters.add(deadLetter, newId(), clock.now())),
    listDeadLetters: (filter) => op('listDeadLetters', () => deadLetters.list(filter?.handlerName)),
    getDeadLetter: (id) => op('getDeadLetter', () => deadLetters.get(id)),
    removeDeadLetter: (id) => op('removeDeadLetter', () => deadLetters.remove(id)),
    pruneDeadLetters: (olderThan) => op('pruneDeadLetters', () => deadLetters.prune(olderThan)),
    onAppend: (listener) => appendListeners.add(listener),
    onCursorSaved: (listener) => cursorListeners.add(listener),
    onMembershipChanged: (listener) => membershipListeners.add(listener),
    // The log outlives the apps that use it, like a database outlives a process: closing only detaches
    // listeners, and a new app can start on the same store (which is how tests and demos simulate a restart).
    close() {
      appendListeners.clear();
      cursorListeners.clear();
      membershipListeners.clear();
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
