import type { Clock, TimerHandle } from '../clock.ts';
import type { RecordedEvent } from '../events/types.ts';
import { HANDLER_STORE_BACKOFF, retrying } from '../store/retry.ts';
import type { EventStore, ReadResult } from '../store/types.ts';
import type { SlotTracks } from './slot-tracks.ts';

/** Tuning of a subscription's reading and cursor writes. */
export interface SubscriptionSettings {
  /** Events per read. @default 1000 */
  readonly batchSize: number;
  /** Fallback poll when no wake-up arrives. @default 1000 */
  readonly pollMs: number;
  /** Save the cursor after this many acknowledgements (strong handlers: after every advance). @default 1000 */
  readonly flushEvery: number;
  /** Save the cursor at most this long after an acknowledgement. @default 1000 */
  readonly flushAfterMs: number;
  /** How long work with effects (a transactional batch, a dead letter's write) is re-run after transient store failures. @default 300000 */
  readonly storeRetryMs: number;
  /** Events read ahead of the slowest acknowledgement. @default 3 × batchSize (room for a page waiting for its in-flight note, see crash-guard.ts) */
  readonly readAhead: number;
}

/** What the source reports. */
export interface SourceSignals {
  /** A page shorter than a full one was read: the run is live. */
  caughtUp(): void;
  /** A full page was read after being live: the run is catching up. */
  behind(): void;
  /** A read failed; it is retried with backoff. */
  storeTrouble(error: unknown): void;
}

/** What a source needs. */
export interface SourceDeps {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly settings: SubscriptionSettings;
  /** One stream, or `undefined` for `$all`. */
  readonly streamId: string | undefined;
  /** Only these types (a handler with `on`; the cursor still moves over the others), or `undefined` for every type. */
  readonly types: readonly string[] | undefined;
  readonly tracks: SlotTracks;
  /**
   * Hands a page's events on (to the router), in order; may resolve later (events noted in flight first, or
   * handed over one at a time). Every event it does not hand over must stay pending in the tracks.
   */
  deliverPage(events: readonly RecordedEvent[]): Promise<void> | void;
  /** Reading alone moved the low-water mark (tell the checkpoint). */
  passed(): void;
  readonly signals: SourceSignals;
}

/**
 * Reads the log for a run: pages after the lowest owned cursor, a read issued ahead while catching up, waits
 * for wake-ups (appends, acknowledgements making room) with a fallback poll, holds back once `readAhead` events
 * are pending, and tells live from behind.
 */
export interface Source {
  /** Runs the read loop until {@link stop}; rejects only on a bug. */
  run(): Promise<void>;
  /** Something changed (an append, room for more): read again now. */
  wake(): void;
  /** Stops reading; resolves once the loop ended. */
  stop(): Promise<void>;
  /** The highest position read. */
  readonly head: number;
  /** Whether the last page was not full (caught up). */
  readonly live: boolean;
}

/** A read's page, or the error it failed with (a read issued ahead must never reject unobserved). */
type SettledRead = { readonly page: ReadResult } | { readonly error: unknown };

/** Creates the source of a run positioned at its tracks' lowest cursor. */
export function createSource(deps: SourceDeps): Source {
  const { store, clock, settings, streamId, types, tracks, signals } = deps;
  let readPosition = tracks.readFrom;
  let head = readPosition;
  let live = false;
  let dirty = false;
  let full = false;
  const stopping = { aborted: false };
  let wakeUp: (() => void) | undefined;
  let loopDone: Promise<void> = Promise.resolve();
  /** The read issued ahead of the one awaited (catching up on `$all` only), and where it starts. */
  let ahead: { readonly after: number; readonly page: Promise<SettledRead> } | undefined;

  function wake(): void {
    dirty = true;
    const resolve = wakeUp;
    wakeUp = undefined;
    resolve?.();
  }

  function sleep(ms: number): Promise<void> {
    if (dirty || stopping.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer: TimerHandle = clock.setTimeout(() => wake(), ms);
      wakeUp = () => {
        clock.clearTimeout(timer);
        resolve();
      };
    });
  }

  function issueRead(after: number): Promise<SettledRead> {
    return store.read({ after, limit: settings.batchSize, streamId, types }).then(
      (page) => ({ page }),
      (error: unknown) => ({ error }),
    );
  }

  /**
   * The page after `readPosition`: the read issued ahead when it starts there, else a new one. While catching
   * up on `$all`, whose numbers are dense, a full page after P ends at P + batchSize, so the read of the page
   * after that is issued now and runs in the database while this process decodes and handles the current one.
   * A read ahead is used only if it starts exactly where the previous page ended; any other is dropped. A read
   * filtered by type is never read ahead: its pages do not end at P + batchSize.
   */
  async function nextPage(): Promise<ReadResult> {
    dirty = false;
    const page = ahead !== undefined && ahead.after === readPosition ? ahead.page : issueRead(readPosition);
    ahead = undefined;
    const room = tracks.pending + settings.batchSize <= settings.readAhead;
    if (full && streamId === undefined && types === undefined && room && !stopping.aborted) {
      const after = readPosition + settings.batchSize;
      ahead = { after, page: issueRead(after) };
    }
    const settled = await page;
    if ('error' in settled) throw settled.error;
    return settled.page;
  }

  /** The next page; a failed read is retried (every failure: a read is safe to repeat) until the run stops. */
  function readRetrying(): Promise<ReadResult | undefined> {
    return retrying(nextPage, {
      clock,
      ...HANDLER_STORE_BACKOFF,
      retryable: () => true,
      signal: stopping,
      onRetry: (error) => {
        ahead = undefined;
        full = false;
        signals.storeTrouble(error);
      },
      sleep,
    }).catch(() => undefined);
  }

  async function accept(page: ReadResult): Promise<void> {
    const delivered = deps.deliverPage(page.events);
    if (delivered !== undefined) await delivered;
    // Measured here, not before delivering: acknowledgements made meanwhile are the checkpoint's, not reading's.
    const before = tracks.position;
    if (page.readThrough > readPosition) readPosition = page.readThrough;
    if (page.readThrough > head) head = page.readThrough;
    tracks.readThrough(page.readThrough);
    if (tracks.position > before) deps.passed();
    full = page.events.length >= settings.batchSize;
    if (full && live) {
      live = false;
      signals.behind();
    } else if (!full && !live) {
      live = true;
      signals.caughtUp();
    }
  }

  async function readLoop(): Promise<void> {
    if (tracks.owned.length === 0) return;
    while (!stopping.aborted) {
      if (tracks.pending >= settings.readAhead) {
        dirty = false;
        await sleep(settings.pollMs);
        continue;
      }
      const page = await readRetrying();
      if (page === undefined || stopping.aborted) break;
      await accept(page);
      if (!full) {
        ahead = undefined;
        await sleep(settings.pollMs);
      }
    }
    ahead = undefined;
  }

  const unsubscribe = store.onAppend(() => wake());

  return {
    run() {
      loopDone = readLoop();
      return loopDone;
    },
    wake,
    stop() {
      stopping.aborted = true;
      unsubscribe();
      wake();
      return loopDone.catch(() => undefined);
    },
    get head() {
      return head;
    },
    get live() {
      return live;
    },
  };
}
