/**
 * Behaviour of typed events, type filters, upcasters and `app.caughtUp`, run against every store
 * (test/typed-events.test.ts runs it on the in-memory store and on PostgreSQL).
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import * as v from 'valibot';
import { z } from 'zod';
import type {
  HandlerConfigError} from '../../src/index.ts';
import {
  ConsistencyTimeoutError,
  createApp,
  defineEvents,
  defineHandler,
  InvalidEventError,
  retry,
  skip,
  type EventStore,
  type RecordedEvent,
} from '../../src/index.ts';
import { deferred, waitFor } from './wait.ts';

/** A fresh store, and how to open the same log again (a restart) and to throw it away. */
export interface TypedStore {
  readonly store: EventStore;
  reopen(): EventStore;
  cleanup(): Promise<void>;
}

/** Wraps a store so that the types of every event its reads return are recorded. */
function countingReads(store: EventStore): { store: EventStore; readTypes: string[] } {
  const readTypes: string[] = [];
  return {
    readTypes,
    store: {
      ...store,
      async read(request) {
        const page = await store.read(request);
        readTypes.push(...page.events.map((event) => event.type));
        return page;
      },
    },
  };
}

const shop = defineEvents({
  OrderPlaced: z.object({ orderId: z.string(), total: z.number(), currency: z.string().default('EUR') }),
  OrderShipped: z.object({ orderId: z.string() }),
  Noise: undefined,
});

/** Registers the typed-events behaviour tests for one store. */
export function typedSuite(label: string, open: () => Promise<TypedStore>): void {
  async function fresh(t: TestContext): Promise<TypedStore> {
    const opened = await open();
    t.after(() => opened.cleanup());
    await opened.store.migrate();
    return opened;
  }

  describe(`typed events on the ${label} store`, () => {
    describe('type filters in the read', () => {
      it('reads only the requested types, in order, and reads through the head when the page is not full', async (t) => {
        const { store } = await fresh(t);
        await store.migrate();
        const types = ['A', 'B', 'C', 'A', 'C', 'C', 'B'];
        for (const [i, type] of types.entries()) {
          await store.append({ streamId: `s-${i % 2}`, events: [{ eventId: `e${i}`, type, data: { i }, metadata: {} }], expectedVersion: 'any' });
        }
        const page = await store.read({ after: 0, limit: 10, types: ['B', 'A'] });
        assert.deepEqual(page.events.map((e) => [e.eventNumber, e.type]), [[1, 'A'], [2, 'B'], [4, 'A'], [7, 'B']]);
        assert.equal(page.readThrough, 7);
        const full = await store.read({ after: 0, limit: 2, types: ['C'] });
        assert.deepEqual(full.events.map((e) => e.eventNumber), [3, 5]);
        assert.equal(full.readThrough, 5, 'a full page reads through its last event');
        const rest = await store.read({ after: 5, limit: 2, types: ['C'] });
        assert.deepEqual(rest.events.map((e) => e.eventNumber), [6]);
        assert.equal(rest.readThrough, 7);
        const oneStream = await store.read({ after: 0, limit: 10, types: ['C'], streamId: 's-0' });
        assert.deepEqual(oneStream.events.map((e) => e.eventNumber), [3, 5]);
        assert.equal(oneStream.readThrough, 7);
        const none = await store.read({ after: 0, limit: 10, types: [] });
        assert.deepEqual(none, { events: [], readThrough: 7 });
        await assert.rejects(store.read({ after: 0, limit: 10, types: 'A' as unknown as string[] }), /types must be an array/);
      });

      it('hands an `on` handler only its types, moves its cursor past the others to lag 0, and a restart reads none of them again', async (t) => {
        const opened = await fresh(t);
        const first = countingReads(opened.store);
        const seen: string[] = [];
        const handler = defineHandler({
          name: 'Shipping',
          events: shop,
          on: {
            OrderPlaced(event) { seen.push(`placed ${event.data.orderId} ${event.data.total} ${event.data.currency}`); },
            OrderShipped(event) { seen.push(`shipped ${event.data.orderId}`); },
          },
        });
        const app = createApp({ store: first.store, events: shop });
        await app.start([handler]);
        await app.dispatch('o-1', [
          { type: 'Noise', data: 1 },
          { type: 'OrderPlaced', data: { orderId: '1', total: 3 } },
          { type: 'Noise', data: 2 },
          { type: 'OrderShipped', data: { orderId: '1' } },
          { type: 'Noise', data: 3 },
        ]);
        await app.caughtUp({ handlers: ['Shipping'] });
        assert.deepEqual(seen, ['placed 1 3 EUR', 'shipped 1']);
        assert.deepEqual(first.readTypes, ['OrderPlaced', 'OrderShipped'], 'the read itself left the other types out');
        const [status] = app.status();
        assert.equal(status?.cursor, 5);
        assert.equal(status?.lag, 0);
        await app.stop();

        const second = countingReads(opened.reopen());
        const app2 = createApp({ store: second.store, events: shop });
        await app2.start([handler]);
        await app2.dispatch('o-2', [{ type: 'Noise', data: 4 }, { type: 'OrderShipped', data: { orderId: '2' } }]);
        await app2.caughtUp();
        assert.deepEqual(seen, ['placed 1 3 EUR', 'shipped 1', 'shipped 2']);
        assert.deepEqual(second.readTypes, ['OrderShipped'], 'nothing before the saved cursor was read again');
        assert.equal(app2.status()[0]?.lag, 0);
        await app2.stop();
      });

      it('lets a strong dispatch of a type a strong `on` handler does not read return once its cursor passed it', async (t) => {
        const { store } = await fresh(t);
        const seen: number[] = [];
        const app = createApp({ store });
        await app.start([defineHandler({ name: 'StrongOn', consistency: 'strong', on: { Wanted: (event) => void seen.push(event.eventNumber) } })]);
        await app.dispatch('s', { type: 'Wanted', data: {} }, { consistency: 'strong', timeoutMs: 5000 });
        assert.deepEqual(seen, [1]);
        const result = await app.dispatch('s', [{ type: 'Unread', data: {} }, { type: 'Unread', data: {} }], { consistency: 'strong', timeoutMs: 5000 });
        assert.equal(result.lastEventNumber, 3);
        assert.ok((app.status()[0]?.cursor ?? 0) >= 3, 'the strong wait ended because the cursor moved past the unread events');
        assert.deepEqual(seen, [1]);
        await app.stop();
      });

      it('works with partitionBy, concurrency and an error callback as with handle', async (t) => {
        const { store } = await fresh(t);
        const byKey = new Map<string, number[]>();
        let thrown = 0;
        const app = createApp({ store });
        await app.start([defineHandler({
          name: 'Keyed',
          concurrency: 3,
          partitionBy: (event) => event.streamId,
          on: {
            Counted(event, ctx) {
              if ((event.data as { n: number }).n === 2 && thrown === 0) {
                thrown++;
                throw new Error('once');
              }
              byKey.set(String(ctx.partition), [...(byKey.get(String(ctx.partition)) ?? []), (event.data as { n: number }).n]);
            },
          },
          error: () => retry(),
        })]);
        for (let n = 0; n < 4; n++) {
          await app.dispatch('k-a', [{ type: 'Counted', data: { n } }, { type: 'Other', data: {} }]);
          await app.dispatch('k-b', { type: 'Counted', data: { n } });
        }
        await app.caughtUp();
        assert.deepEqual(Object.fromEntries(byKey), { 'k-a': [0, 1, 2, 3], 'k-b': [0, 1, 2, 3] });
        assert.equal(thrown, 1, 'the failing event was retried, then handled');
        await app.stop();
      });
    });

    describe('dispatch validation', () => {
      it('rejects data its validator refuses with the issues, and appends nothing', async (t) => {
        const { store } = await fresh(t);
        const app = createApp({ store, events: shop });
        const error = await app
          .dispatch('o-1', [{ type: 'OrderShipped', data: { orderId: '1' } }, { type: 'OrderPlaced', data: { orderId: 1 } as never }])
          .then(() => undefined, (thrown: unknown) => thrown);
        assert.ok(error instanceof InvalidEventError);
        assert.equal(error.code, 'INVALID_EVENT');
        assert.match(error.message, /events\[1\]\.data is not a valid "OrderPlaced"/);
        assert.deepEqual(error.issues?.map((issue) => issue.path), [['orderId'], ['total']]);
        assert.equal(await store.headPosition(), 0, 'nothing appended');
        await app.stop();
      });

      it('stores the validator output (defaults filled in) and accepts unknown types unless strictEvents', async (t) => {
        const { store, reopen } = await fresh(t);
        const app = createApp({ store, events: shop });
        const result = await app.dispatch('o-1', [
          { type: 'OrderPlaced', data: { orderId: '1', total: 2 } },
          { type: 'Unlisted', data: { any: true } } as never,
        ]);
        assert.deepEqual(result.events.map((e) => e.data), [{ orderId: '1', total: 2, currency: 'EUR' }, { any: true }]);
        const page = await store.read({ after: 0, limit: 10 });
        assert.deepEqual(page.events[0]?.data, { orderId: '1', total: 2, currency: 'EUR' });
        await app.stop();

        const again = reopen();
        const strict = createApp({ store: again, events: shop, strictEvents: true });
        await assert.rejects(strict.dispatch('o-1', { type: 'Unlisted', data: {} } as never), /"Unlisted" is not a type of the app's events/);
        await strict.dispatch('o-1', { type: 'Noise', data: 'known, not validated' });
        assert.equal(await again.headPosition(), 3);
        await strict.stop();
      });

      it('validates with valibot and with hand-written validators, sync and async', async (t) => {
        const { store } = await fresh(t);
        const calls: string[] = [];
        const handWritten = {
          '~standard': {
            version: 1 as const,
            vendor: 'hand',
            validate(value: unknown) {
              calls.push('sync');
              return typeof value === 'number' ? { value: value * 2 } : { issues: [{ message: 'not a number' }] };
            },
          },
        };
        const asyncValidator = {
          '~standard': {
            version: 1 as const,
            vendor: 'hand',
            async validate(value: unknown) {
              calls.push('async');
              await new Promise((resolve) => setImmediate(resolve));
              return value === 'ok' ? { value: 'OK' } : { issues: [{ message: 'not ok', path: [{ key: 'root' }] }] };
            },
          },
        };
        const events = defineEvents({ Doubled: handWritten, Later: asyncValidator, Named: v.object({ name: v.pipe(v.string(), v.minLength(2)) }) });
        const app = createApp({ store, events });
        const ok = await app.dispatch('h', [{ type: 'Doubled', data: 21 }, { type: 'Later', data: 'ok' }, { type: 'Named', data: { name: 'Ada' } }]);
        assert.deepEqual(ok.events.map((e) => e.data), [42, 'OK', { name: 'Ada' }]);
        await assert.rejects(app.dispatch('h', { type: 'Doubled', data: 'x' as never }), (error: InvalidEventError) =>
          error.issues?.[0]?.message === 'not a number');
        await assert.rejects(app.dispatch('h', { type: 'Later', data: 'no' }), (error: InvalidEventError) =>
          error.issues?.[0]?.message === 'not ok' && /root: not ok/.test(error.message));
        await assert.rejects(app.dispatch('h', { type: 'Named', data: { name: 'A' } }), (error: InvalidEventError) =>
          error instanceof InvalidEventError && error.issues?.length === 1 && /name:/.test(error.message));
        assert.deepEqual(calls, ['sync', 'async', 'sync', 'async']);
        assert.equal(await store.headPosition(), 3);
        await app.stop();
      });

      it('turns a validator that throws into InvalidEventError with that cause, and output that is not JSON into InvalidEventError', async (t) => {
        const { store } = await fresh(t);
        const boom = new Error('validator bug');
        const events = defineEvents({
          Throws: { '~standard': { version: 1, vendor: 'hand', validate: () => { throw boom; } } },
          Rejects: { '~standard': { version: 1, vendor: 'hand', validate: () => Promise.reject(boom) } },
          Function: { '~standard': { version: 1, vendor: 'hand', validate: () => ({ value: { f: () => 1 } }) } },
        });
        const app = createApp({ store, events });
        for (const type of ['Throws', 'Rejects'] as const) {
          const error = await app.dispatch('x', { type, data: {} }).then(() => undefined, (thrown: unknown) => thrown);
          assert.ok(error instanceof InvalidEventError, type);
          assert.equal(error.cause, boom);
          assert.match(error.message, new RegExp(`the validator of "${type}" threw: validator bug`));
        }
        await assert.rejects(app.dispatch('x', { type: 'Function', data: {} }), InvalidEventError);
        assert.equal(await store.headPosition(), 0);
        await app.stop();
      });
    });

    describe('upcasters', () => {
      it('renames an old type and fills fields before partitionBy and on, and the filter reads the old type', async (t) => {
        const { store: first, reopen } = await fresh(t);
        const old = createApp({ store: first });
        await old.dispatch('o-1', [
          { type: 'OrderCreated', data: { orderId: '1', total: 5 } },
          { type: 'Other', data: {} },
          { type: 'OrderPlaced', data: { orderId: '2', total: 7, currency: 'USD' } },
        ]);
        await old.stop();
        const store = reopen();
        const seen: string[] = [];
        const keys: string[] = [];
        const app = createApp({
          store,
          events: shop,
          upcasters: {
            OrderPlaced: (event) => ({ ...event, data: { currency: 'EUR', ...event.data } }),
            OrderCreated: (event) => ({ ...event, type: 'OrderPlaced' }),
          },
        });
        await app.start([defineHandler({
          name: 'Totals',
          events: shop,
          partitionBy: (event) => {
            keys.push(`${event.type}`);
            return event.streamId;
          },
          on: { OrderPlaced: (event) => void seen.push(`${event.eventNumber} ${event.data.orderId} ${event.data.total} ${event.data.currency}`) },
        })]);
        await app.caughtUp();
        assert.deepEqual(seen, ['1 1 5 EUR', '3 2 7 USD']);
        assert.deepEqual(keys, ['OrderPlaced', 'OrderPlaced'], 'partitionBy saw the upcast type; the other type was never read');
        assert.deepEqual((await store.read({ after: 0, limit: 1 })).events[0]?.type, 'OrderCreated', 'the stored event is unchanged');
        await app.stop();
      });

      it('runs chains of renames, and a chain over 10 steps or a throwing upcaster is a handling failure that error() decides', async (t) => {
        const { store } = await fresh(t);
        const upcasters: Record<string, (event: RecordedEvent<{ readonly [key: string]: unknown }>) => { type: string; data: unknown }> = {};
        for (let i = 0; i < 10; i++) upcasters[`V${i}`] = (event) => ({ ...event, type: `V${i + 1}` });
        upcasters.Ping = (event) => ({ ...event, type: 'Pong' });
        upcasters.Pong = (event) => ({ ...event, type: 'Ping' });
        let throws = 1;
        upcasters.Flaky = (event) => {
          if (throws-- > 0) throw new Error('upcaster failed');
          return { ...event, type: 'V10' };
        };
        const seen: string[] = [];
        const failures: string[] = [];
        const app = createApp({ store, upcasters });
        await app.start([defineHandler({
          name: 'Chain',
          on: { V10: (event) => void seen.push(`${event.eventNumber}`), Ping: () => void seen.push('ping?') },
          error(error, event, failure) {
            failures.push(`${event.type} ${failure.attempt} ${(error as Error).message}`);
            return error instanceof InvalidEventError ? skip() : retry();
          },
        })]);
        await app.dispatch('c', [{ type: 'V0', data: {} }, { type: 'Ping', data: {} }, { type: 'Flaky', data: {} }, { type: 'V9', data: {} }]);
        await app.caughtUp();
        assert.deepEqual(seen, ['1', '3', '4'], 'V0 went through 10 renames to V10');
        assert.equal(failures.length, 2);
        assert.match(failures[0] ?? '', /^Ping 1 event 2: more than 10 upcasting steps \(Ping -> Pong -> Ping/);
        assert.equal(failures[1], 'Flaky 1 upcaster failed');
        const [dead] = await app.deadLetters();
        assert.equal(dead?.event.type, 'Ping', 'the dead letter holds the stored event');
        await app.stop();
      });

      it('upcasts a dead letter again when it is replayed', async (t) => {
        const { store } = await fresh(t);
        let fail = true;
        const seen: string[] = [];
        const app = createApp({ store, upcasters: { Old: (event) => ({ ...event, type: 'New', data: { upcast: true } }) } });
        await app.start([defineHandler({
          name: 'Replayed',
          on: {
            New(event) {
              if (fail) throw new Error('not yet');
              seen.push(`${event.type} ${JSON.stringify(event.data)}`);
            },
          },
          error: () => skip(),
        })]);
        await app.dispatch('r', { type: 'Old', data: { upcast: false } });
        await app.caughtUp();
        const [dead] = await app.deadLetters();
        assert.equal(dead?.event.type, 'Old', 'recorded as stored');
        fail = false;
        assert.equal(await app.replayDeadLetter(dead?.id ?? ''), 'handled');
        assert.deepEqual(seen, ['New {"upcast":true}']);
        await app.stop();
      });
    });

    describe('app.caughtUp', () => {
      it('waits for the named handlers and rejects naming those behind', async (t) => {
        const { store } = await fresh(t);
        const gate = deferred();
        const handled: number[] = [];
        const app = createApp({ store });
        await app.start([
          defineHandler({ name: 'Fast', handle: (event) => void handled.push(event.eventNumber) }),
          defineHandler({ name: 'Slow', async handle() { await gate.promise; } }),
        ]);
        await app.caughtUp({ timeoutMs: 100 }); // nothing stored yet
        await app.dispatch('s', [{ type: 'E', data: 1 }, { type: 'E', data: 2 }]);
        await app.caughtUp({ handlers: ['Fast'] });
        assert.deepEqual(handled, [1, 2]);
        const error = await app.caughtUp({ timeoutMs: 50 }).then(() => undefined, (thrown: unknown) => thrown);
        assert.ok(error instanceof ConsistencyTimeoutError);
        assert.deepEqual(error.handlers, ['Slow']);
        await assert.rejects(app.caughtUp({ handlers: ['Ghost'] }), (e: HandlerConfigError) => e.field === 'handlers' && /"Ghost"/.test(e.message));
        await assert.rejects(app.caughtUp({ timeoutMs: -1 }), (e: HandlerConfigError) => e.field === 'timeoutMs');
        await assert.rejects(app.caughtUp({ handler: ['Fast'] } as never), (e: HandlerConfigError) => e.field === 'handler');
        gate.resolve();
        await app.caughtUp();
        await app.stop();
      });
    });

    if (label === 'PostgreSQL') {
      it('commits a transactional `on` handler’s writes with its cursor', async (t) => {
        const { store } = await fresh(t);
        const seen: string[] = [];
        const app = createApp({ store });
        await app.start([defineHandler({
          name: 'TxOn',
          transactional: true,
          on: {
            async Wanted(event, ctx) {
              assert.ok(ctx.sql !== undefined);
              const [row] = await ctx.sql<{ n: number }[]>`select ${event.eventNumber}::int as n`;
              seen.push(String(row?.n));
            },
          },
        })]);
        await app.dispatch('t', [{ type: 'Wanted', data: {} }, { type: 'Skipped', data: {} }, { type: 'Wanted', data: {} }, { type: 'Skipped', data: {} }]);
        await app.caughtUp();
        await waitFor(async () => (await store.loadHandler('TxOn'))?.cursor.position === 4, 'cursor committed at the head');
        assert.deepEqual(seen, ['1', '3']);
        await app.stop();
      });
    }
  });
}
