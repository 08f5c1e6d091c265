import type { Clock, TimerHandle } from '../clock.ts';
import { ConsistencyTimeoutError } from '../errors.ts';
import type { EventStore, HandlerRecord } from '../store/types.ts';

/** Where a handler's acknowledged position comes from: this process, or the store (another process). */
export interface PositionSource {
  /** The position of a handler running in this app, or `undefined` if it does not run here. */
  local(name: string): number | undefined;
}

/** Waits until handlers have acknowledged an event number (strong consistency). */
export interface ConsistencyWaiter {
  /** Resolves once every handler in `names` is at or past `eventNumber`; rejects with `ConsistencyTimeoutError`. */
  wait(names: readonly string[], eventNumber: number, timeoutMs: number): Promise<void>;
  /** A handler (local or remote) reached `position`. */
  advanced(name: string, position: number): void;
  /** Stops listening to the store. */
  close(): void;
}

interface PendingWait {
  readonly remaining: Set<string>;
  readonly eventNumber: number;
  resolve(): void;
}

/** How often a wait on a handler of another process re-reads the store, in case a notification was lost. */
const REMOTE_POLL_MS = 250;

/** Creates a waiter fed by local advances and, for handlers of other processes, by the store's cursor wake-ups. */
export function createConsistencyWaiter(store: EventStore, clock: Clock, source: PositionSource): ConsistencyWaiter {
  const waits = new Set<PendingWait>();
  const remote = new Map<string, number>();
  const unsubscribe = store.onCursorSaved((name, position) => {
    if (source.local(name) === undefined) advanced(name, position);
  });

  function positionOf(name: string): number | undefined {
    return source.local(name) ?? remote.get(name);
  }

  function advanced(name: string, position: number): void {
    if (source.local(name) === undefined) remote.set(name, Math.max(remote.get(name) ?? 0, position));
    for (const wait of waits) {
      if (position >= wait.eventNumber && wait.remaining.delete(name) && wait.remaining.size === 0) wait.resolve();
    }
  }

  async function refreshRemote(names: readonly string[]): Promise<void> {
    const remoteNames = names.filter((name) => source.local(name) === undefined);
    if (remoteNames.length === 0) return;
    const records = await Promise.all(remoteNames.map((name) => store.loadHandler(name)));
    records.forEach((record: HandlerRecord | undefined, i) => {
      if (record !== undefined) advanced(remoteNames[i] as string, record.cursor.position);
    });
  }

  return {
    advanced,
    async wait(names, eventNumber, timeoutMs) {
      const remaining = new Set(names.filter((name) => (positionOf(name) ?? -1) < eventNumber));
      if (remaining.size === 0) return;
      let timer: TimerHandle | undefined;
      let poll: TimerHandle | undefined;
      const wait: PendingWait = { remaining, eventNumber, resolve: () => {} };
      try {
        await new Promise<void>((resolve, reject) => {
          wait.resolve = resolve;
          waits.add(wait);
          timer = clock.setTimeout(
            () => reject(new ConsistencyTimeoutError([...remaining], eventNumber, timeoutMs)),
            timeoutMs,
          );
          const repoll = (): void => {
            refreshRemote([...remaining]).catch(() => {});
            poll = clock.setTimeout(repoll, REMOTE_POLL_MS);
          };
          if (names.some((name) => source.local(name) === undefined)) repoll();
        });
      } finally {
        waits.delete(wait);
        if (timer !== undefined) clock.clearTimeout(timer);
        if (poll !== undefined) clock.clearTimeout(poll);
      }
    },
    close() {
      unsubscribe();
    },
  };
}
