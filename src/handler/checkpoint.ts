import type { Clock } from '../clock.ts';
import { HandlerConfigError, LeaseLostError } from '../errors.ts';
import type { EventStore, SlotCursor, StoreTransaction } from '../store/types.ts';
import { COMMIT_RETRY, createTransactionalCommit, type CommitControl } from './checkpoint-transactional.ts';
import { createCursorFlusher } from './cursor-flusher.ts';
import type { SlotTracks } from './slot-tracks.ts';
import type { HandlerConfig } from './types.ts';

/**
 * Where workers report progress, and the one place that decides when the cursor is saved. Two kinds, chosen
 * once per run by {@link createCheckpoint}:
 * - batched (plain handlers): acknowledgements are counted and the changed slot cursors saved after
 *   `flushEvery` of them or `flushAfterMs`, after every advance for strong handlers, and at a stop;
 * - transactional (`transactional: true`): a batch's effects, dead letters and cursor commit in one transaction,
 *   and the cursor is saved there only.
 */
export interface Checkpoint {
  /** Whether workers hand their events over through {@link commit} (else through {@link acknowledge}). */
  readonly transactional: boolean;
  /** A plain handler's event is handled (or skipped). */
  acknowledge(eventNumber: number): void;
  /**
   * A transactional handler's batch: runs `work` in one store transaction that also saves the cursor with the
   * events `work` returns as acknowledged; they count only once it committed. A transaction that fails
   * transiently is run again, `work` included, with capped backoff (see `COMMIT_RETRY`); `control` ends that early.
   */
  commit(work: (tx: StoreTransaction) => Promise<number[]>, control?: CommitControl): Promise<void>;
  /** The low-water mark moved by reading alone (events of other streams or slots). */
  passed(): void;
  /** Saves what was acknowledged (or passed) so far, now; rejects if the store fails. */
  flush(): Promise<void>;
  /** Final save at a stop (for a transactional handler, nothing: each batch saved its cursor). */
  close(): Promise<void>;
}

/** What a checkpoint reports. */
export interface CheckpointSignals {
  /** The low-water mark moved (reported once per synchronous stretch of acknowledgements). */
  advanced(position: number): void;
  /** Events were acknowledged: the source may read more. */
  progressed(): void;
  /** A cursor save found slots no longer held by this node. */
  leaseLost(error: LeaseLostError): void;
  /** A background save failed (retried on the next trigger), or a transactional batch failed transiently (re-run). */
  storeTrouble(error: unknown): void;
  /** A transactional batch lost its lease: workers must stop before committing more. */
  halt(): void;
}

/** What a checkpoint needs. */
export interface CheckpointDeps {
  readonly config: HandlerConfig;
  readonly store: EventStore;
  readonly clock: Clock;
  readonly nodeId: string;
  readonly tracks: SlotTracks;
  /** Save after this many acknowledgements, and at most this long after one. */
  readonly flushEvery: number;
  readonly flushAfterMs: number;
  /** How long a transactional batch whose transaction failed transiently is re-run. */
  readonly storeRetryMs: number;
  readonly signals: CheckpointSignals;
}

/** Chooses and creates the run's checkpoint. */
export function createCheckpoint(deps: CheckpointDeps): Checkpoint {
  return deps.config.transactional ? transactionalCheckpoint(deps) : batchedCheckpoint(deps);
}

/**
 * Saves the changed slot cursors in the background: after `everyEvents` acknowledgements (1 for strong
 * handlers), at most `afterMs` after one (0 for strong handlers), one save at a time.
 */
function cursorSaves(deps: CheckpointDeps, everyEvents: number) {
  const { config, store, tracks, signals } = deps;
  const strong = config.consistency === 'strong';
  return createCursorFlusher<SlotCursor[]>({
    clock: deps.clock,
    everyEvents: strong && Number.isFinite(everyEvents) ? 1 : everyEvents,
    afterMs: strong ? 0 : deps.flushAfterMs,
    snapshot: () => {
      const cursors = tracks.unsaved();
      return cursors.length === 0 ? undefined : cursors;
    },
    save: (cursors) => store.saveSlotCursors(config.name, deps.nodeId, cursors),
    saved: (cursors) => tracks.saved(cursors),
    onError: (error) => (error instanceof LeaseLostError ? signals.leaseLost(error) : signals.storeTrouble(error)),
  });
}

function batchedCheckpoint(deps: CheckpointDeps): Checkpoint {
  const { config, tracks, signals } = deps;
  const flusher = cursorSaves(deps, deps.flushEvery);
  let advanceQueued = false;

  /**
   * Reports the low-water mark once per synchronous stretch of acknowledgements: a worker acknowledging a
   * batch of synchronous `handle` calls would otherwise report (and wake strong dispatches) once per event.
   */
  function queueAdvance(): void {
    if (advanceQueued) return;
    advanceQueued = true;
    queueMicrotask(() => {
      advanceQueued = false;
      signals.advanced(tracks.position);
    });
  }

  return {
    transactional: false,
    acknowledge(eventNumber) {
      if (tracks.ack(eventNumber)) queueAdvance();
      flusher.acknowledged();
      signals.progressed();
    },
    commit() {
      return Promise.reject(new HandlerConfigError(`handler "${config.name}" is not transactional`, 'transactional'));
    },
    passed() {
      signals.advanced(tracks.position);
      // Saved too, so the slowest slot of the handler, which strong dispatches of other processes wait on, keeps up.
      flusher.acknowledged();
    },
    flush: () => flusher.flush(),
    async close() {
      flusher.close();
      try {
        await flusher.flush();
      } catch (error) {
        signals.storeTrouble(error);
      }
    },
  };
}

function transactionalCheckpoint(deps: CheckpointDeps): Checkpoint {
  const { config, tracks, signals } = deps;
  // Acknowledgements are saved by the commits; what reading alone passed, in the background.
  const flusher = cursorSaves(deps, Number.POSITIVE_INFINITY);
  const commit = createTransactionalCommit({
    store: deps.store,
    clock: deps.clock,
    retry: { ...COMMIT_RETRY, budgetMs: deps.storeRetryMs },
    handlerName: config.name,
    nodeId: deps.nodeId,
    tracks,
    onLeaseLost: () => signals.halt(),
    onCommitted: (moved) => {
      if (moved) signals.advanced(tracks.position);
      signals.progressed();
    },
    onRetry: (error) => signals.storeTrouble(error),
  });
  return {
    transactional: true,
    acknowledge() {
      throw new HandlerConfigError(`handler "${config.name}" is transactional: its events are acknowledged by commits`, 'transactional');
    },
    commit,
    passed() {
      signals.advanced(tracks.position);
      flusher.acknowledged();
    },
    flush: () => flusher.flush(),
    close() {
      flusher.close();
      return Promise.resolve();
    },
  };
}
