/**
 * The sequencer, as the store drives it.
 *
 * An append outside a caller's transaction numbers itself: `append_now` (migration 4) stores its events, takes
 * the per-schema sequencer lock, numbers every committed batch still waiting, then its own, and commits holding
 * the lock (one transaction, one round trip; concurrent appends of this process share one call, see
 * `append-groups.ts`). Appends inside a caller's transaction commit their events unnumbered (one `batches` row
 * each); a short separate transaction, `sequence_batches`, then gives every committed unnumbered batch the next
 * range of global numbers under the same lock. Writers never hold the lock while a caller's transaction is
 * open, a long unrelated transaction stalls nobody, and readers see each numbering commit whole, so a reader
 * that moves its cursor to the last number it saw never skips an event.
 *
 * Within one process, callers share runs: a request joins the run queued to start after the current one
 * (a run that started before the caller's commit might not see it), so N concurrent callers cost about
 * two sequencer transactions instead of N lock waits.
 */
import type { ISql } from 'postgres';
import { createAppendGroups } from './append-groups.ts';
import type { GroupedAppend } from './append-groups.ts';
import { createAppendWakeups } from './append-wakeups.ts';
import { appendNow, notifyAppended, sequenceBatches } from './sql/events.ts';
import type { NowAppendRow } from './sql/events.ts';
import { toNumber } from './rows.ts';

/** Appends of one process in flight at once (each may carry a group of appends that arrived meanwhile). */
const APPEND_CALLS = 8;
/** Most appends one grouped call carries. */
const GROUP_SIZE = 64;
/** Appends of one process send at most one NOTIFY per this many milliseconds (see `append-wakeups.ts`). */
const NOTIFY_EVERY_MS = 3;

/** Runs the sequencer on demand. */
export interface Sequencer {
  /**
   * Runs the sequencer until no committed batch awaits a number (sharing runs with concurrent callers)
   * and resolves with the first numbers of `batchIds` (committed before the call).
   */
  number(batchIds?: readonly number[]): Promise<Map<number, number>>;
  /** Appends (autocommit, possibly in one call with concurrent appends of this process) and numbers the events. */
  appendNow(args: GroupedAppend): Promise<NowAppendRow>;
  /**
   * Whether a run, or an append (which numbers every committed batch it finds), is under way or queued here.
   * Each numbers every batch committed before it began, and notifies readers when it numbered something.
   */
  readonly busy: boolean;
}

/** Creates the sequencer of one schema. */
export function createSequencer(db: ISql, schema: string, maxBatches: number, channel: string, wakeLocal: () => void): Sequencer {
  let current: Promise<Map<number, number>> | undefined;
  let next: { wanted: Set<number>; promise: Promise<Map<number, number>> } | undefined;
  // Appends number committed batches too. Runs do not wait for them: one may wait on a stream's row lock for
  // as long as another transaction holds it, and the advisory lock orders them with runs anyway.
  const wakeups = createAppendWakeups({ wakeLocal, notify: () => notifyAppended(db, channel), everyMs: NOTIFY_EVERY_MS });
  async function send(appends: readonly GroupedAppend[], tryLocks: boolean): Promise<NowAppendRow[]> {
    const notify = wakeups.notifyNow();
    try {
      return await appendNow(db, schema, appends, { channel, notify }, tryLocks);
    } finally {
      wakeups.settled(notify);
    }
  }
  const groups = createAppendGroups(send, APPEND_CALLS, GROUP_SIZE);
  const busy = (): boolean => current !== undefined || next !== undefined || groups.pending > 0;

  async function runUntilDone(wanted: readonly number[]): Promise<Map<number, number>> {
    const numbers = new Map<number, number>();
    for (;;) {
      const row = await sequenceBatches(db, schema, maxBatches, wanted, channel);
      (row.ids ?? []).forEach((id, i) => {
        const first = row.numbers?.[i];
        if (first !== null && first !== undefined) numbers.set(toNumber(id), toNumber(first));
      });
      if (row.numbered < maxBatches) return numbers;
    }
  }

  function start(wanted: Set<number>): Promise<Map<number, number>> {
    const run = runUntilDone([...wanted]);
    current = run;
    const clear = (): void => {
      if (current === run) current = undefined;
    };
    run.then(clear, clear);
    return run;
  }

  return {
    get busy() {
      return busy();
    },
    appendNow: (args) => groups.append(args),
    number(batchIds = []) {
      if (next !== undefined) {
        for (const id of batchIds) next.wanted.add(id);
        return next.promise;
      }
      if (current === undefined) return start(new Set(batchIds));
      const wanted = new Set(batchIds);
      const settle = (): Promise<Map<number, number>> => {
        next = undefined;
        return start(wanted);
      };
      const promise = current.then(settle, settle);
      next = { wanted, promise };
      return promise;
    },
  };
}
