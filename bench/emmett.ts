/**
 * Emmett's PostgreSQL event store and consumer (`@event-driven-io/emmett-postgresql`), the closest TypeScript
 * peer, run as its docs show: `getPostgreSQLEventStore(url)`, `appendToStream`, then `eventStore.consumer()`
 * with one `reactor` whose checkpoints Emmett stores itself.
 */
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import type { PostgresEventStore } from '@event-driven-io/emmett-postgresql';
import { payload } from './herald.ts';
import { countdown, now, runPool, withTimeout } from './timing.ts';

/** Batch size and pause we give Emmett's puller: its defaults (100 per batch, 50 ms pause) cap it at 2,000 ev/s. */
export const EMMETT_PULLING = { batchSize: 1000, pullingFrequencyInMs: 1 } as const;

/** Opens Emmett's store on `url` and creates its schema. */
export async function openEmmett(url: string): Promise<PostgresEventStore> {
  const eventStore = getPostgreSQLEventStore(url, { schema: { autoMigration: 'None' } });
  await eventStore.schema.migrate();
  return eventStore;
}

/** Appends `total` events over `streams` streams, `perAppend` per call, as {@link seed} does for herald. */
export async function seedEmmett(eventStore: PostgresEventStore, total: number, streams: number, perAppend: number, parallel: number): Promise<void> {
  const calls = Math.ceil(total / perAppend);
  await runPool(calls, parallel, async (call) => {
    const size = Math.min(perAppend, total - call * perAppend);
    const events = Array.from({ length: size }, (_, k) => ({ type: 'OrderPlaced', data: payload(call * perAppend + k) }));
    await eventStore.appendToStream(`stream-${call % streams}`, events);
  });
}

/**
 * Times a reactor from the beginning of Emmett's log to its `count`-th message (then stops the consumer).
 * Returns the milliseconds from `consumer.start()` to the last message.
 */
export async function timeEmmettCatchUp(eventStore: PostgresEventStore, processorId: string, count: number, timeoutMs: number): Promise<number> {
  const counter = countdown(count);
  const consumer = eventStore.consumer({ pulling: EMMETT_PULLING });
  consumer.reactor({ processorId, eachMessage: async () => void counter.hit() });
  const started = now();
  const running = consumer.start();
  const stoppedEarly = running.then(() => {
    throw new Error(`Emmett's consumer stopped after ${counter.count} of ${count} messages`);
  });
  try {
    const finished = await withTimeout(Promise.race([counter.done, stoppedEarly]), timeoutMs, `Emmett catch-up ${processorId} (${counter.count} of ${count} seen)`);
    return finished - started;
  } finally {
    // stop(), not close(): close() would end the event store's own pool, which the consumer shares.
    await withTimeout(consumer.stop(), 15_000, 'Emmett consumer stop').catch(() => undefined);
    await running.catch(() => undefined);
  }
}

/**
 * The trap of HARD-PARTS §1, checked on Emmett: `total` events appended by `parallel` concurrent writers,
 * then one reactor from the beginning until its count stops moving for half a second (at most 20 s). Returns how
 * many it saw; fewer than `total` means its consumer skipped events that were committed.
 */
export async function emmettConcurrentAppendCheck(eventStore: PostgresEventStore, total: number, parallel: number): Promise<number> {
  await seedEmmett(eventStore, total, 50, 50, parallel);
  let seen = 0;
  const consumer = eventStore.consumer({ pulling: EMMETT_PULLING });
  consumer.reactor({ processorId: 'concurrent-append-check', eachMessage: async () => void seen++ });
  const running = consumer.start();
  try {
    const deadline = now() + 20_000;
    let last = -1;
    while (seen !== last && seen < total && now() < deadline) {
      last = seen;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return seen;
  } finally {
    await withTimeout(consumer.stop(), 15_000, 'Emmett consumer stop').catch(() => undefined);
    await running.catch(() => undefined);
  }
}
