import type { TransactionSql } from 'postgres';
import type { StoreTransaction } from '../store/types.ts';
import { isPromiseLike } from './invoke.ts';
import type { HandlerContext } from './types.ts';

/**
 * The savepoints of one transactional batch. Every event that touches `ctx.sql` runs in a savepoint of its
 * own, so a failing event rolls back only its own writes; events that never touch it need none, and cost
 * no round trip. As `ctx.sql` must be handed over synchronously, one savepoint is kept open ahead of the
 * events ("the spare"): an event that reads `ctx.sql` uses it up (its writes commit or roll back with it)
 * and the next event waits for a fresh one; an event that does not leave it for the next.
 */
export interface BatchSavepoints {
  /** Calls `invoke` with `ctx.sql` bound to the spare; returns its result synchronously when it can. */
  run(ctx: HandlerContext, invoke: (ctx: HandlerContext) => unknown): unknown;
  /** Closes the spare, so writes of the transaction itself (dead letters, cursor) stay out of it. */
  close(): Promise<void>;
}

interface Spare {
  /** Set once the savepoint is open. */
  readonly sql: () => TransactionSql | undefined;
  /** Resolves once the savepoint is open; rejects when it could not be opened. */
  readonly opened: Promise<void>;
  /** Ends the savepoint's scope: kept (`undefined`) or rolled back for `error`. */
  readonly end: (outcome: { error: unknown } | undefined) => void;
  /** Settles once the scope ended; rejects with the error it rolled back for (as `tx.savepoint` does). */
  readonly done: Promise<void>;
}

/** Creates the savepoints of a batch run in `tx`. */
export function batchSavepoints(tx: StoreTransaction): BatchSavepoints {
  let spare: Spare | undefined;

  function open(): Spare {
    let end: Spare['end'] = () => {};
    let markOpened: () => void = () => {};
    let sql: TransactionSql | undefined;
    const gate = new Promise<{ error: unknown } | undefined>((resolve) => (end = resolve));
    const opening = new Promise<void>((resolve) => (markOpened = resolve));
    const done = tx.savepoint(async (inner) => {
      sql = inner;
      markOpened();
      const outcome = await gate;
      if (outcome !== undefined) throw outcome.error;
    });
    done.catch(() => undefined);
    return { sql: () => sql, opened: Promise.race([opening, done]), end: (outcome) => end(outcome), done };
  }

  /** Ends the spare an event used; the next event opens a fresh one. Rejects with the rollback's error. */
  function finish(used: Spare, outcome: { error: unknown } | undefined): Promise<void> {
    if (spare === used) spare = undefined;
    used.end(outcome);
    return used.done;
  }

  function run(ctx: HandlerContext, invoke: (ctx: HandlerContext) => unknown): unknown {
    const current = (spare ??= open());
    const sql = current.sql();
    if (sql === undefined) return current.opened.then(() => run(ctx, invoke));
    let used = false;
    const { handlerName, state, workerIndex, partition, app } = ctx;
    const scoped: HandlerContext = {
      handlerName, state, workerIndex, partition, app,
      get sql() {
        used = true;
        return sql;
      },
    };
    let result: unknown;
    try {
      result = invoke(scoped);
    } catch (error) {
      if (!used) throw error;
      return finish(current, { error }).then(() => Promise.reject(error));
    }
    if (isPromiseLike(result)) {
      return Promise.resolve(result).then(
        async (value) => {
          if (used) await finish(current, undefined);
          return value;
        },
        async (error: unknown) => {
          if (used) await finish(current, { error });
          throw error;
        },
      );
    }
    return used ? finish(current, undefined).then(() => result) : result;
  }

  return {
    run,
    async close() {
      const current = spare;
      if (current === undefined) return;
      spare = undefined;
      current.end(undefined);
      await current.opened;
      await current.done;
    },
  };
}
