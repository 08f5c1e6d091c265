import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp, defineHandler, inMemoryStore, retry, stop, type RecordedEvent } from '../src/index.ts';
import { waitFor } from './support/wait.ts';

const placed = (n: number) => ({ type: 'Placed', data: { n } });

describe('handlers on an app', () => {
  it('handles every event in order and persists the cursor on stop', async () => {
    const store = inMemoryStore();
    const seen: number[] = [];
    const app = createApp({ store });
    await app.start([defineHandler({ name: 'Log', handle: (e) => void seen.push((e.data as { n: number }).n) })]);
    for (let n = 1; n <= 5; n++) await app.dispatch('s-1', placed(n));
    await waitFor(() => seen.length === 5, 'five events');
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    await app.stop();
    assert.equal((await store.loadHandler('Log'))?.cursor.position, 5);
  });

  it('resumes after the last acknowledged event when started again on the same store', async () => {
    const store = inMemoryStore();
    const first: number[] = [];
    const app1 = createApp({ store });
    await app1.dispatch('s', [placed(1), placed(2)]);
    await app1.start([defineHandler({ name: 'P', handle: (e) => void first.push(e.eventNumber) })]);
    await waitFor(() => first.length === 2);
    await app1.stop();

    // The in-memory store keeps its data after the app closes it, like a database outliving a process.
    const second: number[] = [];
    const app2 = createApp({ store });
    await app2.start([defineHandler({ name: 'P', startFrom: 'origin', handle: (e) => void second.push(e.eventNumber) })]);
    await app2.dispatch('s', placed(3));
    await waitFor(() => second.length === 1);
    assert.deepEqual(second, [3]);
    await app2.stop();
  });

  it("starts from 'current' after the events stored at start", async () => {
    const app = createApp();
    await app.dispatch('s', [placed(1), placed(2)]);
    const seen: number[] = [];
    await app.start([defineHandler({ name: 'C', startFrom: 'current', handle: (e) => void seen.push(e.eventNumber) })]);
    await app.dispatch('s', placed(3));
    await waitFor(() => seen.length === 1);
    assert.deepEqual(seen, [3]);
    await app.stop();
  });

  it('starts after event N when startFrom is a number', async () => {
    const app = createApp();
    await app.dispatch('s', [placed(1), placed(2), placed(3), placed(4)]);
    const seen: number[] = [];
    await app.start([defineHandler({ name: 'N', startFrom: 2, handle: (e) => void seen.push(e.eventNumber) })]);
    await waitFor(() => seen.length === 2);
    assert.deepEqual(seen, [3, 4]);
    await app.stop();
  });

  it('sees only its stream when subscribed to one stream', async () => {
    const app = createApp();
    const seen: string[] = [];
    await app.start([defineHandler({ name: 'One', subscribeTo: 'b', handle: (e) => void seen.push(e.streamId) })]);
    await app.dispatch('a', placed(1));
    await app.dispatch('b', placed(2));
    await app.dispatch('a', placed(3));
    await app.dispatch('b', placed(4));
    await waitFor(() => seen.length === 2);
    await waitFor(() => app.status()[0]?.cursor === 4, 'cursor past other streams');
    assert.deepEqual(seen, ['b', 'b']);
    await app.stop();
  });

  it('threads state returned from handle and resets it on restart', async () => {
    const app = createApp();
    const totals: number[] = [];
    await app.start([
      defineHandler<{ total: number }>({
        name: 'Sum',
        state: { total: 0 },
        handle(event, ctx) {
          const total = ctx.state.total + (event.data as { n: number }).n;
          totals.push(total);
          return { state: { total } };
        },
      }),
    ]);
    await app.dispatch('s', [placed(1), placed(2), placed(3)]);
    await waitFor(() => totals.length === 3);
    assert.deepEqual(totals, [1, 3, 6]);
    await app.stop();
  });

  it('lets init rename a handler, e.g. per tenant', async () => {
    const app = createApp();
    const handler = defineHandler({ name: 'Projector', init: (config) => ({ ...config, name: `${config.name}:acme` }), handle() {} });
    await app.start([handler]);
    assert.deepEqual(app.status().map((s) => s.name), ['Projector:acme']);
    await app.stop();
  });

  it('uses the state afterStart returns and stops the handler when afterStart returns stop()', async () => {
    const app = createApp();
    const states: unknown[] = [];
    await app.start(
      [
        defineHandler({ name: 'A', state: 1, afterStart: () => ({ state: 2 }), handle: (_e, ctx) => void states.push(ctx.state) }),
        [defineHandler({ name: 'B', afterStart: () => stop('normal'), handle() {} }), { restart: 'transient' }],
      ],
    );
    await app.dispatch('s', placed(1));
    await waitFor(() => states.length === 1);
    assert.deepEqual(states, [2]);
    await waitFor(() => app.status().find((s) => s.name === 'B')?.state === 'stopped', 'B stopped');
    await app.stop();
  });

  it('reset runs beforeReset, moves the cursor back and replays with fresh state', async () => {
    const app = createApp();
    const seen: number[] = [];
    let resets = 0;
    await app.start([
      defineHandler({ name: 'R', beforeReset: () => void resets++, handle: (e) => void seen.push(e.eventNumber) }),
    ]);
    await app.dispatch('s', [placed(1), placed(2)]);
    await waitFor(() => seen.length === 2);
    await app.reset('R');
    await waitFor(() => seen.length === 4, 'replay');
    assert.deepEqual(seen, [1, 2, 1, 2]);
    assert.equal(resets, 1);
    await assert.rejects(app.reset('Nope'), { code: 'HANDLER_CONFIG' });
    await app.stop();
  });

  it('runs the same handler definition in several apps, each with its own store', async () => {
    const seen: string[] = [];
    const handler = defineHandler({ name: 'Shared', handle: (_e, ctx) => void seen.push(ctx.app) });
    const a = createApp({ name: 'a' });
    const b = createApp({ name: 'b' });
    await a.start([handler]);
    await b.start([handler]);
    await a.dispatch('s', placed(1));
    await b.dispatch('s', [placed(1), placed(2)]);
    await waitFor(() => seen.length === 3);
    assert.deepEqual(seen.sort(), ['a', 'b', 'b']);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('drains in-flight events on stop and is idempotent', async () => {
    const app = createApp();
    const done: number[] = [];
    await app.start([
      defineHandler({
        name: 'Slow',
        async handle(e: RecordedEvent) {
          await new Promise((resolve) => setTimeout(resolve, 1));
          done.push(e.eventNumber);
        },
      }),
    ]);
    await app.dispatch('s', [placed(1), placed(2), placed(3)]);
    await waitFor(() => done.length >= 1);
    await Promise.all([app.stop(), app.stop()]);
    assert.deepEqual(done, [1, 2, 3]);
    await app.done;
  });

  it('rejects a second start', async () => {
    const app = createApp();
    await app.start([]);
    await assert.rejects(app.start([]), { code: 'HANDLER_CONFIG' });
    await app.stop();
  });
});


describe('handler edge cases', () => {
  it('restarts the handler when beforeReset throws, and rejects the reset', async () => {
    const app = createApp();
    const seen: number[] = [];
    await app.start([defineHandler({ name: 'R', beforeReset: () => { throw new Error('cannot reset'); }, handle: (e) => void seen.push(e.eventNumber) })]);
    await app.dispatch('s', placed(1));
    await waitFor(() => seen.length === 1);
    await assert.rejects(app.reset('R'), /cannot reset/);
    await app.dispatch('s', placed(2));
    await waitFor(() => seen.length === 2, 'the handler runs again after the failed reset');
    assert.deepEqual(seen, [1, 2]);
    await app.stop();
  });

  it('keeps timers running while a synchronously failing handle is retried at once', async () => {
    const app = createApp();
    let attempts = 0;
    await app.start([
      defineHandler({
        name: 'Spin',
        handle() {
          attempts++;
          if (attempts < 1_000_000) throw new Error('always');
        },
        error: () => retry(),
      }),
    ]);
    await app.dispatch('s', placed(1));
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(attempts < 1_000_000, 'a timer fired while the retries went on');
    await app.stop({ timeoutMs: 100 });
  });

  it('rejects a throwing init with HandlerConfigError and lets the app be started again', async () => {
    const app = createApp();
    const broken = defineHandler({ name: 'Init', init: () => { throw new Error('no tenant'); }, handle() {} });
    await assert.rejects(app.start([broken]), (error: unknown) => error instanceof Error && (error as { code?: string }).code === 'HANDLER_CONFIG' && /no tenant/.test(error.message));
    await app.start([defineHandler({ name: 'Fine', handle() {} })]);
    assert.deepEqual(app.status().map((s) => s.name), ['Fine']);
    await app.stop();
  });
});
