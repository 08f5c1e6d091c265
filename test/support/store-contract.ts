/**
 * The contract every `EventStore` passes (in-memory and PostgreSQL). Each test opens a fresh store through
 * `makeStore` and always runs its `cleanup` (also after a test closed the store itself). Nothing here relies
 * on one store's internals: times are compared loosely, no `transaction` is used, and listener tests wait
 * for notifications instead of assuming when they arrive.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  HandlerConfigError,
  HeraldError,
  InvalidEventError,
  StoreError,
  WrongExpectedVersionError,
} from '../../src/errors.ts';
import type { NewEvent, RecordedEvent } from '../../src/events/types.ts';
import type { EventStore, NewDeadLetter } from '../../src/store/types.ts';
import { waitFor } from './wait.ts';

/** A store under test and how to throw it away. */
export interface StoreUnderTest {
  readonly store: EventStore;
  readonly cleanup: () => Promise<void>;
}

/** A valid event as `append` receives it. */
export function newEvent(eventId: string, data: unknown = { id: eventId }, metadata: Record<string, unknown> = {}): NewEvent {
  return { eventId, type: 'Tested', data, metadata };
}

/** Loose bound for `createdAt`/`deadAt`/`updatedAt`: the store's clock may be a database server's. */
export function assertRecent(date: unknown, what: string): void {
  assert.ok(date instanceof Date, `${what} is a Date`);
  assert.ok(Math.abs(date.getTime() - Date.now()) < 10 * 60_000, `${what} is close to now`);
}

const numbers = (events: readonly RecordedEvent[]): number[] => events.map((event) => event.eventNumber);
const ids = (events: readonly RecordedEvent[]): string[] => events.map((event) => event.eventId);

/** Registers `label + ' store contract'`: the tests every store must pass. */
export function storeContract(label: string, makeStore: () => Promise<StoreUnderTest>): void {
  async function open(t: TestContext): Promise<EventStore> {
    const { store, cleanup } = await makeStore();
    t.after(cleanup);
    await store.migrate();
    return store;
  }

  /** Appends one event per id to `streamId` (one append per event) and returns the recorded events. */
  async function seed(store: EventStore, streamId: string, ...eventIds: string[]): Promise<RecordedEvent[]> {
    const recorded: RecordedEvent[] = [];
    for (const eventId of eventIds) {
      const result = await store.append({ streamId, events: [newEvent(eventId)], expectedVersion: 'any' });
      recorded.push(...result.events);
    }
    return recorded;
  }

  describe(`${label} store contract`, () => {
    describe('migrate and kind', () => {
      it('migrates again without harm and names its kind', async (t) => {
        const store = await open(t);
        await store.migrate();
        assert.equal(typeof store.kind, 'string');
        assert.equal(await store.headPosition(), 0);
      });
    });

    describe('append', () => {
      it('records events with global numbers, per-stream versions, the given payload and a creation time', async (t) => {
        const store = await open(t);
        const data = { nested: { list: [1, 'two', null, true], text: 'héllo ✓' }, n: 1.5 };
        const metadata = { correlationId: 'c-1', causationId: 'x' };
        const first = await store.append({
          streamId: 'order-1',
          events: [newEvent('a', data, metadata), { eventId: 'b', type: 'Other', data: [1, 2], metadata: {} }],
          expectedVersion: 'any',
        });
        assert.deepEqual(first.duplicates, []);
        assert.equal(first.lastEventNumber, 2);
        assert.equal(first.events.length, 2);
        const [a, b] = first.events as [RecordedEvent, RecordedEvent];
        assert.deepEqual(
          { eventId: a.eventId, eventNumber: a.eventNumber, streamId: a.streamId, streamVersion: a.streamVersion, type: a.type },
          { eventId: 'a', eventNumber: 1, streamId: 'order-1', streamVersion: 1, type: 'Tested' },
        );
        assert.deepEqual(a.data, data);
        assert.deepEqual(a.metadata, metadata);
        assertRecent(a.createdAt, 'createdAt');
        assert.deepEqual([b.eventNumber, b.streamVersion, b.type, b.data, b.metadata], [2, 2, 'Other', [1, 2], {}]);

        const second = await store.append({ streamId: 'order-2', events: [newEvent('c')], expectedVersion: 'any' });
        assert.deepEqual([second.events[0]?.eventNumber, second.events[0]?.streamVersion], [3, 1]);
        assert.equal(second.lastEventNumber, 3);
        const third = await store.append({ streamId: 'order-1', events: [newEvent('d')], expectedVersion: 'any' });
        assert.deepEqual([third.events[0]?.eventNumber, third.events[0]?.streamVersion], [4, 3]);
      });

      it('gives later appends higher numbers, starting at 1', async (t) => {
        const store = await open(t);
        const events = await seed(store, 's', 'e1', 'e2', 'e3', 'e4');
        assert.equal(events[0]?.eventNumber, 1);
        for (let i = 1; i < events.length; i++) assert.ok((events[i] as RecordedEvent).eventNumber > (events[i - 1] as RecordedEvent).eventNumber);
      });

      it('succeeds with nothing to store when given no events', async (t) => {
        const store = await open(t);
        const result = await store.append({ streamId: 's', events: [], expectedVersion: 'any' });
        assert.deepEqual(result, { events: [], duplicates: [], lastEventNumber: 0 });
        assert.equal(await store.headPosition(), 0);
      });

      describe('expectedVersion', () => {
        it('accepts a number equal to the stream version, 0 meaning no stream', async (t) => {
          const store = await open(t);
          await store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 0 });
          await store.append({ streamId: 's', events: [newEvent('b'), newEvent('c')], expectedVersion: 1 });
          const result = await store.append({ streamId: 's', events: [newEvent('d')], expectedVersion: 3 });
          assert.equal(result.events[0]?.streamVersion, 4);
        });

        it('rejects a number that differs from the stream version and appends nothing', async (t) => {
          const store = await open(t);
          await seed(store, 's', 'a', 'b');
          for (const expectedVersion of [0, 1, 3]) {
            await assert.rejects(
              store.append({ streamId: 's', events: [newEvent(`x${expectedVersion}`)], expectedVersion }),
              (error: unknown) => {
                assert.ok(error instanceof WrongExpectedVersionError);
                assert.equal(error.code, 'WRONG_EXPECTED_VERSION');
                assert.deepEqual([error.streamId, error.expectedVersion, error.actualVersion], ['s', expectedVersion, 2]);
                return true;
              },
            );
          }
          assert.equal(await store.headPosition(), 2);
          assert.deepEqual(ids((await store.read({ after: 0, limit: 10, streamId: 's' })).events), ['a', 'b']);
        });

        it("accepts 'no_stream' only for a stream that does not exist", async (t) => {
          const store = await open(t);
          await store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'no_stream' });
          await assert.rejects(
            store.append({ streamId: 's', events: [newEvent('b')], expectedVersion: 'no_stream' }),
            (error: unknown) => error instanceof WrongExpectedVersionError && error.actualVersion === 1 && error.expectedVersion === 'no_stream',
          );
          assert.equal(await store.headPosition(), 1);
        });

        it("accepts 'stream_exists' only for a stream that exists", async (t) => {
          const store = await open(t);
          await assert.rejects(
            store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'stream_exists' }),
            (error: unknown) => error instanceof WrongExpectedVersionError && error.actualVersion === 0,
          );
          assert.equal(await store.headPosition(), 0);
          await seed(store, 's', 'b');
          const result = await store.append({ streamId: 's', events: [newEvent('c')], expectedVersion: 'stream_exists' });
          assert.equal(result.events[0]?.streamVersion, 2);
        });

        it("accepts 'any' whether or not the stream exists", async (t) => {
          const store = await open(t);
          await store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'any' });
          const result = await store.append({ streamId: 's', events: [newEvent('b')], expectedVersion: 'any' });
          assert.equal(result.events[0]?.streamVersion, 2);
        });

        it('rejects an expectedVersion that is not a version or a known condition', async (t) => {
          const store = await open(t);
          for (const expectedVersion of [-1, 1.5, 'latest']) {
            await assert.rejects(
              // @ts-expect-error: deliberately invalid input
              store.append({ streamId: 's', events: [newEvent('a')], expectedVersion }),
              HandlerConfigError,
            );
          }
          assert.equal(await store.headPosition(), 0);
        });
      });

      describe('duplicate event ids', () => {
        it('skips an event whose id is stored and reports it, with the stored number', async (t) => {
          const store = await open(t);
          const [a] = await seed(store, 's', 'a', 'b');
          const result = await store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'any' });
          assert.deepEqual(result, { events: [], duplicates: ['a'], lastEventNumber: a?.eventNumber });
          assert.equal(await store.headPosition(), 2);
        });

        it('treats an id stored in another stream as a duplicate and does not create the stream', async (t) => {
          const store = await open(t);
          await seed(store, 'one', 'a');
          const result = await store.append({ streamId: 'two', events: [newEvent('a')], expectedVersion: 'any' });
          assert.deepEqual(result.duplicates, ['a']);
          assert.deepEqual((await store.read({ after: 0, limit: 10, streamId: 'two' })).events, []);
          const created = await store.append({ streamId: 'two', events: [newEvent('b')], expectedVersion: 'no_stream' });
          assert.equal(created.events[0]?.streamVersion, 1);
        });

        it('lets a retried dispatch succeed although its expectedVersion is now stale', async (t) => {
          const store = await open(t);
          const request = { streamId: 's', events: [newEvent('a'), newEvent('b')], expectedVersion: 0 } as const;
          const first = await store.append(request);
          const retry = await store.append(request);
          assert.deepEqual(retry, { events: [], duplicates: ['a', 'b'], lastEventNumber: first.lastEventNumber });
          assert.equal(await store.headPosition(), 2);
        });

        it('appends the new events of a call that mixes new and stored ones, after the version check', async (t) => {
          const store = await open(t);
          await seed(store, 's', 'a');
          await seed(store, 'other', 'o');
          await assert.rejects(
            store.append({ streamId: 's', events: [newEvent('a'), newEvent('c')], expectedVersion: 0 }),
            WrongExpectedVersionError,
          );
          const result = await store.append({ streamId: 's', events: [newEvent('a'), newEvent('c')], expectedVersion: 1 });
          assert.deepEqual(result.duplicates, ['a']);
          assert.deepEqual(ids(result.events), ['c']);
          assert.deepEqual([result.events[0]?.eventNumber, result.events[0]?.streamVersion], [3, 2]);
          assert.equal(result.lastEventNumber, 3);
        });

        it('reports the highest number of the call when the last event is an older duplicate', async (t) => {
          const store = await open(t);
          await seed(store, 's', 'old');
          const result = await store.append({ streamId: 's', events: [newEvent('new'), newEvent('old')], expectedVersion: 'any' });
          assert.deepEqual(ids(result.events), ['new']);
          assert.deepEqual(result.duplicates, ['old']);
          assert.equal(result.lastEventNumber, result.events[0]?.eventNumber);
        });

        it('rejects an id repeated inside one append and appends nothing', async (t) => {
          const store = await open(t);
          await assert.rejects(
            store.append({ streamId: 's', events: [newEvent('a'), newEvent('b'), newEvent('a')], expectedVersion: 'any' }),
            InvalidEventError,
          );
          assert.equal(await store.headPosition(), 0);
        });
      });

      it('rejects a stream id that is empty or starts with "$" and appends nothing', async (t) => {
        const store = await open(t);
        for (const streamId of ['', '$all', '$other']) {
          await assert.rejects(store.append({ streamId, events: [newEvent('a')], expectedVersion: 'any' }), InvalidEventError);
        }
        assert.equal(await store.headPosition(), 0);
      });

      it('rejects an event without a type or id and appends nothing of the call', async (t) => {
        const store = await open(t);
        const noType = { eventId: 'b', type: '', data: {}, metadata: {} };
        const noId = { eventId: '', type: 'T', data: {}, metadata: {} };
        for (const bad of [noType, noId]) {
          await assert.rejects(store.append({ streamId: 's', events: [newEvent('a'), bad], expectedVersion: 'any' }), InvalidEventError);
        }
        assert.equal(await store.headPosition(), 0);
      });

      describe('under concurrency', () => {
        it("lets exactly one of two concurrent 'no_stream' appends win", async (t) => {
          const store = await open(t);
          const outcomes = await Promise.allSettled([
            store.append({ streamId: 's', events: [newEvent('a')], expectedVersion: 'no_stream' }),
            store.append({ streamId: 's', events: [newEvent('b')], expectedVersion: 'no_stream' }),
          ]);
          const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
          const lost = outcomes.filter((outcome) => outcome.status === 'rejected');
          assert.equal(won.length, 1);
          assert.ok(lost[0]?.status === 'rejected' && lost[0].reason instanceof WrongExpectedVersionError);
          assert.equal(await store.headPosition(), 1);
        });

        it("appends every one of many concurrent 'any' appends to one stream, with distinct versions", async (t) => {
          const store = await open(t);
          const results = await Promise.all(
            Array.from({ length: 10 }, (_, i) => store.append({ streamId: 's', events: [newEvent(`e${i}`)], expectedVersion: 'any' })),
          );
          const versions = results.map((result) => result.events[0]?.streamVersion).sort((x, y) => (x ?? 0) - (y ?? 0));
          assert.deepEqual(versions, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
          const read = await store.read({ after: 0, limit: 100, streamId: 's' });
          assert.deepEqual(read.events.map((event) => event.streamVersion), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        });

        it('stores an id once when two concurrent appends carry it', async (t) => {
          const store = await open(t);
          const [one, two] = await Promise.all([
            store.append({ streamId: 'one', events: [newEvent('same')], expectedVersion: 'any' }),
            store.append({ streamId: 'two', events: [newEvent('same')], expectedVersion: 'any' }),
          ]);
          assert.equal((one?.events.length ?? 0) + (two?.events.length ?? 0), 1);
          assert.deepEqual([...(one?.duplicates ?? []), ...(two?.duplicates ?? [])], ['same']);
          assert.equal(await store.headPosition(), 1);
        });
      });
    });

    describe('read', () => {
      it('returns nothing from an empty log, read through 0', async (t) => {
        const store = await open(t);
        assert.deepEqual(await store.read({ after: 0, limit: 10 }), { events: [], readThrough: 0 });
        assert.deepEqual(await store.read({ after: 0, limit: 10, streamId: 's' }), { events: [], readThrough: 0 });
      });

      it('pages through the log in order, read through the last event of a full page', async (t) => {
        const store = await open(t);
        await seed(store, 'a', 'e1', 'e2');
        await seed(store, 'b', 'e3', 'e4');
        await seed(store, 'a', 'e5');
        const pages: [number[], number][] = [];
        for (let after = 0; ; ) {
          const page = await store.read({ after, limit: 2 });
          pages.push([numbers(page.events), page.readThrough]);
          if (page.events.length === 0) break;
          after = page.readThrough;
        }
        assert.deepEqual(pages, [[[1, 2], 2], [[3, 4], 4], [[5], 5], [[], 5]]);
      });

      it('reads through the last event when the page is exactly full', async (t) => {
        const store = await open(t);
        await seed(store, 's', 'e1', 'e2', 'e3');
        const page = await store.read({ after: 0, limit: 3 });
        assert.deepEqual([numbers(page.events), page.readThrough], [[1, 2, 3], 3]);
      });

      it('returns the same events as the append recorded', async (t) => {
        const store = await open(t);
        const appended = await store.append({
          streamId: 's',
          events: [newEvent('a', { x: [1, { y: 'z' }] }, { correlationId: 'c' }), newEvent('b', 'text'), newEvent('c', null)],
          expectedVersion: 'any',
        });
        const { events } = await store.read({ after: 0, limit: 10 });
        assert.equal(events.length, 3);
        events.forEach((event, i) => {
          const expected = appended.events[i] as RecordedEvent;
          assert.deepEqual({ ...event, createdAt: 0 }, { ...expected, createdAt: 0 });
          assert.equal(event.createdAt.getTime(), expected.createdAt.getTime());
        });
      });

      it('reads from the head as an empty page read through the head', async (t) => {
        const store = await open(t);
        await seed(store, 's', 'e1', 'e2');
        assert.deepEqual(await store.read({ after: 2, limit: 5 }), { events: [], readThrough: 2 });
      });

      it('reads past the head as an empty page that never moves the reader back', async (t) => {
        const store = await open(t);
        await seed(store, 's', 'e1', 'e2');
        assert.deepEqual(await store.read({ after: 10, limit: 5 }), { events: [], readThrough: 10 });
        assert.deepEqual(await store.read({ after: 10, limit: 5, streamId: 's' }), { events: [], readThrough: 10 });
      });

      it("reads one stream's events only, and moves past other streams' events when the page is not full", async (t) => {
        const store = await open(t);
        await seed(store, 'a', 'a1');
        await seed(store, 'b', 'b1');
        await seed(store, 'a', 'a2');
        await seed(store, 'b', 'b2', 'b3');
        const page = await store.read({ after: 0, limit: 10, streamId: 'a' });
        assert.deepEqual(ids(page.events), ['a1', 'a2']);
        assert.deepEqual(page.events.map((event) => event.streamVersion), [1, 2]);
        assert.equal(page.readThrough, 5);
        assert.deepEqual(await store.read({ after: 3, limit: 10, streamId: 'a' }), { events: [], readThrough: 5 });
      });

      it('reads one stream through its last returned event when the page is full', async (t) => {
        const store = await open(t);
        await seed(store, 'a', 'a1');
        await seed(store, 'b', 'b1');
        await seed(store, 'a', 'a2');
        await seed(store, 'b', 'b2');
        const first = await store.read({ after: 0, limit: 1, streamId: 'a' });
        assert.deepEqual([ids(first.events), first.readThrough], [['a1'], 1]);
        const second = await store.read({ after: first.readThrough, limit: 1, streamId: 'a' });
        assert.deepEqual([ids(second.events), second.readThrough], [['a2'], 3]);
        const third = await store.read({ after: second.readThrough, limit: 1, streamId: 'a' });
        assert.deepEqual([ids(third.events), third.readThrough], [[], 4]);
      });

      it('reads a stream nobody wrote as empty, read through the head', async (t) => {
        const store = await open(t);
        await seed(store, 'a', 'a1', 'a2');
        assert.deepEqual(await store.read({ after: 0, limit: 10, streamId: 'nobody' }), { events: [], readThrough: 2 });
      });

      it('rejects a limit that is not a positive integer and an after that is not a non-negative integer', async (t) => {
        const store = await open(t);
        await seed(store, 's', 'e1');
        for (const limit of [0, -1, 1.5, Number.NaN]) await assert.rejects(store.read({ after: 0, limit }), StoreError);
        for (const after of [-1, 0.5, Number.NaN]) await assert.rejects(store.read({ after, limit: 1 }), StoreError);
      });
    });

    describe('headPosition', () => {
      it('is the number of the last stored event, unchanged by duplicates and rejected appends', async (t) => {
        const store = await open(t);
        assert.equal(await store.headPosition(), 0);
        await seed(store, 'a', 'e1');
        await seed(store, 'b', 'e2', 'e3');
        assert.equal(await store.headPosition(), 3);
        await seed(store, 'c', 'e1');
        await assert.rejects(store.append({ streamId: 'a', events: [newEvent('x')], expectedVersion: 5 }));
        assert.equal(await store.headPosition(), 3);
      });
    });

    describe('handlers and cursors', () => {
      const registration = { name: 'P', subscribeTo: '$all', consistency: 'eventual', startFrom: 'origin' } as const;

      it("creates the cursor at the origin for startFrom 'origin'", async (t) => {
        const store = await open(t);
        await seed(store, 's', 'e1', 'e2');
        const record = await store.registerHandler(registration);
        assert.deepEqual(
          { name: record.name, subscribeTo: record.subscribeTo, consistency: record.consistency, initialPosition: record.initialPosition, cursor: record.cursor, slots: record.slots },
          { name: 'P', subscribeTo: '$all', consistency: 'eventual', initialPosition: 0, cursor: { position: 0, acked: [] }, slots: 1 },
        );
        assertRecent(record.updatedAt, 'updatedAt');
      });

      it("creates the cursor at the head for startFrom 'current'", async (t) => {
        const store = await open(t);
        assert.equal((await store.registerHandler({ ...registration, name: 'Empty', startFrom: 'current' })).cursor.position, 0);
        await seed(store, 's', 'e1', 'e2', 'e3');
        const record = await store.registerHandler({ ...registration, startFrom: 'current' });
        assert.deepEqual([record.initialPosition, record.cursor.position], [3, 3]);
      });

      it('creates the cursor at N for startFrom N, even past the head', async (t) => {
        const store = await open(t);
        await seed(store, 's', 'e1');
        const record = await store.registerHandler({ ...registration, startFrom: 7 });
        assert.deepEqual([record.initialPosition, record.cursor.position], [7, 7]);
      });

      it('keeps the cursor and its initial position on a later registration, updating the settings', async (t) => {
        const store = await open(t);
        await store.registerHandler(registration);
        await store.saveCursor('P', { position: 2, acked: [4] });
        await seed(store, 's', 'e1', 'e2', 'e3', 'e4', 'e5');
        const again = await store.registerHandler({ name: 'P', subscribeTo: 'orders', consistency: 'strong', startFrom: 'current' });
        assert.deepEqual(
          { subscribeTo: again.subscribeTo, consistency: again.consistency, initialPosition: again.initialPosition, cursor: again.cursor },
          { subscribeTo: 'orders', consistency: 'strong', initialPosition: 0, cursor: { position: 2, acked: [4] } },
        );
        const loaded = await store.loadHandler('P');
        assert.deepEqual([loaded?.subscribeTo, loaded?.consistency, loaded?.cursor, loaded?.slots], ['orders', 'strong', { position: 2, acked: [4] }, 1]);
      });

      it('rejects a registration with a bad name, consistency or startFrom', async (t) => {
        const store = await open(t);
        const bad = [
          { ...registration, name: '' },
          { ...registration, consistency: 'sometimes' },
          { ...registration, startFrom: -1 },
          { ...registration, startFrom: 2.5 },
          { ...registration, startFrom: 'later' },
        ];
        for (const entry of bad) {
          // @ts-expect-error: deliberately invalid input
          await assert.rejects(store.registerHandler(entry), HandlerConfigError);
        }
        assert.deepEqual(await store.listHandlers(), []);
      });

      it('loads nothing for a handler never registered', async (t) => {
        const store = await open(t);
        assert.equal(await store.loadHandler('nobody'), undefined);
      });

      it('lists every registered handler', async (t) => {
        const store = await open(t);
        assert.deepEqual(await store.listHandlers(), []);
        await store.registerHandler({ ...registration, name: 'B' });
        await store.registerHandler({ ...registration, name: 'A', subscribeTo: 'orders', consistency: 'strong' });
        const listed = (await store.listHandlers()).sort((x, y) => x.name.localeCompare(y.name));
        assert.deepEqual(
          listed.map((record) => [record.name, record.subscribeTo, record.consistency]),
          [['A', 'orders', 'strong'], ['B', '$all', 'eventual']],
        );
      });

      it('persists a saved cursor with its early acknowledgements', async (t) => {
        const store = await open(t);
        await store.registerHandler(registration);
        await store.saveCursor('P', { position: 5, acked: [7, 9] });
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 5, acked: [7, 9] });
        await store.saveCursor('P', { position: 9, acked: [] });
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 9, acked: [] });
      });

      it('refuses to save the cursor of an unknown handler, or a malformed cursor', async (t) => {
        const store = await open(t);
        await assert.rejects(store.saveCursor('nobody', { position: 1, acked: [] }), StoreError);
        await store.registerHandler(registration);
        await assert.rejects(store.saveCursor('P', { position: -1, acked: [] }), StoreError);
        await assert.rejects(store.saveCursor('P', { position: 1.5, acked: [] }), StoreError);
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 0, acked: [] });
      });

      it('resets the cursor to where startFrom first put it, with nothing acknowledged', async (t) => {
        const store = await open(t);
        await seed(store, 's', 'e1', 'e2');
        await store.registerHandler({ ...registration, startFrom: 'current' });
        await seed(store, 's', 'e3', 'e4');
        await store.saveCursor('P', { position: 3, acked: [4] });
        const reset = await store.resetCursor('P');
        assert.deepEqual([reset.initialPosition, reset.cursor], [2, { position: 2, acked: [] }]);
        assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 2, acked: [] });
      });

      it('refuses to reset an unknown handler', async (t) => {
        const store = await open(t);
        await assert.rejects(store.resetCursor('nobody'), StoreError);
      });
    });

    describe('dead letters', () => {
      async function deadLetterFor(store: EventStore, handlerName: string, eventId: string): Promise<NewDeadLetter> {
        const [event] = await seed(store, 's', eventId);
        assert.ok(event);
        return { handlerName, event, error: { message: `failed ${eventId}`, stack: `Error: failed ${eventId}\n    at here` }, attempts: 3 };
      }

      it('records a skipped event with an id and a time, and gets it back by id', async (t) => {
        const store = await open(t);
        const input = await deadLetterFor(store, 'P', 'e1');
        const added = await store.addDeadLetter(input);
        assert.ok(typeof added.id === 'string' && added.id.length > 0);
        assertRecent(added.deadAt, 'deadAt');
        assert.deepEqual([added.handlerName, added.error, added.attempts], ['P', input.error, 3]);
        assert.deepEqual({ ...added.event, createdAt: 0 }, { ...input.event, createdAt: 0 });
        assert.equal(added.event.createdAt.getTime(), input.event.createdAt.getTime());
        const got = await store.getDeadLetter(added.id);
        assert.ok(got);
        assert.deepEqual({ ...got, deadAt: 0, event: { ...got.event, createdAt: 0 } }, { ...added, deadAt: 0, event: { ...added.event, createdAt: 0 } });
        assert.equal(got.deadAt.getTime(), added.deadAt.getTime());
      });

      it('keeps an error without a stack as one without a stack', async (t) => {
        const store = await open(t);
        const input = await deadLetterFor(store, 'P', 'e1');
        const added = await store.addDeadLetter({ ...input, error: { message: 'no stack' } });
        assert.equal((await store.getDeadLetter(added.id))?.error.stack, undefined);
        assert.equal((await store.getDeadLetter(added.id))?.error.message, 'no stack');
      });

      it('lists dead letters oldest first, optionally of one handler', async (t) => {
        const store = await open(t);
        const first = await store.addDeadLetter(await deadLetterFor(store, 'A', 'e1'));
        const second = await store.addDeadLetter(await deadLetterFor(store, 'B', 'e2'));
        const third = await store.addDeadLetter(await deadLetterFor(store, 'A', 'e3'));
        assert.deepEqual((await store.listDeadLetters()).map((entry) => entry.id), [first.id, second.id, third.id]);
        assert.deepEqual((await store.listDeadLetters({ handlerName: 'A' })).map((entry) => entry.id), [first.id, third.id]);
        assert.deepEqual((await store.listDeadLetters({ handlerName: 'B' })).map((entry) => entry.event.eventId), ['e2']);
        assert.deepEqual(await store.listDeadLetters({ handlerName: 'nobody' }), []);
        assert.deepEqual((await store.listDeadLetters({ handlerName: undefined })).length, 3);
      });

      it('gets nothing for an unknown id', async (t) => {
        const store = await open(t);
        assert.equal(await store.getDeadLetter('01ARZ3NDEKTSV4RRFFQ69G5FAV'), undefined);
      });

      it('removes a dead letter once, then reports there is none', async (t) => {
        const store = await open(t);
        const added = await store.addDeadLetter(await deadLetterFor(store, 'P', 'e1'));
        assert.equal(await store.removeDeadLetter(added.id), true);
        assert.equal(await store.removeDeadLetter(added.id), false);
        assert.equal(await store.getDeadLetter(added.id), undefined);
        assert.deepEqual(await store.listDeadLetters(), []);
      });

      it('prunes the dead letters recorded before a date and counts them', async (t) => {
        const store = await open(t);
        await store.addDeadLetter(await deadLetterFor(store, 'A', 'e1'));
        await store.addDeadLetter(await deadLetterFor(store, 'B', 'e2'));
        assert.equal(await store.pruneDeadLetters(new Date(Date.now() - 3_600_000)), 0);
        assert.equal((await store.listDeadLetters()).length, 2);
        assert.equal(await store.pruneDeadLetters(new Date(Date.now() + 3_600_000)), 2);
        assert.deepEqual(await store.listDeadLetters(), []);
        assert.equal(await store.pruneDeadLetters(new Date(Date.now() + 3_600_000)), 0);
      });
    });

    describe('notifications', () => {
      it('tells append listeners that events were stored', async (t) => {
        const store = await open(t);
        let calls = 0;
        const unsubscribe = store.onAppend(() => calls++);
        t.after(unsubscribe);
        await seed(store, 's', 'e1');
        await waitFor(() => calls > 0, 'an append notification');
      });

      it('stops calling a listener once it unsubscribed', async (t) => {
        const store = await open(t);
        let before = 0;
        let after = 0;
        const unsubscribe = store.onAppend(() => before++);
        await seed(store, 's', 'e1');
        await waitFor(() => before > 0, 'the first notification');
        unsubscribe();
        const seen = before;
        const stillListening = store.onAppend(() => after++);
        t.after(stillListening);
        await seed(store, 's', 'e2');
        await waitFor(() => after > 0, 'the second notification');
        assert.equal(before, seen);
      });

      it('keeps working when a listener throws', async (t) => {
        const store = await open(t);
        let calls = 0;
        const offThrowing = store.onAppend(() => {
          throw new Error('listener failure');
        });
        const offCursorThrowing = store.onCursorSaved(() => {
          throw new Error('listener failure');
        });
        const offCounting = store.onAppend(() => calls++);
        t.after(() => [offThrowing, offCursorThrowing, offCounting].forEach((off) => off()));
        await seed(store, 's', 'e1');
        await waitFor(() => calls > 0, 'the other listener');
        await store.registerHandler({ name: 'P', subscribeTo: '$all', consistency: 'eventual', startFrom: 'origin' });
        await store.saveCursor('P', { position: 1, acked: [] });
        await seed(store, 's', 'e2');
        assert.equal(await store.headPosition(), 2);
        await waitFor(() => calls > 1, 'a later notification');
      });

      it('tells cursor listeners which handler saved which position, until they unsubscribe', async (t) => {
        const store = await open(t);
        const seen: [string, number][] = [];
        const later: [string, number][] = [];
        const unsubscribe = store.onCursorSaved((name, position) => seen.push([name, position]));
        await store.registerHandler({ name: 'P', subscribeTo: '$all', consistency: 'eventual', startFrom: 'origin' });
        await store.saveCursor('P', { position: 4, acked: [6] });
        await waitFor(() => seen.some(([name, position]) => name === 'P' && position === 4), 'the cursor notification');
        unsubscribe();
        const count = seen.length;
        const stillListening = store.onCursorSaved((name, position) => later.push([name, position]));
        t.after(stillListening);
        await store.saveCursor('P', { position: 8, acked: [] });
        await waitFor(() => later.some(([, position]) => position === 8), 'the later cursor notification');
        assert.equal(seen.length, count);
      });
    });

    describe('close', () => {
      it('closes idempotently and stops notifying listeners', async (t) => {
        const store = await open(t);
        let notified = 0;
        store.onAppend(() => notified++);
        await store.close();
        await store.close();
        if (store.kind === 'memory') {
          // The in-memory store keeps its data after close (a database outliving an app): it still appends.
          await seed(store, 's', 'e1');
          await new Promise((resolve) => setTimeout(resolve, 20));
          assert.equal(notified, 0);
        }
      });

      it('rejects every call with a StoreError once closed, when it owns its connections', async (t) => {
        const store = await open(t);
        if (store.kind === 'memory') return t.skip('the in-memory store has no connections to close');
        const [recorded] = await seed(store, 's', 'e1');
        assert.ok(recorded);
        await store.close();
        const calls: [string, () => Promise<unknown>][] = [
          ['migrate', () => store.migrate()],
          ['append', () => store.append({ streamId: 's', events: [newEvent('e2')], expectedVersion: 'any' })],
          ['read', () => store.read({ after: 0, limit: 10 })],
          ['headPosition', () => store.headPosition()],
          ['registerHandler', () => store.registerHandler({ name: 'P', subscribeTo: '$all', consistency: 'eventual', startFrom: 'origin' })],
          ['loadHandler', () => store.loadHandler('P')],
          ['listHandlers', () => store.listHandlers()],
          ['saveCursor', () => store.saveCursor('P', { position: 1, acked: [] })],
          ['resetCursor', () => store.resetCursor('P')],
          ['addDeadLetter', () => store.addDeadLetter({ handlerName: 'P', event: recorded, error: { message: 'x' }, attempts: 1 })],
          ['listDeadLetters', () => store.listDeadLetters()],
          ['getDeadLetter', () => store.getDeadLetter('x')],
          ['removeDeadLetter', () => store.removeDeadLetter('x')],
          ['pruneDeadLetters', () => store.pruneDeadLetters(new Date())],
        ];
        for (const [name, call] of calls) {
          await assert.rejects(call(), (error: unknown) => error instanceof StoreError && error instanceof HeraldError, `${name} after close`);
        }
      });
    });
  });
}
