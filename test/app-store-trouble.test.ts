import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreError, createApp, defineHandler, inMemoryStore, type App, type EventStore } from '../src/index.ts';
import { waitFor } from './support/wait.ts';

/** An in-memory store whose next `failures` reads fail, like a database that is restarting. */
function flakyStore(failures: number): EventStore {
  const store = inMemoryStore();
  let left = failures;
  return {
    ...store,
    read(request) {
      if (left > 0) {
        left--;
        return Promise.reject(new StoreError('read failed: connection refused'));
      }
      return store.read(request);
    },
  };
}

describe('store trouble', () => {
  it('retries failed reads, keeps its place, reports store:warning and lastError', async () => {
    const app = createApp({ store: flakyStore(3) });
    const warnings: string[] = [];
    app.on('store:warning', (payload) => warnings.push(payload.message));
    const seen: number[] = [];
    await app.start([defineHandler({ name: 'Patient', handle: (e) => void seen.push(e.eventNumber) })]);
    await app.dispatch('s', [{ type: 'E', data: {} }, { type: 'E', data: {} }]);
    await waitFor(() => seen.length === 2, 'events after the store recovered');
    assert.deepEqual(seen, [1, 2]);
    assert.equal(warnings.length, 3);
    assert.match(warnings[0] ?? '', /Patient.*connection refused.*retrying/);
    assert.equal(app.status()[0]?.restarts, 0, 'no supervisor restart was needed');
    assert.match(app.status()[0]?.lastError?.message ?? '', /connection refused/);
    await app.stop();
  });

  it("retries a dead letter's write through store failures, without a restart", async () => {
    const store = flakyDeadLetters(3);
    const app = createApp({ store });
    const warnings: string[] = [];
    app.on('store:warning', (payload) => warnings.push(payload.message));
    const seen = await startSkipper(app);
    await waitFor(() => seen.length === 1, 'the event after the dead letter');
    const letters = await app.deadLetters();
    assert.deepEqual(letters.map((letter) => letter.event.eventNumber), [1], 'written once');
    assert.equal(warnings.length, 3);
    assert.match(warnings[0] ?? '', /Skipper.*dead letter.*retrying/);
    assert.equal(app.status()[0]?.restarts, 0);
    await app.stop();
  });

  it('with storeRetryMs: 0, a failed dead letter write stops the handler (the supervisor restarts it)', async () => {
    const store = flakyDeadLetters(1);
    const app = createApp({ store, storeRetryMs: 0 });
    const restarts: unknown[] = [];
    app.on('supervisor:restart', (payload) => restarts.push(payload.reason));
    const seen = await startSkipper(app);
    await waitFor(() => seen.length === 1, 'the event after the dead letter, after a restart');
    assert.equal(restarts.length, 1);
    assert.ok(restarts[0] instanceof StoreError, String(restarts[0]));
    assert.deepEqual((await app.deadLetters()).map((letter) => letter.event.eventNumber), [1]);
    await app.stop();
  });
});

/** Starts a handler that skips event 1 (a dead letter) and records the others, and dispatches two events. */
async function startSkipper(app: App): Promise<number[]> {
  const seen: number[] = [];
  await app.start([
    defineHandler({
      name: 'Skipper',
      handle: (event) => {
        if (event.eventNumber === 1) throw new Error('bad event');
        seen.push(event.eventNumber);
      },
      error: () => ({ action: 'skip' }),
    }),
  ]);
  await app.dispatch('s', [{ type: 'E', data: {} }, { type: 'E', data: {} }]);
  return seen;
}

/** An in-memory store whose next `failures` dead letter writes fail, like a database that went away for a moment. */
function flakyDeadLetters(failures: number): EventStore {
  const store = inMemoryStore();
  let left = failures;
  return {
    ...store,
    addDeadLetter(deadLetter) {
      if (left > 0) {
        left--;
        return Promise.reject(new StoreError('dead letter write failed: connection refused'));
      }
      return store.addDeadLetter(deadLetter);
    },
  };
}
