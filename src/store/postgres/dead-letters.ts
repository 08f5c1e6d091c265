/** Dead letters of the PostgreSQL store: events acknowledged by `skip()`, kept with their error. */
import type { ISql } from 'postgres';
import { monotonicFactory } from 'ulid';
import { StoreError } from '../../errors.ts';
import type { DeadLetter, NewDeadLetter } from '../types.ts';
import { toDeadLetter } from './rows.ts';
import { deleteDeadLetter, deleteDeadLettersBefore, insertDeadLetter, selectDeadLetter, selectDeadLetters } from './sql/dead-letters.ts';
import { checkDeadLetter } from './validate.ts';

/** The dead-letter operations of the store. */
export interface DeadLetters {
  /** Records in `db` (the pool, or a transaction). */
  add(db: ISql, deadLetter: NewDeadLetter): Promise<DeadLetter>;
  list(handlerName: string | undefined): Promise<DeadLetter[]>;
  get(id: string): Promise<DeadLetter | undefined>;
  remove(id: string): Promise<boolean>;
  prune(olderThan: Date): Promise<number>;
}

/** Creates the dead-letter operations; ids are monotonic ULIDs, so ties in `deadAt` keep insertion order. */
export function createDeadLetters(sql: ISql, schema: string): DeadLetters {
  const newId = monotonicFactory();
  return {
    async add(db, deadLetter) {
      checkDeadLetter(deadLetter);
      let event: string;
      try {
        event = JSON.stringify(deadLetter.event);
      } catch (error) {
        throw new StoreError('addDeadLetter: the event cannot be stored as JSON', error);
      }
      const { handlerName, error, attempts } = deadLetter;
      const row = await insertDeadLetter(db, schema, { id: newId(), handlerName, event, message: error.message, stack: error.stack ?? null, attempts });
      return toDeadLetter(row);
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
