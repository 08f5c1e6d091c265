import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TransactionSql } from 'postgres';
import { batchSavepoints } from '../src/handler/savepoints.ts';
import type { HandlerContext } from '../src/handler/types.ts';
import type { StoreTransaction } from '../src/store/types.ts';

/** A transaction whose savepoints only record how their work ended. */
function fakeTransaction() {
  const outcomes: string[] = [];
  let opened = 0;
  const tx = {
    sql: {} as TransactionSql,
    async savepoint<T>(work: (sql: TransactionSql) => Promise<T>): Promise<T> {
      const sql = { savepoint: ++opened } as unknown as TransactionSql;
      try {
        const value = await work(sql);
        outcomes.push(`kept ${String(opened)}`);
        return value;
      } catch (error) {
        outcomes.push(`rolled back ${String((sql as unknown as { savepoint: number }).savepoint)}: ${(error as Error).message}`);
        throw error;
      }
    },
    saveCursor: () => Promise.resolve(),
    saveSlotCursors: () => Promise.resolve(),
    addDeadLetter: () => Promise.reject(new Error('not used')),
  } satisfies StoreTransaction;
  return { tx, outcomes, opened: () => opened };
}

const ctx: HandlerContext = { handlerName: 'H', state: undefined, workerIndex: 0, partition: undefined, app: 'a' };

describe('batch savepoints', () => {
  it('runs handlers that never read ctx.sql synchronously, in one spare savepoint kept open for the batch', async () => {
    const { tx, outcomes, opened } = fakeTransaction();
    const savepoints = batchSavepoints(tx);
    await savepoints.run(ctx, () => 'first');
    const results = [1, 2, 3].map((i) => savepoints.run(ctx, () => i));
    assert.deepEqual(results, [1, 2, 3]);
    assert.equal(opened(), 1);
    await savepoints.close();
    assert.deepEqual(outcomes, ['kept 1']);
  });

  it('gives an event that reads ctx.sql a savepoint of its own, kept when it succeeds', async () => {
    const { tx, outcomes, opened } = fakeTransaction();
    const savepoints = batchSavepoints(tx);
    const seen: unknown[] = [];
    const see = (sql: unknown) => void seen.push(sql);
    const result = await savepoints.run(ctx, (scoped) => {
      see(scoped.sql);
      return 'done';
    });
    assert.equal(result, 'done');
    assert.deepEqual(seen, [{ savepoint: 1 }]);
    assert.deepEqual(outcomes, ['kept 1']);
    await savepoints.run(ctx, (scoped) => {
      see(scoped.sql);
    });
    await savepoints.close();
    assert.deepEqual(seen, [{ savepoint: 1 }, { savepoint: 2 }]);
    assert.equal(opened(), 2);
  });

  it('rolls back only the savepoint of an event that read ctx.sql and failed, and rethrows its error', async () => {
    const { tx, outcomes } = fakeTransaction();
    const savepoints = batchSavepoints(tx);
    await assert.rejects(
      Promise.resolve(savepoints.run(ctx, (scoped) => {
        void scoped.sql;
        throw new Error('sync failure');
      })),
      /sync failure/,
    );
    await assert.rejects(
      Promise.resolve(savepoints.run(ctx, async (scoped) => {
        void scoped.sql;
        await Promise.resolve();
        throw new Error('async failure');
      })),
      /async failure/,
    );
    await savepoints.close();
    assert.deepEqual(outcomes, ['rolled back 1: sync failure', 'rolled back 2: async failure']);
  });

  it('lets a failure that never read ctx.sql through synchronously and keeps the spare for the next event', async () => {
    const { tx, outcomes, opened } = fakeTransaction();
    const savepoints = batchSavepoints(tx);
    await savepoints.run(ctx, () => undefined);
    assert.throws(() => savepoints.run(ctx, () => {
      throw new Error('no writes');
    }), /no writes/);
    await assert.rejects(Promise.resolve(savepoints.run(ctx, () => Promise.reject(new Error('async, no writes')))), /async, no writes/);
    await savepoints.close();
    assert.equal(opened(), 1);
    assert.deepEqual(outcomes, ['kept 1']);
  });

  it('closes nothing when no event ran, and a closed batch opens a fresh spare for the next event', async () => {
    const { tx, outcomes, opened } = fakeTransaction();
    const savepoints = batchSavepoints(tx);
    await savepoints.close();
    assert.equal(opened(), 0);
    await savepoints.run(ctx, () => undefined);
    await savepoints.close();
    await savepoints.run(ctx, () => undefined);
    await savepoints.close();
    assert.deepEqual(outcomes, ['kept 1', 'kept 2']);
  });
});
