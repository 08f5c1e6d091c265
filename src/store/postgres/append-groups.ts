/**
 * Groups concurrent appends of one process into one database call.
 *
 * Up to `maxInFlight` calls run at once; appends arriving while all are busy wait and leave together, as one
 * group (at most `maxGroup` appends), in one transaction with one commit (`append_now`, migration 4). A lone
 * caller never waits: with a free call its append leaves at once, alone. A group sorts its appends by stream
 * (stably, so appends to one stream keep their order), so groups of several processes lock streams in the same
 * order. It skips streams that another transaction holds (outcome `busy`): those appends, and every append of a
 * group that failed, are sent again alone, so one slow transaction or one bad append holds up only its own.
 */
import type { AppendArgs, NowAppendRow } from './sql/events.ts';

/** One append's arguments, as `append_now` takes them. */
export type GroupedAppend = Omit<AppendArgs, 'notifyChannel'>;

/** Sends appends in one call; `tryLocks` leaves out those whose stream another transaction holds. */
export type SendAppends = (appends: readonly GroupedAppend[], tryLocks: boolean) => Promise<NowAppendRow[]>;

/** The grouping of one store. */
export interface AppendGroups {
  /** Appends (alone or with concurrent others) and numbers; resolves with this append's row. */
  append(args: GroupedAppend): Promise<NowAppendRow>;
  /** Appends queued or in flight. */
  readonly pending: number;
}

interface Waiting {
  readonly args: GroupedAppend;
  resolve(row: NowAppendRow): void;
  reject(error: unknown): void;
}

/** Creates the grouping over `send`. */
export function createAppendGroups(send: SendAppends, maxInFlight: number, maxGroup: number): AppendGroups {
  const queue: Waiting[] = [];
  let inFlight = 0;
  let pending = 0;

  async function alone(item: Waiting): Promise<void> {
    try {
      const [row] = await send([item.args], false);
      if (row === undefined) throw new Error('append_now returned no row');
      item.resolve(row);
    } catch (error) {
      item.reject(error);
    }
  }

  async function together(items: Waiting[]): Promise<void> {
    const sorted = items.length === 1 ? items : [...items].sort((a, b) => (a.args.streamId < b.args.streamId ? -1 : a.args.streamId > b.args.streamId ? 1 : 0));
    if (sorted.length === 1) return alone(sorted[0] as Waiting);
    let rows: NowAppendRow[];
    try {
      rows = await send(sorted.map((item) => item.args), true);
    } catch {
      // Nothing of the group was stored (one transaction): each append goes again alone, so an error
      // (a deadlock with a caller's transaction, bad data) reaches only the append it belongs to.
      await Promise.all(sorted.map(alone));
      return;
    }
    await Promise.all(
      sorted.map((item, i) => {
        const row = rows[i];
        if (row === undefined || row.outcome === 'busy') return alone(item);
        item.resolve(row);
        return undefined;
      }),
    );
  }

  function pump(): void {
    while (inFlight < maxInFlight && queue.length > 0) {
      const group = queue.splice(0, maxGroup);
      inFlight++;
      void together(group).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  return {
    get pending() {
      return pending;
    },
    append(args) {
      pending++;
      return new Promise<NowAppendRow>((resolve, reject) => {
        queue.push({ args, resolve, reject });
        pump();
      }).finally(() => {
        pending--;
      });
    },
  };
}
