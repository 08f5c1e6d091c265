/** Clocks and bounds for the bench: every wait has a deadline, so a stuck run fails instead of hanging. */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';

/** Milliseconds from a monotonic clock. */
export const now = (): number => performance.now();

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => delay(ms).then(() => undefined);

/** Rejects with a message naming `label` if `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no result within ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Counts handled items and resolves `done` at the `target`-th, with the time it happened. */
export interface Countdown {
  /** Counts one item. */
  hit(): void;
  readonly count: number;
  /** Resolves with {@link now} at the moment the target was reached. */
  readonly done: Promise<number>;
}

/** Creates a countdown to `target` items. */
export function countdown(target: number): Countdown {
  let count = 0;
  let resolve: (at: number) => void = () => {};
  const done = new Promise<number>((r) => (resolve = r));
  if (target <= 0) resolve(now());
  return {
    hit() {
      count++;
      if (count === target) resolve(now());
    },
    get count() {
      return count;
    },
    done,
  };
}

/** Runs `work(i)` for i in [0, count) with at most `parallel` in flight; resolves when all are done. */
export async function runPool(count: number, parallel: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  async function lane(): Promise<void> {
    while (next < count) await work(next++);
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
}
