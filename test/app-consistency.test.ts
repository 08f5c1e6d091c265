import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsistencyTimeoutError, createApp, defineHandler, stop } from '../src/index.ts';
import { deferred, waitFor } from './support/wait.ts';

const e = (n: number) => ({ type: 'E', data: { n } });

describe('strong consistency', () => {
  it('resolves only after every strong handler covering the stream handled the events', async () => {
    const app = createApp();
    const projected: number[] = [];
    const gate = deferred();
    await app.start([
      defineHandler({
        name: 'Projection',
        consistency: 'strong',
        async handle(event) {
          await gate.promise;
          projected.push(event.eventNumber);
        },
      }),
      defineHandler({ name: 'Eventual', handle: () => new Promise(() => {}) }),
    ]);
    let resolved = false;
    const dispatch = app.dispatch('s', [e(1), e(2)], { consistency: 'strong' }).then((r) => {
      resolved = true;
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(resolved, false);
    gate.resolve();
    const result = await dispatch;
    assert.deepEqual(projected, [1, 2]);
    assert.equal(result.lastEventNumber, 2);
    await app.stop({ timeoutMs: 10 });
  });

  it('works with concurrency > 1 by waiting on the low-water mark', async () => {
    const app = createApp();
    const handled = new Set<number>();
    await app.start([
      defineHandler({
        name: 'Wide',
        consistency: 'strong',
        concurrency: 4,
        partitionBy: (event) => event.streamId,
        async handle(event) {
          await new Promise((resolve) => setTimeout(resolve, event.eventNumber % 3));
          handled.add(event.eventNumber);
        },
      }),
    ]);
    for (let i = 0; i < 10; i++) {
      const { lastEventNumber } = await app.dispatch(`s${i}`, [e(1), e(2), e(3)], { consistency: 'strong' });
      for (let n = 1; n <= lastEventNumber; n++) assert.ok(handled.has(n), `event ${n} handled before dispatch resolved`);
    }
    await app.stop();
  });

  it('ignores strong handlers whose subscription does not cover the stream', async () => {
    const app = createApp();
    await app.start([defineHandler({ name: 'Other', consistency: 'strong', subscribeTo: 'elsewhere', handle: () => new Promise(() => {}) })]);
    await app.dispatch('here', e(1), { consistency: 'strong', timeoutMs: 50 });
    await app.stop({ timeoutMs: 10 });
  });

  it('rejects with ConsistencyTimeoutError naming a stopped strong handler, and keeps the events', async () => {
    const app = createApp();
    await app.start([
      [defineHandler({ name: 'Down', consistency: 'strong', handle: () => { throw new Error('x'); }, error: () => stop('down') }), { restart: 'temporary' }],
    ]);
    await app.dispatch('s', e(1));
    await waitFor(() => app.status()[0]?.state === 'failed');
    const error = await app.dispatch('s', e(2), { consistency: 'strong', timeoutMs: 50 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(error instanceof ConsistencyTimeoutError);
    assert.deepEqual(error.handlers, ['Down']);
    assert.equal(error.code, 'CONSISTENCY_TIMEOUT');
    const again = await app.dispatch('s', e(3));
    assert.equal(again.lastEventNumber, 3, 'the timed-out events stayed persisted');
    await app.stop();
  });

  it('waits for exactly the named handlers, strong or eventual', async () => {
    const app = createApp();
    const order: string[] = [];
    await app.start([
      defineHandler({ name: 'Named', handle: async () => { await new Promise((r) => setTimeout(r, 5)); order.push('Named'); } }),
      defineHandler({ name: 'Never', consistency: 'strong', handle: () => new Promise(() => {}) }),
    ]);
    await app.dispatch('s', e(1), { consistency: ['Named'] });
    assert.deepEqual(order, ['Named']);
    await app.stop({ timeoutMs: 10 });
  });

  it('rejects an unknown handler name before appending anything', async () => {
    const app = createApp();
    await app.start([defineHandler({ name: 'Known', handle() {} })]);
    await assert.rejects(app.dispatch('s', e(1), { consistency: ['Known', 'Ghost'] }), { code: 'HANDLER_CONFIG' });
    const { lastEventNumber } = await app.dispatch('s', e(2));
    assert.equal(lastEventNumber, 1);
    await app.stop();
  });

  it('never waits for the handler that dispatches from inside its own handle', async () => {
    const app = createApp();
    const handled: string[] = [];
    await app.start([
      defineHandler({
        name: 'Reactor',
        consistency: 'strong',
        async handle(event) {
          handled.push(event.type);
          if (event.type === 'Start') await app.dispatch('follow', { type: 'FollowUp', data: {} }, { consistency: 'strong', timeoutMs: 1000 });
        },
      }),
    ]);
    await app.dispatch('s', { type: 'Start', data: {} }, { consistency: 'strong', timeoutMs: 2000 });
    await waitFor(() => handled.length === 2);
    assert.deepEqual(handled, ['Start', 'FollowUp']);
    await app.stop();
  });
});
