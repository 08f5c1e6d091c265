/**
 * Appends inside a caller's transaction (outbox) and `store.transaction` (transactional handlers) on the
 * PostgreSQL store: what becomes readable when, and what never does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import type { Sql } from 'postgres';
import type { NewEvent, RecordedEvent } from '../src/events/types.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import type { PostgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres } from './support/postgres.ts';
import type { TestPostgres } from './support/postgres.ts';
import { deferred, waitFor } from './support/wait.ts';

let server: TestPostgres;
let sql: Sql;

before(async () => {
  server = await startPostgres();
  sql = postgres(server.url, { max: 10, onnotice: () => {} });
});

after(async () => {
  await sql.end();
  await server.stop();
});

const event = (eventId: string): NewEvent => ({ eventId, type: 'Tested', data: { eventId }, metadata: {} });
const ids = (events: readonly RecordedEvent[]): string[] => events.map((e) => e.eventId);

async function openStore(options: { schema?: string; sequencerBatchSize?: number } = {}): Promise<PostgresStore> {
  const store = postgresStore({ sql, schema: options.schema ?? (await freshSchema(sql)), sequencerBatchSize: options.sequencerBatchSize });
  await store.migrate();
  return store;
}

async function unnumbered(store: PostgresStore): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(store.schema)}.batches where last_number is null`;
  return row?.n ?? -1;
}

describe('PostgreSQL outbox appends', () => {
  it('never lets a reader see events of a transaction that rolled back', async () => {
    const store = await openStore();
    await assert.rejects(
      sql.begin(async (tx) => {
        await store.append({ streamId: 's', events: [event('a'), event('b')], expectedVersion: 'any', transaction: tx });
        throw new Error('business rule failed');
      }),
      /business rule failed/,
    );
    assert.deepEqual(await store.read({ after: 0, limit: 10 }), { events: [], readThrough: 0 });
    assert.equal(await store.headPosition(), 0);
    const later = await store.append({ streamId: 's', events: [event('a')], expectedVersion: 'no_stream' });
    assert.deepEqual([later.duplicates, later.events[0]?.eventNumber], [[], 1]);
  });

  it('returns versions but no numbers yet, and numbers the events once a read finds them committed', async () => {
    const store = await openStore();
    const result = await sql.begin((tx) =>
      store.append({ streamId: 's', events: [event('a'), event('b')], expectedVersion: 'no_stream', transaction: tx }),
    );
    assert.deepEqual(result.events.map((e) => [e.eventId, e.streamVersion, e.eventNumber]), [['a', 1, 0], ['b', 2, 0]]);
    assert.equal(result.lastEventNumber, 0);
    const page = await store.read({ after: 0, limit: 10 });
    assert.deepEqual(page.events.map((e) => [e.eventId, e.eventNumber, e.streamVersion]), [['a', 1, 1], ['b', 2, 2]]);
    assert.equal(page.readThrough, 2);
    assert.equal(await unnumbered(store), 0);
  });

  it('numbers committed outbox events in bounded sequencer runs until none remain', async () => {
    const store = await openStore({ sequencerBatchSize: 2 });
    for (let i = 0; i < 5; i++) {
      await sql.begin((tx) => store.append({ streamId: `s${i}`, events: [event(`e${i}`)], expectedVersion: 'any', transaction: tx }));
    }
    assert.equal(await unnumbered(store), 5);
    assert.equal(await store.headPosition(), 5);
    assert.deepEqual(ids((await store.read({ after: 0, limit: 10 })).events), ['e0', 'e1', 'e2', 'e3', 'e4']);
  });

  it('has a listening store number committed outbox events and wake its append listeners, without any read', async () => {
    const store = await openStore();
    const other = postgres(server.url, { max: 2, onnotice: () => {} });
    const listening = postgresStore({ sql: other, schema: store.schema });
    try {
      let wakeUps = 0;
      listening.onAppend(() => wakeUps++);
      await waitFor(() => wakeUps > 0, 'the LISTEN to be in place (it wakes listeners once)');
      const before = wakeUps;
      await sql.begin((tx) => store.append({ streamId: 's', events: [event('a')], expectedVersion: 'any', transaction: tx }));
      await waitFor(async () => wakeUps > before && (await unnumbered(store)) === 0, 'the listener to sequence and wake up');
    } finally {
      await listening.close();
      await other.end();
    }
  });

  it('does not hold back other writers or readers while an outbox transaction stays open', async () => {
    const store = await openStore();
    const held = deferred();
    const appended = deferred();
    const open = sql.begin(async (tx) => {
      await store.append({ streamId: 'slow', events: [event('slow')], expectedVersion: 'any', transaction: tx });
      appended.resolve();
      await held.promise;
    });
    try {
      await appended.promise;
      const fast = await store.append({ streamId: 'fast', events: [event('f1'), event('f2')], expectedVersion: 'any' });
      assert.deepEqual(fast.events.map((e) => e.eventNumber), [1, 2]);
      const page = await store.read({ after: 0, limit: 10 });
      assert.deepEqual([ids(page.events), page.readThrough], [['f1', 'f2'], 2]);
    } finally {
      held.resolve();
      await open;
    }
    const page = await store.read({ after: 2, limit: 10 });
    assert.deepEqual(page.events.map((e) => [e.eventId, e.eventNumber]), [['slow', 3]]);
  });

  it('reports ids stored before as duplicates inside a transaction too, with their numbers', async () => {
    const store = await openStore();
    await store.append({ streamId: 's', events: [event('a')], expectedVersion: 'any' });
    const result = await sql.begin((tx) => store.append({ streamId: 's', events: [event('a')], expectedVersion: 'any', transaction: tx }));
    assert.deepEqual(result, { events: [], duplicates: ['a'], lastEventNumber: 1 });
  });
});

describe('PostgreSQL store transactions', () => {
  const registration = { name: 'P', subscribeTo: '$all', consistency: 'eventual', startFrom: 'origin' } as const;

  it('commits a handler write, a cursor and a dead letter together', async () => {
    const store = await openStore();
    const [recorded] = (await store.append({ streamId: 's', events: [event('a')], expectedVersion: 'any' })).events;
    assert.ok(recorded);
    await store.registerHandler(registration);
    await sql`create table ${sql(store.schema)}.projection (id text primary key)`;
    const value = await store.transaction(async (tx) => {
      await tx.sql`insert into ${tx.sql(store.schema)}.projection values ('a')`;
      await tx.saveCursor('P', { position: 1, acked: [] });
      await tx.addDeadLetter({ handlerName: 'P', event: recorded, error: { message: 'skipped' }, attempts: 1 });
      return 42;
    });
    assert.equal(value, 42);
    assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 1, acked: [] });
    assert.equal((await store.listDeadLetters()).length, 1);
    assert.equal((await sql`select * from ${sql(store.schema)}.projection`).length, 1);
  });

  it('rolls back the writes, the cursor and the dead letter when the work fails, rethrowing its error', async () => {
    const store = await openStore();
    const [recorded] = (await store.append({ streamId: 's', events: [event('a')], expectedVersion: 'any' })).events;
    assert.ok(recorded);
    await store.registerHandler(registration);
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.saveCursor('P', { position: 1, acked: [] });
        await tx.addDeadLetter({ handlerName: 'P', event: recorded, error: { message: 'skipped' }, attempts: 1 });
        throw new Error('handler crashed');
      }),
      /handler crashed/,
    );
    assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 0, acked: [] });
    assert.deepEqual(await store.listDeadLetters(), []);
  });

  it('rolls back only the failing savepoint, and tells cursor listeners once the transaction commits', async () => {
    const store = await openStore();
    await store.registerHandler(registration);
    await sql`create table ${sql(store.schema)}.projection (id text primary key)`;
    const saved: [string, number][] = [];
    const off = store.onCursorSaved((name, position) => saved.push([name, position]));
    try {
      await store.transaction(async (tx) => {
        await tx.savepoint((sp) => sp`insert into ${sp(store.schema)}.projection values ('kept')`);
        await assert.rejects(
          tx.savepoint(async (sp) => {
            await sp`insert into ${sp(store.schema)}.projection values ('undone')`;
            throw new Error('this event failed');
          }),
          /this event failed/,
        );
        assert.equal(await tx.savepoint(async () => 'value'), 'value');
        await tx.saveCursor('P', { position: 3, acked: [5] });
      });
      const rows = await sql<{ id: string }[]>`select id from ${sql(store.schema)}.projection`;
      assert.deepEqual(rows.map((row) => row.id), ['kept']);
      await waitFor(() => saved.some(([name, position]) => name === 'P' && position === 3), 'the cursor notification');
    } finally {
      off();
    }
  });

  it('reports a transaction that fails to commit as a StoreError', async () => {
    const store = await openStore();
    await sql`create table ${sql(store.schema)}.deferred (id integer unique deferrable initially deferred)`;
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.sql`insert into ${tx.sql(store.schema)}.deferred values (1), (1)`;
      }),
      (error: unknown) => (error as { code?: string }).code === 'STORE' && (error as Error).cause instanceof Error,
    );
  });

  it('refuses to save the cursor of an unknown handler inside a transaction', async () => {
    const store = await openStore();
    await assert.rejects(
      store.transaction((tx) => tx.saveCursor('nobody', { position: 1, acked: [] })),
      (error: unknown) => (error as { code?: string }).code === 'STORE',
    );
  });
});
