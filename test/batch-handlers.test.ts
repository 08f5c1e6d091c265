/** Batch handlers (`handleBatch`), on the in-memory store and on PostgreSQL. */
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';
import {
  HandlerConfigError,
  createApp,
  defineHandler,
  inMemoryStore,
  manualClock,
  retry,
  skip,
  stop,
  telemetryChannel,
  type BatchFailureContext,
  type BatchStopPayload,
  type EventStore,
  type RecordedEvent,
} from '../src/index.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { flushAsync, waitFor } from './support/wait.ts';

const ev = (i: number, key = 'k') => ({ type: 'E', data: { i, key } });
const numbers = (events: readonly RecordedEvent[]): number[] => events.map((event) => event.eventNumber);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

let pg: TestPostgres | undefined;
let sql: Sql | undefined;

before(async () => {
  pg = await startPostgres();
  sql = postgres(pg.url, { max: 5, onnotice: () => {} });
});
after(async () => {
  await sql?.end();
  await pg?.stop();
});

/** A store, and how to reach the same data again after an app stopped (and closed) it. */
interface TestStore {
  readonly store: EventStore;
  again(): EventStore;
  close(): Promise<void>;
}

async function pgStore(): Promise<TestStore & { schema: string }> {
  const db = sql as Sql;
  const schema = await freshSchema(db);
  const url = (pg as TestPostgres).url;
  const store = postgresStore({ url, schema });
  await store.migrate();
  const opened = [store];
  return {
    store,
    schema,
    again: () => {
      const next = postgresStore({ url, schema });
      opened.push(next);
      return next;
    },
    close: async () => void (await Promise.all(opened.map((each) => each.close()))),
  };
}

function memoryStore(): TestStore {
  const store = inMemoryStore();
  return { store, again: () => store, close: async () => {} };
}

const stores: { name: string; make(): Promise<TestStore> }[] = [
  { name: 'in-memory store', make: async () => memoryStore() },
  { name: 'PostgreSQL store', make: pgStore },
];

for (const { name, make } of stores) {
  describe(`batch handlers on the ${name}`, () => {
    it('hands over consecutive events in order, never more than batchSize, full batches first while catching up', async () => {
      const { store, again: reopen, close } = await make();
      const app = createApp({ store });
      await app.dispatch('s', range(1, 250).map((i) => ev(i)));
      const batches: number[][] = [];
      const reasons: string[] = [];
      app.on('batch:stop', (payload) => reasons.push(payload.flushReason));
      await app.start([
        defineHandler({
          name: 'Bulk',
          batchSize: 100,
          handleBatch: (events) => void batches.push(numbers(events)),
        }),
      ]);
      await waitFor(() => app.status()[0]?.cursor === 250);
      await app.stop();
      assert.deepEqual(batches.map((batch) => batch.length), [100, 100, 50]);
      assert.deepEqual(batches.flat(), range(1, 250));
      assert.deepEqual(reasons, ['size', 'size', 'immediate']);

      // Every event was acknowledged: a new app resumes after them.
      const again: number[] = [];
      const app2 = createApp({ store: reopen() });
      await app2.start([defineHandler({ name: 'Bulk', batchSize: 100, handleBatch: (events) => void again.push(...numbers(events)) })]);
      await app2.dispatch('s', ev(251), { consistency: ['Bulk'] });
      await app2.stop();
      assert.deepEqual(again, [251]);
      await close();
    });

    it('keeps each key in order with partitionBy and concurrency, each batch holding one worker’s events', async () => {
      const { store, close } = await make();
      const app = createApp({ store });
      const keys = ['a', 'b', 'c', 'd', 'e'];
      await app.dispatch('s', range(1, 200).map((i) => ev(i, keys[i % keys.length])));
      const seen = new Map<string, number[]>();
      const workersOfKey = new Map<string, Set<number>>();
      let largest = 0;
      await app.start([
        defineHandler({
          name: 'Keyed',
          concurrency: 3,
          batchSize: 16,
          partitionBy: (event) => (event.data as { key: string }).key,
          async handleBatch(events, ctx) {
            largest = Math.max(largest, events.length);
            await flushAsync();
            for (const event of events) {
              const key = (event.data as { key: string }).key;
              seen.set(key, [...(seen.get(key) ?? []), (event.data as { i: number }).i]);
              workersOfKey.set(key, (workersOfKey.get(key) ?? new Set()).add(ctx.workerIndex));
            }
          },
        }),
      ]);
      await waitFor(() => app.status()[0]?.cursor === 200);
      await app.stop();
      assert.ok(largest <= 16);
      for (const key of keys) {
        const expected = range(1, 200).filter((i) => keys[i % keys.length] === key);
        assert.deepEqual(seen.get(key), expected, key);
        assert.equal(workersOfKey.get(key)?.size, 1, `key ${key} stays on one worker`);
      }
      await close();
    });

    it('passes the failed batch to error(err, events, failure) with failure.events; retry calls again with the same batch', async () => {
      const { store, close } = await make();
      const app = createApp({ store });
      await app.dispatch('s', range(1, 5).map((i) => ev(i)));
      const calls: number[][] = [];
      const failures: { events: number[]; failureEvents: number[]; attempt: number; first: number }[] = [];
      await app.start([
        defineHandler({
          name: 'Retrier',
          batchSize: 5,
          handleBatch(events) {
            calls.push(numbers(events));
            if (calls.length < 3) throw new Error(`attempt ${calls.length}`);
          },
          error(_error, events, failure: BatchFailureContext) {
            failures.push({ events: numbers(events), failureEvents: numbers(failure.events), attempt: failure.attempt, first: failure.event.eventNumber });
            return retry();
          },
        }),
      ]);
      await waitFor(() => app.status()[0]?.cursor === 5);
      await app.stop();
      assert.deepEqual(calls, [range(1, 5), range(1, 5), range(1, 5)]);
      assert.deepEqual(failures, [
        { events: range(1, 5), failureEvents: range(1, 5), attempt: 1, first: 1 },
        { events: range(1, 5), failureEvents: range(1, 5), attempt: 2, first: 1 },
      ]);
      await close();
    });

    it('skip() acknowledges the whole batch and records one dead letter per event', async () => {
      const { store, close } = await make();
      const app = createApp({ store });
      await app.dispatch('s', range(1, 6).map((i) => ev(i)));
      const handled: number[] = [];
      await app.start([
        defineHandler({
          name: 'Skipper',
          batchSize: 3,
          handleBatch(events) {
            if (events.some((event) => event.eventNumber === 5)) throw new Error('bad batch');
            handled.push(...numbers(events));
          },
          error: () => skip(),
        }),
      ]);
      await waitFor(() => app.status()[0]?.cursor === 6);
      const deadLetters = await app.deadLetters({ handler: 'Skipper' });
      await app.stop();
      assert.deepEqual(handled, [1, 2, 3]);
      assert.deepEqual(deadLetters.map((letter) => [letter.event.eventNumber, letter.error.message, letter.attempts]), [
        [4, 'bad batch', 1],
        [5, 'bad batch', 1],
        [6, 'bad batch', 1],
      ]);
      await close();
    });

    it('stop(reason) stops the handler; its supervisor restarts it from the cursor, with the same batch', async () => {
      const { store, close } = await make();
      const app = createApp({ store });
      const reasons: unknown[] = [];
      app.on('supervisor:restart', (payload) => reasons.push(payload.reason));
      await app.dispatch('s', range(1, 4).map((i) => ev(i)));
      const calls: number[][] = [];
      await app.start([
        defineHandler({
          name: 'Stopper',
          batchSize: 2,
          handleBatch(events) {
            calls.push(numbers(events));
            if (calls.length === 2) throw new Error('fatal');
          },
          error: () => stop('broken'),
        }),
      ]);
      await waitFor(() => app.status()[0]?.cursor === 4);
      await app.stop();
      assert.deepEqual(reasons, ['broken']);
      assert.deepEqual(calls, [[1, 2], [3, 4], [3, 4]]);
      await close();
    });

    it('emits batch:start, batch:stop and batch:exception, also on diagnostics_channel herald:batch:*', async () => {
      const { store, close } = await make();
      const app = createApp({ store, name: 'shop' });
      const names: string[] = [];
      const stops: BatchStopPayload[] = [];
      const published: unknown[] = [];
      const onPublish = (message: unknown): void => void published.push(message);
      diagnosticsChannel.subscribe(telemetryChannel('batch:stop').name, onPublish);
      app.on('batch:start', (payload) => names.push(`start ${numbers(payload.events).join(',')}`));
      app.on('batch:stop', (payload) => {
        names.push(`stop ${numbers(payload.events).join(',')}`);
        stops.push(payload);
      });
      app.on('batch:exception', (payload) => names.push(`exception ${payload.attempt} ${payload.action} ${(payload.error as Error).message}`));
      let failed = false;
      try {
        await app.dispatch('s', range(1, 3).map((i) => ev(i)));
        await app.start([
          defineHandler({
            name: 'Watched',
            batchSize: 10,
            handleBatch() {
              if (!failed) {
                failed = true;
                throw new Error('once');
              }
            },
            error: () => retry(),
          }),
        ]);
        await waitFor(() => app.status()[0]?.cursor === 3);
        await app.stop();
      } finally {
        diagnosticsChannel.unsubscribe(telemetryChannel('batch:stop').name, onPublish);
      }
      assert.deepEqual(names, ['start 1,2,3', 'exception 1 retry once', 'start 1,2,3', 'stop 1,2,3']);
      assert.equal(stops[0]?.app, 'shop');
      assert.equal(stops[0]?.handlerName, 'Watched');
      assert.equal(stops[0]?.flushReason, 'immediate');
      assert.equal(typeof stops[0]?.durationMs, 'number');
      assert.equal(published.length, 1);
      await close();
    });

    it('takes { state } from handleBatch and hands it to the next batch', async () => {
      const { store, close } = await make();
      const app = createApp({ store });
      await app.dispatch('s', range(1, 6).map((i) => ev(i)));
      const states: unknown[] = [];
      await app.start([
        defineHandler({
          name: 'Counting',
          batchSize: 2,
          state: 0,
          handleBatch(events, ctx) {
            states.push(ctx.state);
            return { state: ctx.state + events.length };
          },
        }),
      ]);
      await waitFor(() => app.status()[0]?.cursor === 6);
      await app.stop();
      assert.deepEqual(states, [0, 2, 4]);
      await close();
    });
  });
}

describe('batch handlers while live', () => {
  it('without batchTimeoutMs, a batch is whatever arrived; with it, a batch waits (on the injected clock) to fill', async () => {
    const clock = manualClock(1_000);
    const app = createApp({ clock, store: inMemoryStore({ clock }) });
    const batches: number[][] = [];
    const reasons: string[] = [];
    app.on('batch:stop', (payload) => reasons.push(payload.flushReason));
    await app.start([defineHandler({ name: 'Waiting', batchSize: 3, batchTimeoutMs: 50, handleBatch: (events) => void batches.push(numbers(events)) })]);
    await waitFor(() => app.status()[0]?.state === 'live');
    await app.dispatch('s', ev(1));
    await app.dispatch('s', ev(2));
    await flushAsync();
    await flushAsync();
    assert.deepEqual(batches, []);
    clock.advance(50);
    await waitFor(() => batches.length === 1);
    await app.dispatch('s', [ev(3), ev(4), ev(5)]);
    await waitFor(() => batches.length === 2);
    assert.deepEqual(batches, [[1, 2], [3, 4, 5]]);
    assert.deepEqual(reasons, ['timeout', 'size']);

    const plain: number[][] = [];
    const app2 = createApp({ store: inMemoryStore() });
    await app2.start([defineHandler({ name: 'Now', batchSize: 3, handleBatch: (events) => void plain.push(numbers(events)) })]);
    await waitFor(() => app2.status()[0]?.state === 'live');
    await app2.dispatch('s', ev(1));
    await waitFor(() => plain.length === 1);
    assert.deepEqual(plain, [[1]]);
    await app.stop();
    await app2.stop();
  });
});

describe('transactional batch handlers on PostgreSQL', () => {
  it('commit each batch’s writes with the cursor in one transaction; a skipped batch’s writes roll back, its dead letters stay', async () => {
    const { store, schema, close } = await pgStore();
    const db = sql as Sql;
    await db`create table ${db(schema)}.rows (n bigint primary key)`;
    const app = createApp({ store });
    await app.dispatch('s', range(1, 9).map((i) => ev(i)));
    let failNext = true;
    await app.start([
      defineHandler({
        name: 'TxBatch',
        transactional: true,
        batchSize: 3,
        async handleBatch(events, ctx) {
          const tx = ctx.sql;
          assert.ok(tx !== undefined);
          await tx`insert into ${tx(schema)}.rows ${tx(events.map((event) => ({ n: event.eventNumber })))}`;
          if (failNext && events.some((event) => event.eventNumber === 5)) throw new Error('after the insert');
        },
        error(_error, events) {
          failNext = false;
          return events[0]?.eventNumber === 4 ? skip() : stop('unexpected');
        },
      }),
    ]);
    await waitFor(async () => (await store.loadHandler('TxBatch'))?.cursor.position === 9);
    const letters = await app.deadLetters({ handler: 'TxBatch' });
    await app.stop();
    const rows = await db<{ n: string }[]>`select n from ${db(schema)}.rows order by n`;
    assert.deepEqual(rows.map((row) => Number(row.n)), [1, 2, 3, 7, 8, 9]);
    assert.deepEqual(letters.map((letter) => letter.event.eventNumber), [4, 5, 6]);
    await close();
  });

  it('rolls a failed attempt’s writes back before a retry of the same batch', async () => {
    const { store, schema, close } = await pgStore();
    const db = sql as Sql;
    await db`create table ${db(schema)}.rows (n bigint primary key)`;
    const app = createApp({ store });
    await app.dispatch('s', range(1, 4).map((i) => ev(i)));
    let attempts = 0;
    await app.start([
      defineHandler({
        name: 'TxRetry',
        transactional: true,
        batchSize: 4,
        async handleBatch(events, ctx) {
          const tx = ctx.sql;
          assert.ok(tx !== undefined);
          attempts++;
          // A primary key: had the failed attempt's rows stayed, the retry would fail on duplicates.
          await tx`insert into ${tx(schema)}.rows ${tx(events.map((event) => ({ n: event.eventNumber })))}`;
          if (attempts === 1) throw new Error('first attempt fails');
        },
        error: () => retry(),
      }),
    ]);
    await waitFor(async () => (await store.loadHandler('TxRetry'))?.cursor.position === 4);
    await app.stop();
    const rows = await db<{ n: string }[]>`select n from ${db(schema)}.rows order by n`;
    assert.deepEqual(rows.map((row) => Number(row.n)), [1, 2, 3, 4]);
    assert.equal(attempts, 2);
    await close();
  });
});

describe('batch handler options', () => {
  const batch = (options: Record<string, unknown>) => () => defineHandler({ name: 'B', ...options } as never);

  it('default batchSize to 100 and batchTimeoutMs to 0 with handleBatch', () => {
    const { config } = defineHandler({ name: 'B', handleBatch() {} });
    assert.equal(config.batchSize, 100);
    assert.equal(config.batchTimeoutMs, 0);
    assert.equal('batchSize' in defineHandler({ name: 'H', handle() {} }).config, false);
  });

  it('reject a batchSize below 1 or not an integer, naming the field and the value', () => {
    for (const [value, shown] of [[0, '0'], [-3, '-3'], [1.5, '1.5'], ['10', '"10"'], [Number.NaN, 'NaN']] as const) {
      assert.throws(batch({ handleBatch() {}, batchSize: value }), (error: unknown) => {
        assert.ok(error instanceof HandlerConfigError);
        assert.equal(error.field, 'batchSize');
        assert.match(error.message, /batchSize/);
        assert.ok(error.message.includes(shown), `${error.message} shows ${shown}`);
        return true;
      });
    }
  });

  it('reject batchTimeoutMs or batchSize without handleBatch, and a bad batchTimeoutMs', () => {
    for (const [options, field] of [
      [{ handle() {}, batchTimeoutMs: 50 }, 'batchTimeoutMs'],
      [{ handle() {}, batchSize: 10 }, 'batchSize'],
      [{ handleBatch() {}, batchTimeoutMs: -1 }, 'batchTimeoutMs'],
      [{ handleBatch() {}, batchTimeoutMs: 'soon' }, 'batchTimeoutMs'],
    ] as const) {
      assert.throws(batch(options), (error: unknown) => error instanceof HandlerConfigError && error.field === field && error.message.includes(field));
    }
  });

  it('reject handle and handleBatch together, and neither', () => {
    assert.throws(batch({ handle() {}, handleBatch() {} }), (error: unknown) =>
      error instanceof HandlerConfigError && error.field === 'handleBatch' && /handle or handleBatch, not both/.test(error.message) && /function/.test(error.message));
    assert.throws(batch({}), (error: unknown) =>
      error instanceof HandlerConfigError && error.field === 'handle' && /got undefined/.test(error.message));
    assert.throws(batch({ handleBatch: 'nope' }), (error: unknown) => error instanceof HandlerConfigError && error.field === 'handleBatch' && /"nope"/.test(error.message));
  });
});
