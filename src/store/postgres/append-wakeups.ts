/**
 * How appends of one process wake readers. Its own readers are woken in memory after every append that
 * stored events (no round trip through the server). Other processes hear a NOTIFY: a notification costs the
 * appending transaction's commit a global lock and wakes every listening backend, so appends send at most one per
 * `everyMs`. The first append after a quiet spell notifies in its own commit; appends within `everyMs` of it do
 * not; a trailing NOTIFY is sent once `everyMs` passed since the last one, after those appends committed, so
 * another process's reader hears of every append at most about `everyMs` late (and polls anyway).
 */

/** Timers, injectable for tests. */
export interface WakeupClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
}

/** The wake-up policy of one store. */
export interface AppendWakeups {
  /** Whether the append call about to be sent should notify in its own commit. */
  notifyNow(): boolean;
  /**
   * After that call settled (even when it failed: it may have committed before its answer was lost): wakes local
   * readers and, when the call did not notify, owes other processes a trailing NOTIFY.
   */
  settled(notified: boolean): void;
}

/** What the policy drives. */
export interface AppendWakeupDeps {
  /** Wakes this process's readers. */
  readonly wakeLocal: () => void;
  /** Sends one NOTIFY (errors are swallowed: readers poll). */
  readonly notify: () => Promise<void>;
  readonly everyMs: number;
  readonly clock?: WakeupClock | undefined;
}

const realClock: WakeupClock = { now: () => performance.now(), setTimeout: (callback, ms) => setTimeout(callback, ms).unref() };

/** Creates the policy. */
export function createAppendWakeups({ wakeLocal, notify, everyMs, clock = realClock }: AppendWakeupDeps): AppendWakeups {
  let lastNotify = Number.NEGATIVE_INFINITY;
  let owed = false;
  let scheduled = false;

  function trailing(): void {
    scheduled = false;
    if (!owed) return;
    owed = false;
    lastNotify = clock.now();
    void notify().catch(() => undefined);
  }

  return {
    notifyNow() {
      const now = clock.now();
      if (now - lastNotify >= everyMs) {
        lastNotify = now;
        return true;
      }
      return false;
    },
    settled(notified) {
      wakeLocal();
      if (!notified) owed = true;
      if (owed && !scheduled) {
        scheduled = true;
        clock.setTimeout(trailing, Math.max(0, lastNotify + everyMs - clock.now()));
      }
    },
  };
}
