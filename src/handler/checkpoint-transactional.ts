import { HandlerConfigError, LeaseLostError } from '../errors.ts';
import type { EventStore, SlotCursor, StoreTransaction } from '../store/types.ts';
import type { SlotTracks } from './slot-tracks.ts';

/** What the commit of transactional batches needs from its pump. */
export interface TransactionalCommitDeps {
  readonly store: EventStore;
  readonly handlerName: string;
  readonly nodeId: string;
  readonly tracks: SlotTracks;
  /** A batch's cursor save found a slot no longer held: workers must stop before committing more. */
  onLeaseLost(): void;
  /** A batch committed; `moved`: the lowest mark moved. */
  onCommitted(moved: boolean): void;
}

/**
 * Returns the `commitInTransaction` of a transactional handler's workers: runs a batch's `work` in one store
 * transaction, then, in commit order across workers, acknowledges the batch's events and saves the changed slot
 * cursors in that same transaction (fenced by the leases), so effects and cursor commit together or not at all.
 */
export function createTransactionalCommit(deps: TransactionalCommitDeps): (work: (tx: StoreTransaction) => Promise<number[]>) => Promise<void> {
  const { store, tracks } = deps;
  /** Serializes the cursor write and commit of batches, so no batch overwrites another's acks. */
  let commitTurn: Promise<void> = Promise.resolve();
  /** Why a batch failed to commit, if one did: later batches must not commit over its acks. */
  let failure: { error: unknown } | undefined;

  return async (work) => {
    if (store.transaction === undefined) throw new HandlerConfigError(`the ${store.kind} store has no transactions`, 'transactional');
    let release: () => void = () => {};
    let moved = false;
    let cursors: SlotCursor[] = [];
    try {
      await store.transaction(async (tx) => {
        const acknowledged = await work(tx);
        const previous = commitTurn;
        commitTurn = new Promise((resolve) => (release = resolve));
        await previous;
        // Acks of a batch whose commit failed are in the tracks: no later batch may save them.
        if (failure !== undefined) {
          // A lost lease is not the handler's failure: the same error lets the consumer drop the slots, not fail the run.
          if (failure.error instanceof LeaseLostError) throw failure.error;
          throw new HandlerConfigError('an earlier transactional batch failed to commit', undefined, failure.error);
        }
        for (const eventNumber of acknowledged) if (tracks.ack(eventNumber)) moved = true;
        cursors = tracks.unsaved();
        if (cursors.length > 0) await tx.saveSlotCursors(deps.handlerName, deps.nodeId, cursors);
      });
    } catch (error) {
      failure ??= { error };
      if (error instanceof LeaseLostError) deps.onLeaseLost();
      throw error;
    } finally {
      release();
    }
    tracks.saved(cursors);
    deps.onCommitted(moved);
  };
}
