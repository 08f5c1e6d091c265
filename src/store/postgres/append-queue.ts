/**
 * Groups a process's concurrent appends (outside a caller's transaction) into few statements.
 *
 * An append is sent at once while fewer than `maxInFlight` group statements run; beyond that, appends wait and the
 * next free slot sends every waiting append (one per stream, up to `maxEvents` events) as one statement: one lock
 * of the sequencer row and one commit for the group. One caller alone never waits for a group. Two slots (not one)
 * keep appends flowing while a statement waits on a stream row that a long transaction holds.
 */
import type { ISql } from 'postgres';
import { appendGroup, BEHIND } from './sql/append-group.ts';
import type { GroupCall, GroupRow } from './sql/append-group.ts';

/** What became of one append sent through the queue. */
export type QueuedOutcome =
  | { readonly kind: 'numbered'; readonly row: GroupRow }
  /** The stream's expectation did not hold: nothing was stored. */
  | { readonly kind: 'missed' }
  /** The group failed as a whole (nothing stored): an id already stored, a stream whose previous event awaits its
   *  number (`behind`), or a deadlock between groups. The caller appends the slow way. */
  | { readonly kind: 'failed'; readonly behind: boolean };

/** Sends appends in groups. */
export interface AppendQueue {
  /** Sends `call` (of `count` events) alone or with others. */
  append(call: GroupCall, count: number): Promise<QueuedOutcome>;
}

interface Waiting {
  readonly call: GroupCall;
  readonly size: number;
  readonly resolve: (outcome: QueuedOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/** SQLSTATEs after which every call of a failed group is appended again, one by one, the slow way. */
const SLOW_WAY = new Set(['23505', BEHIND, '40P01']);

/** Creates the queue of one store. */
export function createAppendQueue(db: ISql, schema: string, channel: string, maxInFlight = 2, maxEvents = 1000): AppendQueue {
  const waiting: Waiting[] = [];
  let inFlight = 0;

  /** Takes the next group off the queue: at most one call per stream, up to `maxEvents` events (at least one call). */
  function takeGroup(): Waiting[] {
    const group: Waiting[] = [];
    const streams = new Set<string>();
    let events = 0;
    for (let i = 0; i < waiting.length; ) {
      const next = waiting[i] as Waiting;
      if (streams.has(next.call.streamId) || (group.length > 0 && events + next.size > maxEvents)) {
        i++;
        continue;
      }
      streams.add(next.call.streamId);
      events += next.size;
      group.push(next);
      waiting.splice(i, 1);
    }
    return group;
  }

  async function send(group: Waiting[]): Promise<void> {
    try {
      const rows = await appendGroup(db, schema, group.map((w) => w.call), channel);
      group.forEach((w, i) => {
        const row = rows[i] as GroupRow;
        w.resolve(row.version === null ? { kind: 'missed' } : { kind: 'numbered', row });
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && SLOW_WAY.has(code)) {
        for (const w of group) w.resolve({ kind: 'failed', behind: code === BEHIND });
      } else {
        for (const w of group) w.reject(error);
      }
    }
  }

  function pump(): void {
    while (inFlight < maxInFlight && waiting.length > 0) {
      const group = takeGroup();
      inFlight++;
      void send(group).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  return {
    append(call, count) {
      return new Promise<QueuedOutcome>((resolve, reject) => {
        waiting.push({ call, size: count, resolve, reject });
        pump();
      });
    },
  };
}

