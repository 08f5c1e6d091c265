/**
 * The post-commit sequencer, as the store drives it.
 *
 * Since migration 7 an append outside a caller's transaction numbers itself before its commit
 * (`sql/append-group.ts`). What remains for the sequencer: appends inside a caller's transaction (outbox), and the
 * slow way of the others (an unmet expectation, ids stored already). Those commit their events unnumbered (one
 * `batches` row each); a short separate transaction, `sequence_batches` in the database, then gives every committed
 * unnumbered batch the next range of global numbers under a per-schema advisory lock and the `sequencer` row lock
 * that self-numbering appends take too. Readers see each numbering commit whole, in number order, so a reader that
 * moves its cursor to the last number it saw never skips an event.
 *
 * Within one process, callers share runs: a request joins the run queued to start after the current one
 * (a run that started before the caller's commit might not see it), so N concurrent appenders cost about
 * two sequencer transactions instead of N lock waits. A slow-way append made while nothing here is numbering runs
 * the sequencer itself, after its commit but in the same database call (`append_numbered`).
 */
import type { ISql } from 'postgres';
import { appendNumbered, sequenceBatches } from './sql/events.ts';
import type { AppendArgs, NumberedAppendRow } from './sql/events.ts';
import { toNumber } from './rows.ts';

/** Runs the sequencer on demand. */
export interface Sequencer {
  /**
   * Runs the sequencer until no committed batch awaits a number (sharing runs with concurrent callers)
   * and resolves with the first numbers of `batchIds` (committed before the call).
   */
  number(batchIds?: readonly number[]): Promise<Map<number, number>>;
  /**
   * When nothing here is numbering, appends (autocommit) and runs the sequencer after that commit in the same
   * database call; otherwise `undefined`: the caller appends alone, then joins the run shared with the others.
   */
  appendNumbered(args: Omit<AppendArgs, 'notifyChannel'>): Promise<NumberedAppendRow> | undefined;
  /**
   * Whether a run, or an append that numbers its own batch, is under way or queued here. Each numbers every
   * batch committed before it began, and notifies readers when it numbered something.
   */
  readonly busy: boolean;
}

/** Creates the sequencer of one schema. */
export function createSequencer(db: ISql, schema: string, maxBatches: number, channel: string): Sequencer {
  let current: Promise<Map<number, number>> | undefined;
  let next: { wanted: Set<number>; promise: Promise<Map<number, number>> } | undefined;
  // Appends numbering their own batch. Runs do not wait for them: one may wait on a stream's row lock for as
  // long as another transaction holds it, and the advisory lock orders them with runs anyway.
  let numberingAppends = 0;
  const busy = (): boolean => current !== undefined || next !== undefined || numberingAppends > 0;

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
    appendNumbered(args) {
      if (busy()) return undefined;
      numberingAppends++;
      const done = (): void => {
        numberingAppends--;
      };
      const call = appendNumbered(db, schema, args, maxBatches, channel);
      call.then(done, done);
      return call;
    },
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
