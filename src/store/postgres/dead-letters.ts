/** Dead letters of the PostgreSQL store: events acknowledged by `skip()`, kept with their error. */
import type { ISql } from 'postgres';
import { monotonicFactory } from 'ulid';
import { StoreError } from '../../errors.ts';
import type { DeadLetter, NewDeadLetter } from '../types.ts';
import { sqlState } from './failure.ts';
import { toDeadLetter } from './rows.ts';
import { deleteDeadLetter, deleteDeadLettersBefore, insertDeadLetter, selectDeadLetter, selectDeadLetters } from './sql/dead-letters.ts';
import { checkDeadLetter } from '../validate.ts';

/** The dead-letter operations of the store. */
export interface DeadLetters {
  /**
   * Records in `db` (the pool, or a transaction) under `id`. Repeating a call whose answer was lost
   * returns the dead letter it stored.
   */
  add(db: ISql, deadLetter: NewDeadLetter, id?: string): Promise<DeadLetter>;
  /** A new dead-letter id (monotonic ULID). */
  newId(): string;
  list(handlerName: string | undefined): Promise<DeadLetter[]>;
  get(id: string): Promise<DeadLetter | undefined>;
  remove(id: string): Promise<boolean>;
  prune(olderThan: Date): Promise<number>;
}

/** Creates the dead-letter operations; ids are monotonic ULIDs, so ties in `deadAt` keep insertion order. */
export function createDeadLetters(sql: ISql, schema: string): DeadLetters {
  const newId = monotonicFactory();
  return {
    newId,
    async add(db, deadLetter, id = newId()) {
      checkDeadLetter(deadLetter);
      let event: string;
      try {
        event = JSON.stringify(deadLetter.event);
      } catch (error) {
        throw new StoreError('addDeadLetter: the event cannot be stored as JSON', error);
      }
      const { handlerName, error, attempts } = deadLetter;
      try {
        return toDeadLetter(await insertDeadLetter(db, schema, { id, handlerName, event, message: error.message, stack: error.stack ?? null, code: error.code ?? null, attempts }));
      } catch (failure) {
        const stored = sqlState(failure) === '23505' ? await selectDeadLetter(db, schema, id) : undefined;
        if (stored === undefined) throw failure;
        return toDeadLetter(stored);
      }
    },
    async list(handlerName) {
      if (handlerName !== undefined && typeof handlerName !== 'string') throw new StoreError('listDeadLetters: handlerName must be a string');
      return (await selectDeadLetters(sql, schema, handlerName)).map(toDeadLetter);
    },
    async get(id) {
      const row = await selectDeadLetter(sql, schema, String(id));
      return row === undefined ? undefined : toDeadLetter(row);
    },
    remove: (id) => deleteDeadLetter(sql, schema, String(id)),
    async prune(olderThan) {
      if (!(olderThan instanceof Date) || Number.isNaN(olderThan.getTime())) throw new StoreError('pruneDeadLetters: olderThan must be a valid Date');
      return deleteDeadLettersBefore(sql, schema, olderThan);
    },
  };
}
