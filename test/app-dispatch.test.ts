import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidEventError, WrongExpectedVersionError, createApp } from '../src/index.ts';

describe('dispatch', () => {
  it('returns the recorded events with numbers, versions and ids', async () => {
    const app = createApp();
    const result = await app.dispatch('order-1', [
      { type: 'Placed', data: { total: 1 }, metadata: { correlationId: 'c1' } },
      { type: 'Paid', data: null },
    ]);
    assert.deepEqual(result.events.map((r) => [r.eventNumber, r.streamVersion, r.type]), [[1, 1, 'Placed'], [2, 2, 'Paid']]);
    assert.equal(result.events[0]?.metadata.correlationId, 'c1');
    assert.match(result.events[0]?.eventId ?? '', /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(result.lastEventNumber, 2);
    assert.deepEqual(result.duplicates, []);
    await app.stop();
  });

  it('appends an eventId only once and reports it as a duplicate', async () => {
    const app = createApp();
    await app.dispatch('s', { type: 'In', data: {}, eventId: 'msg-1' });
    const again = await app.dispatch('s', [{ type: 'In', data: {}, eventId: 'msg-1' }, { type: 'In', data: {}, eventId: 'msg-2' }]);
    assert.deepEqual(again.duplicates, ['msg-1']);
    assert.deepEqual(again.events.map((r) => r.eventId), ['msg-2']);
    await app.stop();
  });

  it('rejects a wrong expectedVersion and appends nothing', async () => {
    const app = createApp();
    await app.dispatch('s', { type: 'A', data: {} }, { expectedVersion: 'no_stream' });
    await assert.rejects(app.dispatch('s', { type: 'B', data: {} }, { expectedVersion: 'no_stream' }), WrongExpectedVersionError);
    await assert.rejects(app.dispatch('s', { type: 'B', data: {} }, { expectedVersion: 5 }), { code: 'WRONG_EXPECTED_VERSION' });
    const ok = await app.dispatch('s', { type: 'B', data: {} }, { expectedVersion: 1 });
    assert.equal(ok.events[0]?.streamVersion, 2);
    assert.equal(ok.lastEventNumber, 2);
    await app.stop();
  });

  for (const [label, data] of [
    ['a BigInt', { n: 1n }],
    ['a function', { f: () => 1 }],
    ['a cycle', (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })()],
    ['NaN', { n: Number.NaN }],
  ] as const) {
    it(`rejects data with ${label} and appends nothing`, async () => {
      const app = createApp();
      await assert.rejects(app.dispatch('s', [{ type: 'Ok', data: {} }, { type: 'Bad', data }]), InvalidEventError);
      const { lastEventNumber } = await app.dispatch('s', { type: 'After', data: {} });
      assert.equal(lastEventNumber, 1);
      await app.stop();
    });
  }

  it('rejects a missing type, a reserved stream id and bad options', async () => {
    const app = createApp();
    await assert.rejects(app.dispatch('s', { data: {} } as never), { code: 'INVALID_EVENT' });
    await assert.rejects(app.dispatch('$all', { type: 'A', data: {} }), { code: 'INVALID_EVENT' });
    await assert.rejects(app.dispatch('', { type: 'A', data: {} }), { code: 'INVALID_EVENT' });
    await assert.rejects(app.dispatch('s', { type: 'A', data: {} }, { expectedVersion: -1 }), { code: 'HANDLER_CONFIG' });
    await assert.rejects(app.dispatch('s', { type: 'A', data: {} }, { consistency: 'total' as never }), { code: 'HANDLER_CONFIG' });
    await assert.rejects(app.dispatch('s', { type: 'A', data: {} }, { timout: 5 } as never), { code: 'HANDLER_CONFIG' });
    assert.equal((await app.dispatch('s', { type: 'A', data: {} })).lastEventNumber, 1);
    await app.stop();
  });

  it('rejects transactional handlers on a store without transactions', async () => {
    const app = createApp();
    const { defineHandler } = await import('../src/index.ts');
    await assert.rejects(app.start([defineHandler({ name: 'Tx', transactional: true, handle() {} })]), { code: 'HANDLER_CONFIG' });
  });

  it('rejects duplicate handler names at start', async () => {
    const { defineHandler, supervisor } = await import('../src/index.ts');
    const app = createApp();
    const a = defineHandler({ name: 'Same', handle() {} });
    await assert.rejects(app.start([a, supervisor({ name: 'sub', children: [a] })]), { code: 'HANDLER_CONFIG' });
  });

  it('rejects bad app options', () => {
    assert.throws(() => createApp({ batchSize: 0 }), { code: 'HANDLER_CONFIG' });
    assert.throws(() => createApp({ bogus: 1 } as never), { code: 'HANDLER_CONFIG' });
    assert.throws(() => createApp({ storeRetryMs: -1 }), { code: 'HANDLER_CONFIG', field: 'storeRetryMs', message: /storeRetryMs must be a non-negative number, got -1/ });
    assert.throws(() => createApp({ storeRetryMs: '5s' as never }), { code: 'HANDLER_CONFIG', field: 'storeRetryMs' });
  });
});
