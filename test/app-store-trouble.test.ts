import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreError, createApp, defineHandler, inMemoryStore, type EventStore } from '../src/index.ts';
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
});
