import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp, defineHandler, inMemoryStore, type EventStore, type ReadRequest } from '../src/index.ts';
import { waitFor } from './support/wait.ts';

const placed = (n: number) => ({ type: 'Placed', data: { n } });

/** A store whose reads take a varying time (so two in flight can finish in either order), counted. */
function slowReads(base: EventStore, fail?: (request: ReadRequest, index: number) => boolean) {
  let inFlight = 0;
  let index = 0;
  const stats = { reads: 0, maxInFlight: 0, failed: 0 };
  const store: EventStore = {
    ...base,
    async read(request) {
      const mine = index++;
      stats.reads++;
      inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
      try {
        // Alternating delays: a read issued second often returns first.
        await new Promise((resolve) => setTimeout(resolve, mine % 2 === 0 ? 4 : 1));
        if (fail?.(request, mine) === true) {
          stats.failed++;
          throw new Error(`read ${mine} failed on purpose`);
        }
        return await base.read(request);
      } finally {
        inFlight--;
      }
    },
  };
  return { store, stats };
}

async function appendMany(app: ReturnType<typeof createApp>, from: number, count: number, streams: number): Promise<void> {
  for (let n = from; n < from + count; n += 5) {
    await app.dispatch(`s-${n % streams}`, [0, 1, 2, 3, 4].map((k) => placed(n + k)));
  }
}

describe('reading ahead while catching up', () => {
  it('reads the next page while the current one is handled, and sees every event once, in order, as the log grows', async () => {
    const { store, stats } = slowReads(inMemoryStore());
    const app = createApp({ store, batchSize: 10 });
    await appendMany(app, 0, 400, 7);
    const seen: number[] = [];
    await app.start([defineHandler({ name: 'All', startFrom: 'origin', handle: (e) => void seen.push(e.eventNumber) })]);
    // Bursts of 13 events once the handler follows the head: a full page, then a short one while the read
    // issued ahead of it is in flight (and finds nothing yet), then the next burst.
    let n = 400;
    try {
      await waitFor(() => seen.length >= 400, 'the first 400 events');
      for (let burst = 0; burst < 15; burst++) {
        await app.dispatch(`s-${burst % 7}`, Array.from({ length: 13 }, (_, k) => placed(n + k)));
        n += 13;
        await new Promise((resolve) => setTimeout(resolve, 8));
      }
      // Also done once the cursor reaches the end with events missing: the assertion below then names them.
      await waitFor(() => seen.length >= n || app.status()[0]?.cursor === n, `${n} events`, 3000);
    } finally {
      await app.stop();
    }
    assert.deepEqual(seen, Array.from({ length: n }, (_, i) => i + 1));
    assert.ok(stats.maxInFlight >= 2, `reads overlapped (at most ${stats.maxInFlight} in flight)`);
  });

  it('drops a read issued ahead that failed, reads that page again and loses nothing', async () => {
    // Fails every read issued ahead (odd index while catching up) once in a while.
    const { store, stats } = slowReads(inMemoryStore(), (request, index) => index % 6 === 3 && request.after < 300);
    const app = createApp({ store, batchSize: 10 });
    await appendMany(app, 0, 300, 3);
    const seen: number[] = [];
    await app.start([defineHandler({ name: 'Flaky', startFrom: 'origin', handle: (e) => void seen.push(e.eventNumber) })]);
    await waitFor(() => seen.length >= 300, '300 events');
    await app.stop();
    assert.ok(stats.failed > 0, 'some reads failed');
    assert.deepEqual(seen, Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it('resumes from the saved cursor after a stop with a read ahead in flight', async () => {
    const base = inMemoryStore();
    const { store } = slowReads(base);
    const first = createApp({ store, batchSize: 10 });
    await appendMany(first, 0, 500, 5);
    const seen: number[] = [];
    await first.start([defineHandler({ name: 'Stop', startFrom: 'origin', handle: (e) => void seen.push(e.eventNumber) })]);
    await waitFor(() => seen.length >= 100, '100 events');
    await first.stop();
    const cursor = (await base.loadHandler('Stop'))?.cursor.position ?? 0;
    assert.equal(cursor, seen.length, 'the cursor is where handling stopped, not where reading ahead got to');

    const second = createApp({ store, batchSize: 10 });
    await second.start([defineHandler({ name: 'Stop', startFrom: 'origin', handle: (e) => void seen.push(e.eventNumber) })]);
    await waitFor(() => seen.length >= 500, '500 events');
    await second.stop();
    assert.deepEqual(seen, Array.from({ length: 500 }, (_, i) => i + 1));
  });

  it('does not read ahead for a one-stream subscription (its numbers are not dense)', async () => {
    const { store, stats } = slowReads(inMemoryStore());
    const app = createApp({ store, batchSize: 10 });
    await appendMany(app, 0, 300, 2);
    const seen: number[] = [];
    await app.start([defineHandler({ name: 'One', subscribeTo: 's-0', startFrom: 'origin', handle: (e) => void seen.push(e.eventNumber) })]);
    await waitFor(() => seen.length >= 150, 'the stream of 150 events');
    await app.stop();
    assert.equal(stats.maxInFlight, 1);
    assert.equal(seen.length, 150);
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
  });
});
