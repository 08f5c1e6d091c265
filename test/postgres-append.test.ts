/** PostgreSQL-specific guarantees of append and migrate under concurrency (real server, fresh schema per test). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import type { Sql } from 'postgres';
import { WrongExpectedVersionError } from '../src/errors.ts';
import type { NewEvent } from '../src/events/types.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { migrations } from '../src/store/postgres/migrations/index.ts';
import type { PostgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres } from './support/postgres.ts';
import type { TestPostgres } from './support/postgres.ts';
import { deferred, waitFor } from './support/wait.ts';

let server: TestPostgres;
let sql: Sql;

before(async () => {
  server = await startPostgres();
  sql = postgres(server.url, { max: 25, onnotice: () => {} });
});

after(async () => {
  await sql.end();
  await server.stop();
});

const event = (eventId: string): NewEvent => ({ eventId, type: 'Tested', data: { eventId }, metadata: {} });

async function openStore(schema?: string): Promise<PostgresStore> {
  const store = postgresStore({ sql, schema: schema ?? (await freshSchema(sql)) });
  await store.migrate();
  return store;
}

describe('PostgreSQL migrate', () => {
  it('migrates one fresh schema from two processes at once, applying each migration once', async () => {
    const schema = await freshSchema(sql);
    const other = postgres(server.url, { max: 2, onnotice: () => {} });
    try {
      const a = postgresStore({ sql, schema });
      const b = postgresStore({ sql: other, schema });
      await Promise.all([a.migrate(), b.migrate(), a.migrate(), b.migrate()]);
      const rows = await sql<{ version: number }[]>`select version from ${sql(schema)}.migrations`;
      assert.deepEqual(rows.map((row) => row.version), migrations.map((migration) => migration.version));
      const appended = await b.append({ streamId: 's', events: [event('e1')], expectedVersion: 'any' });
      assert.equal(appended.lastEventNumber, 1);
      assert.equal(await a.headPosition(), 1);
    } finally {
      await other.end();
    }
  });

  it('reports a failing migration as a StoreError and leaves nothing half-applied', async () => {
    const schema = await freshSchema(sql);
    await sql`create schema ${sql(schema)}`;
    await sql`create table ${sql(schema)}.events (clash integer)`;
    const store = postgresStore({ sql, schema });
    await assert.rejects(store.migrate(), (error: unknown) => error instanceof Error && (error as { code?: string }).code === 'STORE');
    const [row] = await sql<{ tables: string }[]>`select count(*)::text as tables from pg_tables where schemaname = ${schema}`;
    assert.equal(row?.tables, '1');
  });
});

describe('PostgreSQL append under concurrency', () => {
  it('lets exactly one of 20 concurrent appends expecting the same version win', async () => {
    const store = await openStore();
    await store.append({ streamId: 's', events: [event('first')], expectedVersion: 'no_stream' });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.append({ streamId: 's', events: [event(`e${i}`)], expectedVersion: 1 })),
    );
    const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const lost = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 19);
    for (const { reason } of lost) {
      assert.ok(reason instanceof WrongExpectedVersionError);
      assert.equal(reason.actualVersion, 2);
    }
    const page = await store.read({ after: 0, limit: 100, streamId: 's' });
    assert.deepEqual(page.events.map((e) => e.streamVersion), [1, 2]);
  });

  it('stores each id once when many concurrent appends carry overlapping ids, reporting the rest as duplicates', async () => {
    const store = await openStore();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        store.append({ streamId: `s${i % 3}`, events: [event(`own-${i}`), event('x1'), event(`x${2 + (i % 2)}`)], expectedVersion: 'any' }),
      ),
    );
    const appended = results.flatMap((result) => result.events.map((e) => e.eventId));
    const duplicates = results.flatMap((result) => result.duplicates);
    assert.equal(new Set(appended).size, appended.length, 'no id appended twice');
    assert.deepEqual(new Set(appended), new Set([...Array.from({ length: 12 }, (_, i) => `own-${i}`), 'x1', 'x2', 'x3']));
    assert.equal(duplicates.length, 12 * 3 - appended.length);
    const [row] = await sql<{ n: string }[]>`select count(*)::text as n from ${sql(store.schema)}.events`;
    assert.equal(row?.n, String(appended.length));
    for (const stream of ['s0', 's1', 's2']) {
      const versions = (await store.read({ after: 0, limit: 100, streamId: stream })).events.map((e) => e.streamVersion);
      assert.deepEqual(versions, versions.map((_, i) => i + 1), `stream ${stream} has no version holes`);
    }
  });

  it('closes the version hole left by an id that a concurrent transaction stored first', async () => {
    const store = await openStore();
    const held = deferred();
    const stored = deferred();
    const open = sql.begin(async (tx) => {
      await store.append({ streamId: 'one', events: [event('X')], expectedVersion: 'any', transaction: tx });
      stored.resolve();
      await held.promise;
    });
    await stored.promise;
    const racing = store.append({ streamId: 'two', events: [event('Y'), event('X'), event('Z')], expectedVersion: 'no_stream' });
    try {
      await waitFor(async () => {
        const [row] = await sql<{ waiting: number }[]>`
          select count(*)::int as waiting from pg_stat_activity where wait_event_type = 'Lock' and (query like '%append_events%' or query like '%append_numbered%' or query like '%append_group%')`;
        return (row?.waiting ?? 0) > 0;
      }, 'the racing append to wait for the open transaction');
    } finally {
      held.resolve();
      await open;
    }
    const result = await racing;
    assert.deepEqual(result.duplicates, ['X']);
    assert.deepEqual(result.events.map((e) => [e.eventId, e.streamVersion]), [['Y', 1], ['Z', 2]]);
    const page = await store.read({ after: 0, limit: 10, streamId: 'two' });
    assert.deepEqual(page.events.map((e) => [e.eventId, e.streamVersion]), [['Y', 1], ['Z', 2]]);
    const next = await store.append({ streamId: 'two', events: [event('W')], expectedVersion: 2 });
    assert.equal(next.events[0]?.streamVersion, 3);
    const numbers = (await store.read({ after: 0, limit: 10 })).events.map((e) => e.eventNumber);
    assert.deepEqual(numbers, [1, 2, 3, 4]);
  });

  it('returns each concurrent append its own consecutive numbers, all distinct and gapless together', async () => {
    const store = await openStore();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        store.append({ streamId: `s${i % 5}`, events: [event(`a${i}`), event(`b${i}`)], expectedVersion: 'any' }),
      ),
    );
    const numbers = results.flatMap((result) => result.events.map((e) => e.eventNumber)).sort((x, y) => x - y);
    assert.deepEqual(numbers, Array.from({ length: 60 }, (_, i) => i + 1));
    for (const result of results) {
      assert.equal(result.events[1]?.eventNumber, (result.events[0]?.eventNumber ?? 0) + 1);
      assert.equal(result.lastEventNumber, result.events[1]?.eventNumber);
    }
    const page = await store.read({ after: 0, limit: 100 });
    const byId = new Map(page.events.map((e) => [e.eventId, e.eventNumber]));
    for (const result of results) for (const e of result.events) assert.equal(byId.get(e.eventId), e.eventNumber);
  });

  it('rejects data PostgreSQL cannot store as an invalid event and appends nothing', async () => {
    const store = await openStore();
    await assert.rejects(
      store.append({ streamId: 's', events: [event('ok'), { eventId: 'nul', type: 'T', data: { text: 'a\u0000b' }, metadata: {} }], expectedVersion: 'any' }),
      (error: unknown) => (error as { code?: string }).code === 'INVALID_EVENT',
    );
    await assert.rejects(
      store.append({ streamId: 's', events: [{ eventId: 'big', type: 'T', data: { n: 1n }, metadata: {} }], expectedVersion: 'any' }),
      (error: unknown) => (error as { code?: string }).code === 'INVALID_EVENT',
    );
    assert.equal(await store.headPosition(), 0);
  });
});

describe('PostgreSQL reads', () => {
  it('pages through the middle of large appends, for the log and for one stream', async () => {
    const store = await openStore();
    await store.append({ streamId: 'a', events: Array.from({ length: 7 }, (_, i) => event(`a${i}`)), expectedVersion: 'any' });
    await store.append({ streamId: 'b', events: Array.from({ length: 5 }, (_, i) => event(`b${i}`)), expectedVersion: 'any' });
    await store.append({ streamId: 'a', events: Array.from({ length: 4 }, (_, i) => event(`a${7 + i}`)), expectedVersion: 'any' });
    const pages: number[][] = [];
    for (let position = 0; ; ) {
      const page = await store.read({ after: position, limit: 3 });
      if (page.events.length === 0) break;
      pages.push(page.events.map((e) => e.eventNumber));
      position = page.readThrough;
    }
    assert.deepEqual(pages.flat(), Array.from({ length: 16 }, (_, i) => i + 1));
    assert.deepEqual(pages.map((page) => page.length), [3, 3, 3, 3, 3, 1]);
    const streamPages: string[][] = [];
    for (let position = 0; ; ) {
      const page = await store.read({ after: position, limit: 4, streamId: 'a' });
      if (page.events.length === 0) break;
      streamPages.push(page.events.map((e) => `${e.eventId}@${e.eventNumber}`));
      position = page.readThrough;
    }
    assert.deepEqual(streamPages, [
      ['a0@1', 'a1@2', 'a2@3', 'a3@4'],
      ['a4@5', 'a5@6', 'a6@7', 'a7@13'],
      ['a8@14', 'a9@15', 'a10@16'],
    ]);
    const fromMiddle = await store.read({ after: 9, limit: 10, streamId: 'b' });
    assert.deepEqual([fromMiddle.events.map((e) => e.eventId), fromMiddle.readThrough], [['b2', 'b3', 'b4'], 16]);
  });
});

describe('PostgreSQL append numbering', () => {
  it('numbers appends in a schema whose name needs quoting', async () => {
    const store = await openStore(`Herald "quoted" ${await freshSchema(sql)}`);
    try {
      const first = await store.append({ streamId: 's', events: [event('a'), event('b')], expectedVersion: 'any' });
      const second = await store.append({ streamId: 's', events: [event('c')], expectedVersion: 2 });
      assert.deepEqual([...first.events, ...second.events].map((e) => e.eventNumber), [1, 2, 3]);
      assert.equal((await store.read({ after: 0, limit: 10 })).readThrough, 3);
    } finally {
      await sql`drop schema ${sql(store.schema)} cascade`;
    }
  });

  it('checks each expectation of concurrent appends on its own, whatever appends they are grouped with', async () => {
    const store = await openStore();
    await store.append({ streamId: 'old', events: [event('old-1'), event('old-2')], expectedVersion: 'any' });
    const calls: { streamId: string; expectedVersion: 'any' | 'no_stream' | 'stream_exists' | number; ok: boolean }[] = [
      { streamId: 'a0', expectedVersion: 'any', ok: true },
      { streamId: 'old', expectedVersion: 2, ok: true },
      { streamId: 'n0', expectedVersion: 'no_stream', ok: true },
      { streamId: 'n1', expectedVersion: 0, ok: true },
      { streamId: 'm0', expectedVersion: 'stream_exists', ok: false }, // missing stream
      { streamId: 'm1', expectedVersion: 3, ok: false }, // missing stream
      { streamId: 'a1', expectedVersion: 'any', ok: true },
    ];
    // Twice the same stream with a stale expectation for the second: one succeeds, one fails.
    const settled = await Promise.allSettled([
      ...calls.map((c, i) => store.append({ streamId: c.streamId, events: [event(`e${i}`)], expectedVersion: c.expectedVersion })),
      store.append({ streamId: 'a0', events: [event('late')], expectedVersion: 'no_stream' }),
    ]);
    calls.forEach((c, i) => {
      const outcome = settled[i];
      if (c.ok) assert.equal(outcome?.status, 'fulfilled', `${c.streamId} appended`);
      else assert.ok(outcome?.status === 'rejected' && outcome.reason instanceof WrongExpectedVersionError, `${c.streamId} rejected`);
    });
    const late = settled[calls.length];
    assert.ok(late?.status === 'rejected' && late.reason instanceof WrongExpectedVersionError, 'the second append to a0 sees the stream');
    const page = await store.read({ after: 0, limit: 100 });
    assert.deepEqual(page.events.map((e) => e.eventNumber), Array.from({ length: 2 + 5 }, (_, i) => i + 1));
    const returned = settled.flatMap((o) => (o.status === 'fulfilled' ? o.value.events : []));
    for (const e of returned) assert.equal(page.events.find((r) => r.eventId === e.eventId)?.eventNumber, e.eventNumber);
    for (const stream of ['m0', 'm1']) {
      const rows = await sql`select 1 from ${sql(store.schema)}.streams where stream_id = ${stream}`;
      assert.equal(rows.length, 0, `no stream row left for ${stream}`);
    }
  });

  it('numbers an append queued behind more committed batches than one sequencer run takes', async () => {
    const store = postgresStore({ sql, schema: await freshSchema(sql), sequencerBatchSize: 2 });
    await store.migrate();
    for (const id of ['o1', 'o2', 'o3']) {
      await sql.begin((tx) => store.append({ streamId: id, events: [event(id)], expectedVersion: 'any', transaction: tx }));
    }
    // The stream's previous event awaits its number: the append numbers every committed batch first (two runs).
    const result = await store.append({ streamId: 'o3', events: [event('x'), event('y')], expectedVersion: 'any' });
    assert.deepEqual([result.events.map((e) => e.eventNumber), result.lastEventNumber], [[4, 5], 5]);
    const page = await store.read({ after: 0, limit: 10 });
    assert.deepEqual(page.events.map((e) => `${e.eventId}@${e.eventNumber}`), ['o1@1', 'o2@2', 'o3@3', 'x@4', 'y@5']);
  });

  it('numbers an append at once while outbox batches of other streams await the sequencer; they follow it', async () => {
    const store = await openStore();
    await sql.begin((tx) => store.append({ streamId: 'outbox', events: [event('o1')], expectedVersion: 'any', transaction: tx }));
    const result = await store.append({ streamId: 's', events: [event('x')], expectedVersion: 'any' });
    const page = await store.read({ after: 0, limit: 10 });
    const numbers = new Map(page.events.map((e) => [e.eventId, e.eventNumber]));
    assert.equal(numbers.get('x'), result.lastEventNumber);
    assert.deepEqual([...numbers.values()].sort(), [1, 2]);
    assert.equal(page.readThrough, 2);
  });

  it('answers a read at once while an append waits for the sequencer row, and numbers everything once free', async () => {
    const store = await openStore();
    await store.append({ streamId: 's', events: [event('before')], expectedVersion: 'any' });
    const held = deferred();
    const locked = deferred();
    const lock = sql.begin(async (tx) => {
      await tx`select head from ${tx(store.schema)}.sequencer for update`;
      locked.resolve();
      await held.promise;
    });
    await locked.promise;
    let appending: Promise<unknown> | undefined;
    try {
      appending = store.append({ streamId: 's', events: [event('held')], expectedVersion: 'any' });
      await waitFor(async () => {
        const [row] = await sql<{ waiting: number }[]>`
          select count(*)::int as waiting from pg_stat_activity where wait_event_type = 'Lock' and query like '%append_group%'`;
        return (row?.waiting ?? 0) > 0;
      }, 'the append to wait for the sequencer row');
      // The bound only keeps a regression (a read waiting for the held lock) from hanging the run.
      let read: Awaited<ReturnType<typeof store.read>> | undefined;
      void store.read({ after: 0, limit: 10 }).then((page) => (read = page));
      await waitFor(() => read !== undefined, 'the read to return while the sequencer row is locked');
      assert.deepEqual([read?.events.map((e) => e.eventId), read?.readThrough], [['before'], 1]);
      await sql.begin((tx) => store.append({ streamId: 'outbox', events: [event('outbox')], expectedVersion: 'any', transaction: tx }));
    } finally {
      held.resolve();
      await lock;
    }
    await appending;
    const page = await store.read({ after: 1, limit: 10 });
    assert.deepEqual([page.events.map((e) => e.eventId).sort(), page.events.map((e) => e.eventNumber), page.readThrough], [['held', 'outbox'], [2, 3], 3]);
  });
});
