/** What `herald status`, `GET /api/status` and the status page show: every handler of a schema, from the store. */
import { HandlerConfigError } from '../errors.ts';
import type { EventStore } from '../store/types.ts';

/** A live process running a handler, with the slots it leases. */
export interface MemberStatus {
  readonly nodeId: string;
  readonly label: string;
  readonly slots: number[];
}

/** One handler of a schema as operators see it. */
export interface HandlerReport {
  readonly name: string;
  readonly subscribeTo: string;
  readonly consistency: 'eventual' | 'strong';
  /** `'running'` when some process runs it and it is behind, `'live'` when it has caught up, else `'stopped'`. */
  readonly state: 'running' | 'live' | 'stopped';
  /** The lowest slot cursor. */
  readonly cursor: number;
  readonly lag: number;
  /** The handler's slot count. */
  readonly slots: number;
  /** How many dead letters it has. */
  readonly deadLetters: number;
  /** Live processes running the handler. */
  readonly members: MemberStatus[];
}

/** The JSON of `herald status --json` and `GET /api/status`. */
export interface StatusReport {
  /** The last event a reader can see. */
  readonly head: number;
  readonly handlers: HandlerReport[];
}

/**
 * Reads the status of every handler registered in the store (other processes' too). Members and slot owners come
 * from the PostgreSQL store's leases; an in-memory store has none, so its handlers show no members.
 */
export async function readStatus(store: EventStore): Promise<StatusReport> {
  const [head, records, operations, deadLetters] = await Promise.all([
    store.headPosition(),
    store.listHandlers(),
    store.control?.operations(),
    store.control === undefined ? store.listDeadLetters() : Promise.resolve([]),
  ]);
  const byName = new Map((operations ?? []).map((entry) => [entry.name, entry]));
  const handlers = records
    .map((record): HandlerReport => {
      const ops = byName.get(record.name);
      const members = (ops?.members ?? []).map((member) => ({ nodeId: member.nodeId, label: member.label, slots: [...member.slots] }));
      const cursor = record.cursor.position;
      const lag = Math.max(0, head - cursor);
      return {
        name: record.name,
        subscribeTo: record.subscribeTo,
        consistency: record.consistency,
        state: members.length === 0 ? 'stopped' : lag === 0 ? 'live' : 'running',
        cursor,
        lag,
        slots: record.slots,
        deadLetters: ops?.deadLetters ?? deadLetters.filter((letter) => letter.handlerName === record.name).length,
        members,
      };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { head, handlers };
}

/** Rejects with `HandlerConfigError` naming `name` when no handler of that name is registered in the store. */
export async function requireHandler(store: EventStore, name: string): Promise<void> {
  if ((await store.loadHandler(name)) === undefined) {
    throw new HandlerConfigError(`no handler named ${JSON.stringify(name)} is registered in this schema`, 'handler');
  }
}
