/** `EventStore.transaction` for PostgreSQL: handlers' writes, cursor saves and dead letters in one commit. */
import type { Sql, TransactionSql } from 'postgres';
import type { StoreTransaction } from '../types.ts';
import type { Cursors } from './cursors.ts';
import type { DeadLetters } from './dead-letters.ts';

/**
 * Runs `work` in one `sql.begin` transaction. Takes no global lock: a cursor saved here notifies its
 * listeners when the transaction commits, and nothing is appended or sequenced here.
 */
export async function runTransaction<T>(
  sql: Sql,
  cursors: Cursors,
  deadLetters: DeadLetters,
  work: (tx: StoreTransaction) => Promise<T>,
): Promise<T> {
  let outcome: { value: T } | undefined;
  await sql.begin(async (tx) => {
    outcome = { value: await work(storeTransaction(tx, cursors, deadLetters)) };
  });
  if (outcome === undefined) throw new Error('transaction ended without running its work');
  return outcome.value;
}

function storeTransaction(tx: TransactionSql, cursors: Cursors, deadLetters: DeadLetters): StoreTransaction {
  return {
    sql: tx,
    async savepoint<R>(work: (sql: TransactionSql) => Promise<R>): Promise<R> {
      let outcome: { value: R } | undefined;
      await tx.savepoint(async (inner) => {
        outcome = { value: await work(inner) };
      });
      if (outcome === undefined) throw new Error('savepoint ended without running its work');
      return outcome.value;
    },
    saveCursor: (handlerName, state) => cursors.save(tx, handlerName, state),
    addDeadLetter: (deadLetter) => deadLetters.add(tx, deadLetter),
  };
}
