import type { Clock, TimerHandle } from '../clock.ts';

/** Persists a handler's cursor in batches: after `everyEvents` acknowledgements or `afterMs`, and on demand. */
export interface CursorFlusher {
  /** Counts an acknowledgement; saves when a threshold is reached. */
  acknowledged(): void;
  /** Saves now (waits for a save in flight, then saves the latest state). Rejects if the store fails. */
  flush(): Promise<void>;
  /** Cancels the timer; later acknowledgements no longer save. */
  close(): void;
}

/** What the flusher needs; `T` is what one save writes (e.g. the changed slot cursors). */
export interface CursorFlusherOptions<T> {
  readonly clock: Clock;
  readonly everyEvents: number;
  readonly afterMs: number;
  /** What changed since the last successful save, or `undefined` when nothing did. */
  snapshot(): T | undefined;
  /** Writes it. */
  save(state: T): Promise<void>;
  /** `state` was written. */
  saved(state: T): void;
  /** A background save failed (it is retried on the next trigger). */
  onError(error: unknown): void;
}

/** Creates a flusher; saves are coalesced so at most one runs at a time. */
export function createCursorFlusher<T>(options: CursorFlusherOptions<T>): CursorFlusher {
  const { clock } = options;
  let unsaved = 0;
  let timer: TimerHandle | undefined;
  let inFlight: Promise<void> | undefined;
  let closed = false;

  function disarm(): void {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
  }

  async function saveLatest(): Promise<void> {
    while (inFlight !== undefined) await inFlight.catch(() => {});
    const state = options.snapshot();
    if (state === undefined) return;
    unsaved = 0;
    disarm();
    const attempt = options.save(state).then(() => options.saved(state));
    inFlight = attempt;
    try {
      await attempt;
    } finally {
      if (inFlight === attempt) inFlight = undefined;
    }
  }

  let again = false;

  /** Starts a save unless one runs; if one runs, saves once more when it ends (coalescing). */
  function background(): void {
    if (inFlight !== undefined) {
      again = true;
      return;
    }
    saveLatest()
      .catch((error: unknown) => {
        options.onError(error);
        arm();
      })
      .finally(() => {
        if (again && !closed) {
          again = false;
          background();
        }
      });
  }

  function arm(): void {
    if (timer !== undefined || closed) return;
    timer = clock.setTimeout(() => {
      timer = undefined;
      if (!closed) background();
    }, options.afterMs);
  }

  return {
    acknowledged() {
      if (closed) return;
      unsaved++;
      if (unsaved >= options.everyEvents) background();
      else arm();
    },
    flush: saveLatest,
    close() {
      closed = true;
      disarm();
    },
  };
}
