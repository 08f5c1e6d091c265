/** Dispatching through a disruption of the database (killed connections, restarts), for the resilience tests. */
import { StoreError, type App } from '../../src/index.ts';

/** Events per dispatch of {@link writeThrough}. */
export const WRITE_BATCH = 20;

/**
 * Dispatches batches of {@link WRITE_BATCH} events with fixed ids (`e-<i>`) over `streams` streams while `disrupt`
 * runs against the server, and for as long as it runs (at least `minimum` events), retrying a batch on
 * StoreError (the ids make retries idempotent). Resolves with how many events were dispatched.
 */
export async function writeThrough(app: Pick<App, 'dispatch'>, options: { minimum: number; streams: number }, disrupt: () => Promise<void>): Promise<number> {
  let disrupting = true;
  let written = 0;
  const writing = (async () => {
    for (let i = 0; disrupting || i < options.minimum; i += WRITE_BATCH) {
      const events = Array.from({ length: WRITE_BATCH }, (_, j) => ({ type: 'E', data: { i: i + j }, eventId: `e-${i + j}` }));
      await dispatchRetrying(app, `s-${(i / WRITE_BATCH) % options.streams}`, events);
      written = i + WRITE_BATCH;
    }
  })();
  try {
    await disrupt();
  } finally {
    disrupting = false;
  }
  await writing;
  return written;
}

async function dispatchRetrying(app: Pick<App, 'dispatch'>, streamId: string, events: { type: string; data: { i: number }; eventId: string }[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await app.dispatch(streamId, events);
      return;
    } catch (error) {
      if (!(error instanceof StoreError) || attempt > 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
