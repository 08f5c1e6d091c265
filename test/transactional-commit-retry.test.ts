/** Transactional batches whose transaction fails transiently are re-run, on the injected clock, within a bound. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock } from '../src/clock.ts';
import { HandlerConfigError, LeaseLostError, StoreError } from '../src/errors.ts';
import { COMMIT_RETRY, createTransactionalCommit, isRetryableCommitFailure } from '../src/handler/checkpoint-transactional.ts';
import { createSlotTracks } from '../src/handler/slot-tracks.ts';
import type { EventStore, SlotCursor, StoreTransaction } from '../src/store/types.ts';
import { flushAsync, waitFor } from './support/wait.ts';

/** A store whose transactions fail at commit with the queued errors, then commit; it records what committed. */
function fakeStore(failures: unknown[]) {
  const committed: { cursors: SlotCursor[][]; effects: number[][] } = { cursors: [], effects: [] };
  let transactions = 0;
  const store = {
    kind: 'fake',
    async transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T> {
      transactions++;
      const effects: number[] = [];
      const cursors: SlotCursor[][] = [];
      const tx = {
        sql: { effects },
        saveSlotCursors: (_name: string, _node: string, saved: SlotCursor[]) => void cursors.push(saved),
      } as unknown as StoreTransaction;
      const value = await work(tx);
      const failure = failures.shift();
      // A failed commit: nothing of the transaction is kept.
      if (failure !== undefined) throw failure;
      committed.effects.push(effects);
      committed.cursors.push(...cursors);
      return value;
    },
  } as unknown as EventStore;
  return { store, committed, transactions: () => transactions };
}

function setUp(failures: unknown[], budgetMs: number = COMMIT_RETRY.budgetMs) {
  const clock = manualClock(0);
  const fake = fakeStore(failures);
  const tracks = createSlotTracks([{ slot: 0, epoch: 7, cursor: { position: 0, acked: [] }, takenFrom: undefined }], 0);
  for (const eventNumber of [1, 2, 3]) tracks.admit(0, eventNumber);
  const retries: unknown[] = [];
  let committedBatches = 0;
  let leaseLost = 0;
  const commit = createTransactionalCommit({
    store: fake.store,
    clock,
    handlerName: 'Tx',
    nodeId: 'node-a',
    tracks,
    retry: { baseMs: 100, capMs: 1_000, budgetMs },
    onLeaseLost: () => leaseLost++,
    onCommitted: () => committedBatches++,
    onRetry: (error) => retries.push(error),
  });
  let runs = 0;
  /** The batch: "writes" its events in the transaction and acknowledges them. */
  const batch = async (tx: StoreTransaction): Promise<number[]> => {
    runs++;
    (tx.sql as unknown as { effects: number[] }).effects.push(1, 2, 3);
    return [1, 2, 3];
  };
  return { clock, fake, tracks, retries, commit, batch, runs: () => runs, committedBatches: () => committedBatches, leaseLost: () => leaseLost };
}

/** Advances the manual clock until `promise` settles (each wait of the backoff fires). */
async function settle<T>(clock: ReturnType<typeof manualClock>, promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  let outcome: { value?: T; error?: unknown } | undefined;
  promise.then((value) => (outcome = { value }), (error: unknown) => (outcome = { error }));
  await waitFor(async () => {
    await flushAsync();
    if (outcome === undefined) clock.advance(1_000);
    return outcome !== undefined;
  }, 'the commit to settle');
  return outcome as { value?: T; error?: unknown };
}

const connectionClosed = (): StoreError =>
  new StoreError('transaction failed: write CONNECTION_CLOSED', Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' }));

describe('transactional commit retry', () => {
  it('re-runs a batch whose commit failed with a lost connection, and commits its effects and cursor once', async () => {
    const t = setUp([connectionClosed(), Object.assign(new Error('could not serialize access'), { code: '40001' })]);
    const outcome = await settle(t.clock, t.commit(t.batch));
    assert.equal(outcome.error, undefined);
    assert.equal(t.runs(), 3, 'the batch ran again in each new transaction');
    assert.equal(t.fake.transactions(), 3);
    assert.deepEqual(t.fake.committed.effects, [[1, 2, 3]], 'only the last attempt committed its effects');
    assert.deepEqual(t.fake.committed.cursors.map((saved) => saved.map(({ slot, epoch, cursor }) => ({ slot, epoch, cursor }))), [[{ slot: 0, epoch: 7, cursor: { position: 3, acked: [] } }]]);
    assert.equal(t.retries.length, 2, 'each retry is reported');
    assert.equal(t.committedBatches(), 1);
    assert.equal(t.tracks.position, 3);
    assert.deepEqual(t.tracks.unsaved(), [], 'the committed cursor is marked saved');
  });

  it('lets a later batch commit normally after a retried one', async () => {
    const t = setUp([connectionClosed()]);
    assert.equal((await settle(t.clock, t.commit(t.batch))).error, undefined);
    t.tracks.admit(0, 4);
    const next = await t.commit(async () => [4]);
    assert.equal(next, undefined);
    assert.equal(t.tracks.position, 4);
  });

  it('stops at once on a failure that is not transient, without re-running the batch', async () => {
    const bad = Object.assign(new Error('syntax error at or near "selec"'), { code: '42601' });
    const t = setUp([bad]);
    const outcome = await settle(t.clock, t.commit(t.batch));
    assert.equal(outcome.error, bad);
    assert.equal(t.runs(), 1);
    assert.equal(t.retries.length, 0);
    assert.deepEqual(t.fake.committed.effects, []);
    // Its acknowledgements were never saved: no later batch may commit over them.
    await assert.rejects(t.commit(async () => []), HandlerConfigError);
  });

  it('never retries a lost lease', async () => {
    const lost = new LeaseLostError('Tx', [0]);
    const t = setUp([lost]);
    const outcome = await settle(t.clock, t.commit(t.batch));
    assert.equal(outcome.error, lost);
    assert.equal(t.runs(), 1);
    assert.equal(t.leaseLost(), 1);
  });

  it('gives up once the bound is spent, with the last failure', async () => {
    const failures = Array.from({ length: 50 }, connectionClosed);
    const t = setUp(failures, 2_500);
    const outcome = await settle(t.clock, t.commit(t.batch));
    assert.ok(outcome.error instanceof StoreError, String(outcome.error));
    assert.ok(t.runs() > 2, `ran ${t.runs()} times`);
    assert.ok(t.runs() < 50, `ran ${t.runs()} times`);
    assert.deepEqual(t.fake.committed.effects, []);
  });

  it('stops re-running once the worker halts', async () => {
    const t = setUp(Array.from({ length: 50 }, connectionClosed));
    const signal = { aborted: false };
    const pending = t.commit(t.batch, { signal });
    await waitFor(() => t.retries.length > 0, 'a first retry');
    signal.aborted = true;
    const outcome = await settle(t.clock, pending);
    assert.ok(outcome.error instanceof StoreError);
    assert.ok(t.runs() <= 2, `ran ${t.runs()} times`);
  });

  it('accepts a re-run that also handled the event whose outcome ended the first attempt', async () => {
    const t = setUp([connectionClosed()]);
    const answers = [[1, 2], [1, 2, 3]];
    const outcome = await settle(t.clock, t.commit(async () => answers.shift() ?? []));
    assert.equal(outcome.error, undefined);
    assert.equal(t.tracks.position, 3);
    assert.deepEqual(t.fake.committed.cursors.map((saved) => saved.map(({ cursor }) => cursor.position)), [[3]]);
  });

  it('stops the handler when a re-run handled fewer events than the attempt whose acknowledgements it must commit', async () => {
    const t = setUp([connectionClosed()]);
    const answers = [[1, 2, 3], [1]];
    const outcome = await settle(t.clock, t.commit(async () => answers.shift() ?? []));
    assert.ok(outcome.error instanceof HandlerConfigError, String(outcome.error));
    assert.match((outcome.error as Error).message, /re-run of a batch whose commit failed handled events 1 instead of 1,2,3/);
    assert.deepEqual(t.fake.committed.effects, []);
  });

  it('classifies failures', () => {
    assert.equal(isRetryableCommitFailure(connectionClosed()), true);
    assert.equal(isRetryableCommitFailure(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })), true);
    assert.equal(isRetryableCommitFailure(Object.assign(new Error('the database system is starting up'), { code: '57P03' })), true);
    assert.equal(isRetryableCommitFailure(Object.assign(new Error('x'), { code: 'ECONNRESET' })), true);
    assert.equal(isRetryableCommitFailure(new StoreError('transaction failed', Object.assign(new Error('s'), { code: '40001' }))), true);
    assert.equal(isRetryableCommitFailure(Object.assign(new Error('deadlock detected'), { code: '40P01' })), true);
    assert.equal(isRetryableCommitFailure(Object.assign(new Error('duplicate key'), { code: '23505' })), false);
    assert.equal(isRetryableCommitFailure(new LeaseLostError('Tx', [0])), false);
    assert.equal(isRetryableCommitFailure(new HandlerConfigError('an earlier transactional batch failed to commit', undefined, connectionClosed())), false);
  });
});
