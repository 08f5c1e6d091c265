/** `EventStore.transaction` for PostgreSQL: handlers' writes, cursor saves and dead letters in one commit. */
import type { Sql, TransactionSql } from 'postgres';
import type { StoreTransaction } from '../types.ts';
import type { Cursors } from './cursors.ts';
import type { DeadLetters } from './dead-letters.ts';
import { StoreError } from '../../errors.ts';
import { storeFailure } from './failure.ts';
import type { Slots } from './slots.ts';

/** The store parts whose writes a transaction can carry. */
export interface TransactionParts {
  readonly cursors: Cursors;
  readonly deadLetters: DeadLetters;
  readonly slots: Slots;
}

/**
 * Runs `work` in one `sql.begin` transaction. Takes no global lock: a cursor saved here notifies its
 * listeners when the transaction commits, and nothing is appended or sequenced here. An error thrown by
 * `work` rolls back and is rethrown as it is; a failure to begin or commit becomes a `StoreError`.
 */
export async function runTransaction<T>(
  sql: Sql,
  parts: TransactionParts,
  work: (tx: StoreTransaction) => Promise<T>,
): Promise<T> {
  let outcome: { value: T } | undefined;
  let failed: { error: unknown } | undefined;
  try {
    await sql.begin(async (tx) => {
      try {
        outcome = { value: await work(storeTransaction(tx, parts)) };
      } catch (error) {
        failed = { error };
        throw error;
      }
    });
  } catch (error) {
    if (failed !== undefined && failed.error === error) throw error;
    throw storeFailure('transaction', error);
  }
  if (outcome === undefined) throw new StoreError('transaction ended without running its work');
  return outcome.value;
}

function storeTransaction(tx: TransactionSql, { cursors, deadLetters, slots }: TransactionParts): StoreTransaction {
  return {
    sql: tx,
    async savepoint<R>(work: (sql: TransactionSql) => Promise<R>): Promise<R> {
      let outcome: { value: R } | undefined;
      await tx.savepoint(async (inner) => {
        outcome = { value: await work(inner) };
      });
      if (outcome === undefined) throw new StoreError('savepoint ended without running its work');
      return outcome.value;
    },
    saveCursor: (handlerName, state) => cursors.save(tx, handlerName, state),
    addDeadLetter: (deadLetter) => deadLetters.add(tx, deadLetter),
    saveSlotCursors: (handlerName, nodeId, cursors) => slots.save(tx, handlerName, nodeId, cursors),
  };
}
