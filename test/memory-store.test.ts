import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TransactionSql } from 'postgres';
import { manualClock } from '../src/clock.ts';
import { InvalidEventError, StoreError } from '../src/errors.ts';
import type { RecordedEvent } from '../src/events/types.ts';
import { inMemoryStore } from '../src/store/memory.ts';
import { inFlightContract } from './support/in-flight-contract.ts';
import { slotContract } from './support/slot-contract.ts';
import { newEvent, storeContract } from './support/store-contract.ts';
import { flushAsync } from './support/wait.ts';

storeContract('memory', async () => ({ store: inMemoryStore(), cleanup: async () => {} }));

inFlightContract('memory', async () => ({ store: inMemoryStore(), cleanup: async () => {} }));

slotContract('memory', async () => {
  const clock = manualClock(1_000_000);
  return {
    store: inMemoryStore({ clock }),
    cleanup: async () => {},
    advance: async (ms) => clock.advance(ms),
  };
});

describe('the in-memory store', () => {
  it("is of kind 'memory' and offers no transactions", () => {
    const store = inMemoryStore();
    assert.equal(store.kind, 'memory');
    assert.equal('transaction' in store, false);
  });

  it("refuses to append inside a caller's PostgreSQL transaction", async () => {
    const store = inMemoryStore();
    const transaction = {} as unknown as TransactionSql;
    await assert.rejects(store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'any', transaction }), StoreError);
    assert.equal(await store.headPosition(), 0);
  });

  describe('immutability', () => {
    it('hands out events whose payload cannot be changed, and whose fields change only the holder\'s copy', async () => {
      const store = inMemoryStore();
      const { events } = await store.append({ streamId: 's', events: [newEvent('a', { list: [1], inner: { x: 1 } }, { k: 'v' })], expectedVersion: 'any' });
      const [read] = (await store.read({ after: 0, limit: 1 })).events as [RecordedEvent<{ list: number[]; inner: { x: number } }>];
      for (const event of [events[0] as RecordedEvent<{ list: number[]; inner: { x: number } }>, read]) {
        assert.throws(() => event.data.list.push(2), TypeError);
        assert.throws(() => (event.data.inner.x = 2), TypeError);
        assert.throws(() => (event.metadata.k = 'changed'), TypeError);
        (event as { type: string }).type = 'Changed';
      }
      const [again] = (await store.read({ after: 0, limit: 1 })).events;
      assert.deepEqual([again?.type, again?.data], ['Tested', { list: [1], inner: { x: 1 } }]);
    });

    it("keeps its own copy, so changing the caller's objects after the append changes nothing", async () => {
      const store = inMemoryStore();
      const data = { list: [1] };
      const metadata: Record<string, unknown> = { k: 'v' };
      await store.append({ streamId: 's', events: [newEvent('a', data, metadata)], expectedVersion: 'any' });
      data.list.push(2);
      metadata.k = 'changed';
      const [event] = (await store.read({ after: 0, limit: 1 })).events;
      assert.deepEqual([event?.data, event?.metadata], [{ list: [1] }, { k: 'v' }]);
    });

    it('gives every reader its own createdAt, so changing one Date changes no other read', async () => {
      const store = inMemoryStore({ clock: manualClock(5_000) });
      await store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'any' });
      const [first] = (await store.read({ after: 0, limit: 1 })).events;
      first?.createdAt.setTime(0);
      const [second] = (await store.read({ after: 0, limit: 1 })).events;
      assert.equal(second?.createdAt.getTime(), 5_000);
    });

    it('hands out handler records and dead letters that cannot change what is stored', async () => {
      const store = inMemoryStore();
      await store.registerHandler({ name: 'P', subscribeTo: '$all', consistency: 'eventual', startFrom: 'origin' });
      const acked = [3];
      await store.saveCursor('P', { position: 1, acked });
      acked.push(4);
      const record = await store.loadHandler('P');
      assert.deepEqual(record?.cursor, { position: 1, acked: [3] });
      assert.throws(() => (record?.cursor.acked as number[]).push(5), TypeError);
      const [event] = (await store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'any' })).events;
      assert.ok(event);
      const added = await store.addDeadLetter({ handlerName: 'P', event, error: { message: 'boom' }, attempts: 1 });
      (added.error as { message: string }).message = 'changed';
      assert.equal((await store.getDeadLetter(added.id))?.error.message, 'boom');
    });
  });

  describe('time and ids', () => {
    it('stamps createdAt, updatedAt and deadAt from its clock', async () => {
      const clock = manualClock(1_000);
      const store = inMemoryStore({ clock });
      const [event] = (await store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'any' })).events;
      assert.equal(event?.createdAt.getTime(), 1_000);
      clock.advance(500);
      assert.equal((await store.registerHandler({ name: 'P', subscribeTo: '$all', consistency: 'eventual', startFrom: 'origin' })).updatedAt.getTime(), 1_500);
      clock.advance(500);
      await store.saveCursor('P', { position: 1, acked: [] });
      assert.equal((await store.loadHandler('P'))?.updatedAt.getTime(), 2_000);
      assert.ok(event);
      assert.equal((await store.addDeadLetter({ handlerName: 'P', event, error: { message: 'x' }, attempts: 1 })).deadAt.getTime(), 2_000);
    });

    it('names dead letters with its id generator', async () => {
      let next = 0;
      const store = inMemoryStore({ newId: () => `dl-${++next}` });
      const [event] = (await store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'any' })).events;
      assert.ok(event);
      const first = await store.addDeadLetter({ handlerName: 'P', event, error: { message: 'x' }, attempts: 1 });
      const second = await store.addDeadLetter({ handlerName: 'P', event, error: { message: 'y' }, attempts: 2 });
      assert.deepEqual([first.id, second.id], ['dl-1', 'dl-2']);
    });

    it('prunes exactly the dead letters recorded before the date', async () => {
      const clock = manualClock(10_000);
      const store = inMemoryStore({ clock });
      const [event] = (await store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'any' })).events;
      assert.ok(event);
      const add = () => store.addDeadLetter({ handlerName: 'P', event, error: { message: 'x' }, attempts: 1 });
      await add();
      clock.advance(1_000);
      const kept = await add();
      clock.advance(1_000);
      const last = await add();
      assert.equal(await store.pruneDeadLetters(new Date(11_000)), 1);
      assert.deepEqual((await store.listDeadLetters()).map((entry) => entry.id), [kept.id, last.id]);
    });

    it('lists dead letters by time even when the clock went backwards', async () => {
      const clock = manualClock(0);
      let now = 5_000;
      const store = inMemoryStore({ clock: { ...clock, now: () => now } });
      const [event] = (await store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'any' })).events;
      assert.ok(event);
      const late = await store.addDeadLetter({ handlerName: 'P', event, error: { message: 'late' }, attempts: 1 });
      now = 1_000;
      const early = await store.addDeadLetter({ handlerName: 'P', event, error: { message: 'early' }, attempts: 1 });
      assert.deepEqual((await store.listDeadLetters()).map((entry) => entry.id), [early.id, late.id]);
    });
  });

  describe('numbering', () => {
    it('rejects data that is not JSON (a Date, NaN, undefined) instead of changing it', async () => {
      const store = inMemoryStore();
      for (const data of [new Date(0), { n: Number.NaN }, [undefined], undefined]) {
        const event = { eventId: 'a', type: 'T', data, metadata: {} };
        await assert.rejects(store.append({ streamId: 's', events: [event], expectedVersion: 'any' }), InvalidEventError);
      }
      assert.equal(await store.headPosition(), 0);
    });

    it('leaves out object properties whose value is undefined, as JSON does', async () => {
      const store = inMemoryStore();
      const { events } = await store.append({ streamId: 's', events: [newEvent('a', { kept: 1, dropped: undefined })], expectedVersion: 'any' });
      assert.deepEqual(Object.keys(events[0]?.data as object), ['kept']);
    });

    it('numbers events without gaps, even after rejected appends', async () => {
      const store = inMemoryStore();
      await store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'any' });
      await assert.rejects(store.append({ streamId: 's', events: [newEvent('b')], expectedVersion: 'no_stream' }));
      await assert.rejects(store.append({ streamId: 's', events: [newEvent('c'), newEvent('c')], expectedVersion: 'any' }));
      const { events } = await store.append({ streamId: 't', events: [newEvent('d'), newEvent('e')], expectedVersion: 'any' });
      assert.deepEqual(events.map((event) => event.eventNumber), [2, 3]);
    });

    it('rejects a payload it cannot copy and leaves the log unchanged', async () => {
      const store = inMemoryStore();
      await assert.rejects(
        store.append({ streamId: 's', events: [newEvent('a'), newEvent('b', { f: () => 1 })], expectedVersion: 'any' }),
        InvalidEventError,
      );
      assert.equal(await store.headPosition(), 0);
      const { events } = await store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'no_stream' });
      assert.deepEqual([events[0]?.eventNumber, events[0]?.streamVersion], [1, 1]);
    });
  });

  describe('notifications', () => {
    it('calls append listeners once per append that stored something, after the append returned', async () => {
      const store = inMemoryStore();
      let calls = 0;
      store.onAppend(() => calls++);
      await store.append({ streamId: 's', events: [newEvent('a'), newEvent('b')], expectedVersion: 'any' });
      await store.append({ streamId: 's', events: [newEvent('c')], expectedVersion: 'any' });
      await flushAsync();
      assert.equal(calls, 2);
      await store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'any' });
      await assert.rejects(store.append({ streamId: 's', events: [newEvent('d')], expectedVersion: 0 }));
      await flushAsync();
      assert.equal(calls, 2);
    });

    it('calls listeners in a microtask, not inside the call', async () => {
      const store = inMemoryStore();
      const order: string[] = [];
      store.onAppend(() => order.push('append listener'));
      store.onCursorSaved(() => order.push('cursor listener'));
      await store.registerHandler({ name: 'P', subscribeTo: '$all', consistency: 'eventual', startFrom: 'origin' });
      const appended = store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'any' });
      const saved = store.saveCursor('P', { position: 1, acked: [] });
      order.push('calls returned');
      await Promise.all([appended, saved]);
      assert.deepEqual(order, ['calls returned', 'append listener', 'cursor listener']);
    });

    it('treats two subscriptions of one function as two, each with its own unsubscribe', async () => {
      const store = inMemoryStore();
      let calls = 0;
      const listener = (): void => void calls++;
      const off = store.onAppend(listener);
      store.onAppend(listener);
      off();
      await store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'any' });
      await flushAsync();
      assert.equal(calls, 1);
    });

    it('does not call listeners after close', async () => {
      const store = inMemoryStore();
      let calls = 0;
      store.onAppend(() => calls++);
      await store.close();
      store.onCursorSaved(() => calls++)();
      await flushAsync();
      assert.equal(calls, 0);
    });
  });

  it('rejects a malformed dead letter with a StoreError', async () => {
    const store = inMemoryStore();
    // @ts-expect-error: deliberately invalid input
    await assert.rejects(store.addDeadLetter({ handlerName: '', error: { message: 'x' }, attempts: 1 }), StoreError);
    await assert.rejects(store.pruneDeadLetters(new Date(Number.NaN)), StoreError);
  });
});
