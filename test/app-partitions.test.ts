import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp, defineHandler, inMemoryStore, stop, type RecordedEvent } from '../src/index.ts';
import { waitFor } from './support/wait.ts';

const KEYS = 20;
const EVENTS = 2_000;

function keyedEvents(): { stream: string; events: { type: string; data: { key: string; seq: number } }[] }[] {
  const perKey = new Map<string, number>();
  const batches = [];
  for (let i = 0; i < EVENTS; i += 100) {
    const events = [];
    for (let j = i; j < i + 100; j++) {
      const key = `k${j % KEYS}`;
      const seq = (perKey.get(key) ?? 0) + 1;
      perKey.set(key, seq);
      events.push({ type: 'Keyed', data: { key, seq } });
    }
    batches.push({ stream: `batch-${i}`, events });
  }
  return batches;
}

const keyOf = (e: RecordedEvent) => (e.data as { key: string }).key;
const seqOf = (e: RecordedEvent) => (e.data as { seq: number }).seq;

describe('partitioned concurrency', () => {
  it('keeps per-key order, runs keys in parallel, and after a stop and restart redelivers nothing acknowledged and skips nothing', async () => {
    const store = inMemoryStore();
    const app = createApp({ store, flushEvery: 50 });
    const handledPerKey = new Map<string, number[]>();
    const handledCount = new Map<number, number>();
    const inFlight = new Set<string>();
    let maxParallelKeys = 0;
    let stopped = false;
    const workersOfKey = new Map<string, Set<number>>();

    const handler = defineHandler({
      name: 'Partitioned',
      concurrency: 4,
      partitionBy: keyOf,
      async handle(event, ctx) {
        const key = keyOf(event);
        // One poison event in one partition stops the handler once, mid-stream.
        if (!stopped && key === 'k7' && seqOf(event) === 40) {
          stopped = true;
          throw new Error('partition k7 broke');
        }
        inFlight.add(key);
        maxParallelKeys = Math.max(maxParallelKeys, inFlight.size);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight.delete(key);
        const list = handledPerKey.get(key) ?? [];
        list.push(seqOf(event));
        handledPerKey.set(key, list);
        handledCount.set(event.eventNumber, (handledCount.get(event.eventNumber) ?? 0) + 1);
        const workers = workersOfKey.get(key) ?? new Set<number>();
        workers.add(ctx.workerIndex);
        workersOfKey.set(key, workers);
      },
      error: () => stop('partition failure'),
    });

    await app.start([handler]);
    for (const batch of keyedEvents()) await app.dispatch(batch.stream, batch.events);
    await waitFor(() => app.status()[0]?.cursor === EVENTS, 'all events acknowledged', 30_000);

    assert.equal(app.status()[0]?.restarts, 1, 'the stop led to exactly one supervisor restart');
    for (let n = 1; n <= EVENTS; n++) assert.equal(handledCount.get(n), 1, `event ${n} handled exactly once`);
    for (const [key, seqs] of handledPerKey) {
      assert.deepEqual(seqs, Array.from({ length: EVENTS / KEYS }, (_, i) => i + 1), `order of ${key}`);
      assert.equal(workersOfKey.get(key)?.size, 1, `${key} always on one worker`);
    }
    assert.ok(maxParallelKeys >= 2, `at least two keys in flight at once (saw ${maxParallelKeys})`);
    await app.stop();
  });

  it('spreads events over workers without partitionBy', async () => {
    const app = createApp();
    const workers = new Set<number>();
    await app.start([defineHandler({ name: 'Spread', concurrency: 3, handle: (_e, ctx) => void workers.add(ctx.workerIndex) })]);
    await app.dispatch('s', Array.from({ length: 30 }, (_, i) => ({ type: 'E', data: { i } })));
    await waitFor(() => app.status()[0]?.cursor === 30);
    assert.deepEqual([...workers].sort(), [0, 1, 2]);
    await app.stop();
  });

  it('gives each worker its own state', async () => {
    const app = createApp();
    const seen: string[] = [];
    await app.start([
      defineHandler<{ count: number }>({
        name: 'States',
        concurrency: 2,
        state: { count: 0 },
        partitionBy: (e) => e.streamId,
        handle(_e, ctx) {
          seen.push(`${ctx.workerIndex}:${ctx.state.count}`);
          return { state: { count: ctx.state.count + 1 } };
        },
      }),
    ]);
    const streams = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const s of streams) await app.dispatch(s, [{ type: 'E', data: {} }]);
    await waitFor(() => seen.length === streams.length);
    const perWorker = new Map<string, number[]>();
    for (const entry of seen) {
      const [worker, count] = entry.split(':');
      perWorker.set(worker!, [...(perWorker.get(worker!) ?? []), Number(count)]);
    }
    for (const counts of perWorker.values()) assert.deepEqual(counts, counts.map((_, i) => i));
    await app.stop();
  });
});
