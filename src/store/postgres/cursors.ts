/** Handler registrations and handler-wide cursors of the PostgreSQL store. */
import type { ISql, Sql } from 'postgres';
import { HandlerConfigError, StoreError } from '../../errors.ts';
import type { CursorState, HandlerRecord, HandlerRegistration } from '../types.ts';
import { toHandlerRecord } from './rows.ts';
import { resetSlots, selectHandler, selectHandlers, updateAllSlots, upsertHandler } from './sql/handlers.ts';
import { checkCursor, checkRegistration } from '../validate.ts';

/** The cursor operations of the store. */
export interface Cursors {
  register(registration: HandlerRegistration): Promise<HandlerRecord>;
  load(name: string): Promise<HandlerRecord | undefined>;
  list(): Promise<HandlerRecord[]>;
  /** Sets every slot's cursor in `db` (the pool, or a transaction whose commit delivers the notification). */
  save(db: ISql, name: string, state: CursorState): Promise<void>;
  reset(name: string): Promise<HandlerRecord>;
}

/** What the cursor operations need. */
export interface CursorDeps {
  readonly sql: Sql;
  readonly schema: string;
  readonly channel: string;
  /** The head, numbering committed batches first (for `startFrom: 'current'`). */
  readonly head: () => Promise<number>;
}

/** Creates the cursor operations. */
export function createCursors({ sql, schema, channel, head }: CursorDeps): Cursors {
  async function load(name: string): Promise<HandlerRecord | undefined> {
    const row = await selectHandler(sql, schema, name);
    return row === undefined ? undefined : toHandlerRecord(row);
  }

  return {
    async register(registration) {
      checkRegistration(registration);
      const { name, subscribeTo, consistency, startFrom } = registration;
      const slots = registration.slots ?? 1;
      const initial = startFrom === 'origin' ? 0 : startFrom === 'current' ? await head() : startFrom;
      await sql.begin(async (tx) => {
        const outcome = await upsertHandler(tx, schema, { name, subscribeTo, consistency, initial, slots });
        // Thrown inside the transaction, so the refused registration changes nothing, not even the settings.
        if (outcome.kind === 'held') {
          throw new HandlerConfigError(
            `handler "${name}" runs with ${outcome.slots} slots on node ${outcome.label}; stop it there before changing slots to ${slots}`,
            'slots',
          );
        }
      });
      const record = await load(name);
      if (record === undefined) throw new StoreError(`registerHandler: handler "${name}" vanished while it was registered`);
      return record;
    },
    load,
    async list() {
      return (await selectHandlers(sql, schema)).map(toHandlerRecord);
    },
    async save(db, name, state) {
      checkCursor(state);
      const saved = await updateAllSlots(db, schema, { name, position: state.position, acked: state.acked, channel });
      if (!saved) throw new StoreError(`saveCursor: no handler named "${String(name)}" is registered`);
    },
    async reset(name) {
      if (!(await resetSlots(sql, schema, name, channel))) {
        throw new StoreError(`resetCursor: no handler named "${String(name)}" is registered`);
      }
      const record = await load(name);
      if (record === undefined) throw new StoreError(`resetCursor: no handler named "${String(name)}" is registered`);
      return record;
    },
  };
}
