/** Handler registrations and cursors of the PostgreSQL store. */
import type { ISql } from 'postgres';
import { StoreError } from '../../errors.ts';
import type { CursorState, HandlerRecord, HandlerRegistration } from '../types.ts';
import { toHandlerRecord } from './rows.ts';
import { resetHandlerCursor, selectHandler, selectHandlers, updateCursor, upsertHandler } from './sql/handlers.ts';
import { checkCursor, checkRegistration } from '../validate.ts';

/** The cursor operations of the store. */
export interface Cursors {
  register(registration: HandlerRegistration): Promise<HandlerRecord>;
  load(name: string): Promise<HandlerRecord | undefined>;
  list(): Promise<HandlerRecord[]>;
  /** Saves in `db` (the pool, or a transaction whose commit delivers the notification). */
  save(db: ISql, name: string, state: CursorState): Promise<void>;
  reset(name: string): Promise<HandlerRecord>;
}

/** What the cursor operations need. */
export interface CursorDeps {
  readonly sql: ISql;
  readonly schema: string;
  readonly channel: string;
  /** The head, numbering committed batches first (for `startFrom: 'current'`). */
  readonly head: () => Promise<number>;
}

/** Creates the cursor operations. */
export function createCursors({ sql, schema, channel, head }: CursorDeps): Cursors {
  return {
    async register(registration) {
      checkRegistration(registration);
      const { name, subscribeTo, consistency, startFrom } = registration;
      const initial = startFrom === 'origin' ? 0 : startFrom === 'current' ? await head() : startFrom;
      return toHandlerRecord(await upsertHandler(sql, schema, { name, subscribeTo, consistency, initial }));
    },
    async load(name) {
      const row = await selectHandler(sql, schema, name);
      return row === undefined ? undefined : toHandlerRecord(row);
    },
    async list() {
      return (await selectHandlers(sql, schema)).map(toHandlerRecord);
    },
    async save(db, name, state) {
      checkCursor(state);
      const saved = await updateCursor(db, schema, { name, position: state.position, acked: state.acked, channel });
      if (!saved) throw new StoreError(`saveCursor: no handler named "${String(name)}" is registered`);
    },
    async reset(name) {
      const row = await resetHandlerCursor(sql, schema, name);
      if (row === undefined) throw new StoreError(`resetCursor: no handler named "${String(name)}" is registered`);
      return toHandlerRecord(row);
    },
  };
}
