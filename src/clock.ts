/** Opaque handle of a scheduled timer. */
export type TimerHandle = { readonly __timer: unique symbol } | NodeJS.Timeout | number;

/**
 * Time as herald sees it. Injected everywhere a delay or timestamp is needed, so tests control time.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Schedules `callback` after `ms` milliseconds. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a no-op for a fired or unknown one. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `Date.now` and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A clock that only moves when told to: for tests of delays and intensity windows. */
export interface ManualClock extends Clock {
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void;
  /** Number of timers still pending. */
  pending(): number;
}

/**
 * Creates a {@link ManualClock} starting at `startMs`.
 * @example
 * const clock = manualClock();
 * clock.setTimeout(() => console.log('fired'), 100);
 * clock.advance(100); // prints "fired"
 */
export function manualClock(startMs = 0): ManualClock {
  let now = startMs;
  let nextId = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();
  return {
    now: () => now,
    setTimeout(callback, ms) {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, ms), callback });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const target = now + ms;
      for (;;) {
        let dueId: number | undefined;
        let dueAt = Infinity;
        for (const [id, timer] of timers) {
          if (timer.at <= target && timer.at < dueAt) {
            dueId = id;
            dueAt = timer.at;
          }
        }
        if (dueId === undefined) break;
        const timer = timers.get(dueId);
        timers.delete(dueId);
        now = dueAt;
        timer?.callback();
      }
      now = target;
    },
    pending: () => timers.size,
  };
}
