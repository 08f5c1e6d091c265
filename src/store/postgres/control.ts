/** Control requests and operator views of the PostgreSQL store (see {@link StoreControl}). */
import type { Sql } from 'postgres';
import { StoreError } from '../../errors.ts';
import type { ControlRequest, StoreControl } from '../types.ts';
import type { Notifications } from './notifications.ts';
import {
  claimRequest, finishRequest, insertRequest, moveSlots, selectLiveMembers, selectMigrated, selectOpenRequests,
  selectOperations, selectRequest, type ControlRow,
} from './sql/control.ts';

/** What the control operations need; `run` wraps each call as the store wraps its own (retries, typed errors). */
export interface ControlDeps {
  readonly sql: Sql;
  readonly schema: string;
  readonly channel: string;
  readonly notifications: Notifications;
  run<T>(operation: string, work: () => Promise<T>): Promise<T>;
  /** Like `run`, but never migrates first: for asking whether the schema is migrated. */
  runUnmigrated<T>(operation: string, work: () => Promise<T>): Promise<T>;
}

function toRequest(row: ControlRow): ControlRequest {
  return {
    id: Number(row.id),
    handlerName: row.handler_name,
    kind: row.kind,
    deadLetterId: row.dead_letter_id ?? undefined,
    toPosition: row.to_position === null ? undefined : Number(row.to_position),
    state: row.state,
    coordinator: row.coordinator ?? undefined,
    outcome: row.outcome ?? undefined,
    error: row.error ?? undefined,
  };
}

/** Creates the control operations of one store. */
export function createControl({ sql, schema, channel, notifications, run, runUnmigrated }: ControlDeps): StoreControl {
  return {
    request: (args) =>
      run('control.request', async () => {
        await notifications.ready();
        return toRequest(await insertRequest(sql, schema, channel, {
          handlerName: args.handlerName,
          kind: args.kind,
          deadLetterId: args.deadLetterId ?? null,
          toPosition: args.toPosition ?? null,
          timeoutMs: args.timeoutMs ?? null,
        }));
      }),
    get: (id) => run('control.get', async () => {
      const row = await selectRequest(sql, schema, id);
      return row === undefined ? undefined : toRequest(row);
    }),
    open: (names) => run('control.open', async () => (await selectOpenRequests(sql, schema, names)).map(toRequest)),
    claim: (id, nodeId) => run('control.claim', () => claimRequest(sql, schema, id, nodeId)),
    finish: (id, result) =>
      run('control.finish', async () => {
        await notifications.ready();
        return finishRequest(sql, schema, channel, { id, state: result.state, outcome: result.outcome ?? null, error: result.error ?? null });
      }),
    liveMembers: (name) =>
      run('control.liveMembers', async () => (await selectLiveMembers(sql, schema, name)).map((row) => ({ id: row.node_id, label: row.label }))),
    moveCursors: (name, position) =>
      run('control.moveCursors', async () => {
        await notifications.ready();
        if (!(await moveSlots(sql, schema, name, position, channel))) throw new StoreError(`moveCursors: no handler named "${name}" is registered`);
      }),
    operations: () =>
      run('control.operations', async () =>
        (await selectOperations(sql, schema)).map((row) => ({
          name: row.name,
          members: row.members.map(([nodeId, label, slots]) => ({ nodeId, label, slots })),
          deadLetters: Number(row.dead_letters),
        }))),
    migrated: () => runUnmigrated('control.migrated', () => selectMigrated(sql, schema)),
    onRequest: (listener) => notifications.onControl(listener),
  };
}
