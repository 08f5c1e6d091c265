import type { Clock } from '../clock.ts';
import { HandlerConfigError, LeaseLostError } from '../errors.ts';
import { HANDLER_STORE_BACKOFF, isConnectionLoss, isTransient, retrying } from '../store/retry.ts';
import type { EventStore, SlotCursor, StoreTransaction } from '../store/types.ts';
import type { SlotTracks } from './slot-tracks.ts';

/**
 * How a transactional batch whose transaction failed for a transient reason (a lost connection, a
 * serialization failure, a timeout) is re-run: doubling waits from `baseMs` up to `capMs`, for at most
 * `budgetMs` of waiting in all (5 minutes), after which the failure stops the handler as any other.
 */
export const COMMIT_RETRY = { ...HANDLER_STORE_BACKOFF, budgetMs: 300_000 } as const;

/** SQLSTATEs of a transaction the server aborted that may commit when run again. */
const retryableStates = new Set(['40001', '40P01']);

/**
 * Whether `error` (or an error in its `cause` chain), thrown by a query in a handler's transaction, means the
 * transaction itself is gone (its connection lost, a serialization failure or deadlock): the batch must be re-run
 * in a new transaction rather than handed to the handler's `error` callback.
 */
export function isTransactionLost(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (isConnectionLoss(current) || (typeof code === 'string' && retryableStates.has(code))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Whether a transactional batch that failed with `error` may be re-run in a new transaction: a transient store
 * failure ({@link isTransient}) or a serialization failure or deadlock; never a lost lease or herald's own refusal.
 */
export function isRetryableCommitFailure(error: unknown): boolean {
  if (error instanceof LeaseLostError || error instanceof HandlerConfigError) return false;
  return isTransactionLost(error) || isTransient(error);
}

/** What the commit of transactional batches needs from its pump. */
export interface TransactionalCommitDeps {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly handlerName: string;
  readonly nodeId: string;
  readonly tracks: SlotTracks;
  /** Re-run policy of batches whose transaction failed transiently. @default COMMIT_RETRY */
  readonly retry?: { readonly baseMs: number; readonly capMs: number; readonly budgetMs: number };
  /** A batch's cursor save found a slot no longer held: workers must stop before committing more. */
  onLeaseLost(): void;
  /** A batch committed; `moved`: the lowest mark moved. */
  onCommitted(moved: boolean): void;
  /** A batch's transaction failed transiently and will be re-run (for `status().lastError` and telemetry). */
  onRetry(error: unknown, failures: number): void;
}

/** How the worker that commits a batch lets its re-runs end early. */
export interface CommitControl {
  /** Set once the worker halted: no more re-runs. */
  readonly signal?: { readonly aborted: boolean };
  /** Waits between re-runs (a worker ends it early when it halts). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Returns the `commitInTransaction` of a transactional handler's workers: runs a batch's `work` in one store
 * transaction, then, in commit order across workers, acknowledges the batch's events and saves the changed slot
 * cursors in that same transaction (fenced by the leases), so effects and cursor commit together or not at all.
 * A transaction that fails transiently is run again, `work` included (nothing of it committed), with capped
 * backoff on the clock; once the batch holds the commit turn, it keeps it until it commits, so no other batch
 * saves its acknowledgements meanwhile.
 */
export function createTransactionalCommit(
  deps: TransactionalCommitDeps,
): (work: (tx: StoreTransaction) => Promise<number[]>, control?: CommitControl) => Promise<void> {
  const { store, tracks } = deps;
  const policy = deps.retry ?? COMMIT_RETRY;
  /** Serializes the cursor write and commit of batches, so no batch overwrites another's acks. */
  let commitTurn: Promise<void> = Promise.resolve();
  /** Why a batch failed to commit, if one did: later batches must not commit over its acks. */
  let failure: { error: unknown } | undefined;

  return async (work, control) => {
    if (store.transaction === undefined) throw new HandlerConfigError(`the ${store.kind} store has no transactions`, 'transactional');
    const transaction = store.transaction.bind(store);
    let release: (() => void) | undefined;
    let moved = false;
    let cursors: SlotCursor[] = [];
    /** The events acknowledged in the tracks by an attempt whose commit then failed: a re-run must acknowledge the same. */
    let acked: number[] | undefined;

    const attempt = (): Promise<void> =>
      transaction(async (tx) => {
        const acknowledged = await work(tx);
        if (release === undefined) {
          const previous = commitTurn;
          commitTurn = new Promise((resolve) => (release = resolve));
          await previous;
        }
        // Acks of a batch whose commit failed are in the tracks: no later batch may save them.
        if (failure !== undefined) {
          // A lost lease is not the handler's failure: the same error lets the consumer drop the slots, not fail the run.
          if (failure.error instanceof LeaseLostError) throw failure.error;
          throw new HandlerConfigError('an earlier transactional batch failed to commit', undefined, failure.error);
        }
        if (acked === undefined) {
          for (const eventNumber of acknowledged) if (tracks.ack(eventNumber)) moved = true;
          acked = acknowledged;
        } else if (startsWith(acknowledged, acked)) {
          // The re-run also handled the event whose outcome had ended the first attempt.
          for (const eventNumber of acknowledged.slice(acked.length)) if (tracks.ack(eventNumber)) moved = true;
          acked = acknowledged;
        } else {
          throw new HandlerConfigError(
            `handler "${deps.handlerName}": a re-run of a batch whose commit failed handled events ${acknowledged.join(',')} instead of ${acked.join(',')}`,
            'transactional',
          );
        }
        cursors = tracks.unsaved();
        if (cursors.length > 0) await tx.saveSlotCursors(deps.handlerName, deps.nodeId, cursors);
      });

    try {
      await retrying(attempt, {
        clock: deps.clock,
        ...policy,
        retryable: isRetryableCommitFailure,
        ...(control?.signal === undefined ? {} : { signal: control.signal }),
        ...(control?.sleep === undefined ? {} : { sleep: control.sleep }),
        onRetry: deps.onRetry,
      });
    } catch (error) {
      failure ??= { error };
      if (error instanceof LeaseLostError) deps.onLeaseLost();
      throw error;
    } finally {
      release?.();
    }
    tracks.saved(cursors);
    deps.onCommitted(moved);
  };
}

/** Whether `events` begins with every event of `prefix`, in order. */
function startsWith(events: readonly number[], prefix: readonly number[]): boolean {
  return events.length >= prefix.length && prefix.every((eventNumber, i) => eventNumber === events[i]);
}
