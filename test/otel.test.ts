import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import postgres, { type Sql } from 'postgres';
import { createApp, defineHandler, inMemoryStore, retry, skip, type RecordedEvent } from '../src/index.ts';
import { instrument } from '../src/otel/index.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { testTelemetry } from './support/otel.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { startFixture } from './support/processes.ts';
import { deferred, waitFor } from './support/wait.ts';

/** herald/otel with the real OpenTelemetry SDK (in-memory span exporter and metric reader). */
describe('instrument in one process', () => {
  it('opens a PRODUCER span per dispatch under the caller\'s span and a CONSUMER span per handling under it', async () => {
    const otel = testTelemetry();
    const seen: RecordedEvent[] = [];
    const app = createApp({ store: inMemoryStore() });
    instrument(app, otel);
    await app.start([defineHandler({ name: 'Projector', handle: (event) => void seen.push(event) })]);
    const request = otel.tracerProvider.getTracer('test').startSpan('POST /orders');
    await context.with(trace.setSpan(context.active(), request), () =>
      app.dispatch('order-1', [{ type: 'OrderPlaced', data: { total: 3 } }, { type: 'OrderPaid', data: {} }], { consistency: ['Projector'] }));
    request.end();
    await app.stop();

    const spans = otel.spans();
    const dispatch = spans.find((span) => span.name === 'herald dispatch order-1');
    assert.ok(dispatch, spans.map((span) => span.name).join(', '));
    assert.equal(dispatch.kind, SpanKind.PRODUCER);
    assert.equal(dispatch.parentSpanContext?.spanId, request.spanContext().spanId);
    assert.equal(dispatch.spanContext().traceId, request.spanContext().traceId);
    assert.deepEqual({ ...dispatch.attributes }, {
      'messaging.system': 'herald', 'messaging.operation.type': 'send', 'messaging.operation.name': 'dispatch',
      'messaging.destination.name': 'order-1', 'messaging.batch.message_count': 2,
    });
    for (const event of seen) assert.equal(event.metadata.traceparent, `00-${dispatch.spanContext().traceId}-${dispatch.spanContext().spanId}-01`);

    const handles = spans.filter((span) => span.name === 'herald handle Projector');
    assert.equal(handles.length, 2);
    for (const [index, span] of handles.entries()) {
      assert.equal(span.kind, SpanKind.CONSUMER);
      assert.equal(span.spanContext().traceId, request.spanContext().traceId);
      assert.equal(span.parentSpanContext?.spanId, dispatch.spanContext().spanId);
      assert.equal(span.attributes['herald.handler'], 'Projector');
      assert.equal(span.attributes['herald.event.type'], index === 0 ? 'OrderPlaced' : 'OrderPaid');
      assert.equal(span.attributes['herald.event.number'], index + 1);
      assert.equal(span.attributes['herald.attempt'], 1);
      assert.equal(span.attributes['messaging.system'], 'herald');
      assert.equal(span.attributes['messaging.consumer.group.name'], 'Projector');
    }
    assert.equal(otel.open(), 0);
    await otel.shutdown();
  });

  it('marks failed attempts ERROR with the action error() chose, counts them, and records the metrics of the contract', async () => {
    const otel = testTelemetry();
    const app = createApp({ store: inMemoryStore() });
    instrument(app, otel);
    let calls = 0;
    const flaky = defineHandler({
      name: 'Flaky',
      handle(event) {
        calls++;
        if (event.type === 'Poison') throw new Error('always fails');
        if (calls === 1) throw new Error('first attempt fails');
      },
      error: (error, event, failure) => (event.type === 'Poison' ? skip() : failure.attempt < 2 ? retry() : skip()),
    });
    await app.start([flaky]);
    await app.dispatch('s', [{ type: 'Ok', data: {} }, { type: 'Poison', data: {} }], { consistency: ['Flaky'] });
    const spans = otel.spans().filter((span) => span.name === 'herald handle Flaky');
    assert.deepEqual(spans.map((span) => [span.attributes['herald.event.type'], span.attributes['herald.attempt'], span.attributes['herald.action'], span.status.code]), [
      ['Ok', 1, 'retry', SpanStatusCode.ERROR],
      ['Ok', 2, undefined, SpanStatusCode.UNSET],
      ['Poison', 1, 'skip', SpanStatusCode.ERROR],
    ]);
    assert.equal(spans[0]?.events[0]?.name, 'exception');
    assert.equal(spans[0]?.status.message, 'first attempt fails');

    const metrics = await otel.metrics();
    assert.deepEqual(metrics.get('herald.handle.failures')?.map((point) => [point.attributes['herald.action'], point.value]).sort(), [['retry', 1], ['skip', 1]]);
    assert.equal(metrics.get('herald.handle.failures')?.[0]?.attributes['herald.handler'], 'Flaky');
    assert.equal((metrics.get('herald.handle.duration')?.[0]?.value as { count: number }).count, 3);
    assert.equal((metrics.get('herald.dispatch.duration')?.[0]?.value as { count: number }).count, 1);
    assert.deepEqual(metrics.get('herald.handler.lag'), [{ attributes: { 'herald.handler': 'Flaky' }, value: 0 }]);
    await app.stop();
    await otel.shutdown();
  });

  it('returns the same stop function when called twice, and records nothing once stopped', async () => {
    const otel = testTelemetry();
    const app = createApp({ store: inMemoryStore() });
    const stop = instrument(app, otel);
    assert.equal(instrument(app, otel), stop);
    await app.start([defineHandler({ name: 'H', handle() {} })]);
    await app.dispatch('a', { type: 'T', data: {} }, { consistency: ['H'] });
    const count = otel.spans().length;
    assert.equal(count, 2);
    stop();
    stop();
    const after = await app.dispatch('a', { type: 'T', data: {} }, { consistency: ['H'] });
    assert.equal(otel.spans().length, count);
    assert.equal(after.events[0]?.metadata.traceparent, undefined, 'no trace context written once stopped');
    await app.stop();
    await otel.shutdown();
  });

  it('leaves no span open when the app stops with a handling in progress', async () => {
    const otel = testTelemetry();
    const app = createApp({ store: inMemoryStore() });
    instrument(app, otel);
    const entered = deferred();
    await app.start([defineHandler({ name: 'Stuck', handle: () => { entered.resolve(); return new Promise(() => {}); } })]);
    await app.dispatch('a', { type: 'T', data: {} });
    await entered.promise;
    assert.equal(otel.open(), 1);
    await app.stop({ timeoutMs: 20 });
    await app.done;
    assert.equal(otel.open(), 0);
    assert.equal(otel.spans().find((span) => span.name === 'herald handle Stuck')?.attributes['herald.abandoned'], true);
    await otel.shutdown();
  });
});

describe('instrument across processes', () => {
  let pg: TestPostgres;
  let sql: Sql;
  before(async () => {
    pg = await startPostgres();
    sql = postgres(pg.url, { max: 2, onnotice: () => {} });
  });
  after(async () => {
    await sql?.end();
    await pg?.stop();
  });

  it('parents the handler span in the other process to the dispatch span (same trace id)', async () => {
    const schema = await freshSchema(sql);
    const store = postgresStore({ url: pg.url, schema });
    await store.migrate();
    const child = startFixture('otel-node.ts', pg.url, schema);
    const otel = testTelemetry();
    const app = createApp({ store, name: 'api' });
    instrument(app, otel);
    try {
      await child.ready;
      await app.start([]);
      const request = otel.tracerProvider.getTracer('test').startSpan('POST /orders');
      await context.with(trace.setSpan(context.active(), request), () => app.dispatch('order-7', { type: 'OrderPlaced', data: {} }));
      request.end();
      const dispatch = otel.spans().find((span) => span.name === 'herald dispatch order-7');
      assert.ok(dispatch);
      await waitFor(() => /^span /m.test(child.output()), 'the child process\'s handler span');
      const line = child.output().split('\n').find((text) => text.startsWith('span ')) ?? '';
      const [, name, traceId, parentId, kind] = line.split(' ');
      assert.equal(name, 'herald-handle-Remote');
      assert.equal(traceId, request.spanContext().traceId);
      assert.equal(parentId, dispatch.spanContext().spanId);
      assert.equal(Number(kind), SpanKind.CONSUMER);
    } finally {
      await app.stop();
      child.child.kill('SIGTERM');
      await child.exited;
      await otel.shutdown();
    }
  });
});
