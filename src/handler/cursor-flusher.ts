import type { Clock, TimerHandle } from '../clock.ts';
import type { CursorState } from '../store/types.ts';

/** Persists a handler's cursor in batches: after `everyEvents` acknowledgements or `afterMs`, and on demand. */
export interface CursorFlusher {
  /** Counts an acknowledgement; saves when a threshold is reached. */
  acknowledged(): void;
  /** Saves now (waits for a save in flight, then saves the latest state). Rejects if the store fails. */
  flush(): Promise<void>;
  /** Cancels the timer; later acknowledgements no longer save. */
  close(): void;
}

/** What the flusher needs. */
export interface CursorFlusherOptions {
  readonly clock: Clock;
  readonly everyEvents: number;
  readonly afterMs: number;
  /** Current state to persist. */
  snapshot(): CursorState;
  /** Writes it. */
  save(state: CursorState): Promise<void>;
  /** A background save failed (it is retried on the next trigger). */
  onError(error: unknown): void;
}

/** Creates a flusher; saves are coalesced so at most one runs at a time. */
export function createCursorFlusher(options: CursorFlusherOptions): CursorFlusher {
  const { clock } = options;
  let unsaved = 0;
  let timer: TimerHandle | undefined;
  let inFlight: Promise<void> | undefined;
  let closed = false;
  let lastSaved: CursorState | undefined;

  function disarm(): void {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
  }

  async function saveLatest(): Promise<void> {
    while (inFlight !== undefined) await inFlight.catch(() => {});
    const state = options.snapshot();
    if (lastSaved !== undefined && sameState(lastSaved, state)) return;
    unsaved = 0;
    disarm();
    const attempt = options.save(state).then(() => {
      lastSaved = state;
    });
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

function sameState(a: CursorState, b: CursorState): boolean {
  return a.position === b.position && a.acked.length === b.acked.length && a.acked.every((n, i) => b.acked[i] === n);
}
