/**
 * Upgrading a log written by migration 3's code (post-commit numbering: `append_numbered`, `append_events`,
 * `sequence_batches`) to the newest migrations (7 moves the number onto the event row): every number is kept, a
 * batch left unnumbered before the upgrade is numbered before anything appended after it on its stream, and new
 * appends continue gapless. Real server, fresh schema, built with `migrate(sql, schema, 3)`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import type { Sql } from 'postgres';
import { WrongExpectedVersionError } from '../src/errors.ts';
import type { NewEvent, RecordedEvent } from '../src/events/types.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { migrations } from '../src/store/postgres/migrations/index.ts';
import { migrate } from '../src/store/postgres/migrate.ts';
import { freshSchema, startPostgres } from './support/postgres.ts';
import type { TestPostgres } from './support/postgres.ts';

let server: TestPostgres;
let sql: Sql;

before(async () => {
  server = await startPostgres();
  sql = postgres(server.url, { max: 12, onnotice: () => {} });
});

after(async () => {
  await sql.end();
  await server.stop();
});

const eventJson = (...ids: string[]): string => JSON.stringify(ids.map((id) => ({ id, type: id.startsWith('ob') ? 'OldOutbox' : 'Old', data: { id }, metadata: {} })));
const event = (eventId: string): NewEvent => ({ eventId, type: 'New', data: { eventId }, metadata: {} });

/** Applies migrations 1 to 3 only, as a store of that time did. */
async function migrateToThree(schema: string): Promise<void> {
  await migrate(sql, schema, 3);
  const applied = await sql<{ version: number }[]>`select version from ${sql(schema)}.migrations order by version`;
  assert.deepEqual(applied.map((row) => row.version), [1, 2, 3]);
}

/** One append the way migration 3's store made it outside a transaction: stored, committed, then numbered. */
async function oldAppend(schema: string, stream: string, ...ids: string[]): Promise<void> {
  await sql`call ${sql(schema)}.append_numbered(${stream}::text, 'any'::text, 0::bigint, ${eventJson(...ids)}::text::jsonb, 1000::integer, 'c'::text)`;
}

/** An outbox append of that time: committed with the caller's transaction, left for the sequencer. */
async function oldOutboxAppend(schema: string, stream: string, id: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select * from ${tx(schema)}.append_events(${stream}::text, 'any'::text, 0::bigint, ${eventJson(id)}::text::jsonb, 'c'::text)`;
    await tx`select pg_sleep(0.002)`; // the caller's own work, while others commit around it
  });
}

/** Every event of the log with its number, through the store's own read. */
async function readAll(store: ReturnType<typeof postgresStore>): Promise<RecordedEvent[]> {
  const all: RecordedEvent[] = [];
  for (let after = 0; ; ) {
    const page = await store.read({ after, limit: 7 });
    all.push(...page.events);
    if (page.events.length === 0) return all;
    after = page.readThrough;
  }
}

describe('PostgreSQL upgrade from migration 3', () => {
  it('keeps the number of every event written by concurrent writers and outbox transactions, and continues gapless', async () => {
    const schema = await freshSchema(sql);
    await migrateToThree(schema);
    // Six writers at once on five streams: appends of one and of three events, and outbox transactions whose
    // batches the writers' sequencer runs number after they commit.
    await Promise.all(
      Array.from({ length: 6 }, async (_, writer) => {
        for (let i = 0; i < 8; i++) {
          const stream = `w${(writer + i) % 5}`;
          if (i % 4 === 3) await oldOutboxAppend(schema, stream, `ob-${writer}-${i}`);
          else if (i % 2 === 0) await oldAppend(schema, stream, `old-${writer}-${i}`);
          else await oldAppend(schema, stream, `old-${writer}-${i}a`, `old-${writer}-${i}b`, `old-${writer}-${i}c`);
        }
      }),
    );
    await sql`select * from ${sql(schema)}.sequence_batches(1000, '{}', 'c')`;
    await oldOutboxAppend(schema, 'w2', 'ob-pending'); // committed, left unnumbered across the upgrade
    const before = await sql<{ event_id: string; event_number: string; stream_id: string; stream_version: string }[]>`
      select event_id, event_number, stream_id, stream_version from ${sql(schema)}.numbered_events order by event_number`;
    const total = 6 * (4 + 2 * 3 + 2); // per writer: 4 single appends, 2 of three events, 2 outbox events
    assert.equal(before.length, total);
    assert.deepEqual(before.map((row) => Number(row.event_number)), Array.from({ length: total }, (_, i) => i + 1));

    const store = postgresStore({ sql, schema });
    await store.migrate();
    const applied = await sql<{ version: number }[]>`select version from ${sql(schema)}.migrations order by version`;
    assert.deepEqual(applied.map((row) => row.version), migrations.map((m) => m.version));

    // Every number kept on the event row, and as the store reads them: the whole log, each stream, each type.
    const stored = await sql<{ event_id: string; event_number: string | null }[]>`
      select event_id, event_number from ${sql(schema)}.events order by event_number nulls last, event_id`;
    assert.deepEqual(stored.map((row) => [row.event_id, row.event_number === null ? null : Number(row.event_number)]), [
      ...before.map((row) => [row.event_id, Number(row.event_number)]),
      ['ob-pending', null],
    ]);
    const oldNumbers = new Map(before.map((row) => [row.event_id, Number(row.event_number)]));
    for (const stream of ['w0', 'w1', 'w2', 'w3', 'w4']) {
      const page = await store.read({ after: 0, limit: 1000, streamId: stream });
      const wanted = before.filter((row) => row.stream_id === stream);
      const kept = page.events.filter((e) => oldNumbers.has(e.eventId));
      assert.deepEqual(kept.map((e) => [e.eventId, e.eventNumber, e.streamVersion]), wanted.map((row) => [row.event_id, Number(row.event_number), Number(row.stream_version)]));
    }
    const outboxPage = await store.read({ after: 0, limit: 1000, types: ['OldOutbox'] });
    assert.deepEqual(outboxPage.events.filter((e) => oldNumbers.has(e.eventId)).map((e) => [e.eventId, e.eventNumber]), before.filter((row) => row.event_id.startsWith('ob')).map((row) => [row.event_id, Number(row.event_number)]));

    // New appends from concurrent writers (single events, grouped by the store), one outbox append, one with an
    // expectation; w2's pending outbox batch is numbered before anything appended after it on w2.
    const results = await Promise.all([
      ...Array.from({ length: 24 }, (_, i) => store.append({ streamId: `w${i % 6}`, events: [event(`new-${i}`)], expectedVersion: 'any' })),
      sql.begin((tx) => store.append({ streamId: 'w4', events: [event('new-outbox')], expectedVersion: 'any', transaction: tx })),
      store.append({ streamId: 'n', events: [event('n-1'), event('n-2')], expectedVersion: 'no_stream' }),
    ]);
    const w1Version = (await store.read({ after: 0, limit: 1000, streamId: 'w1' })).events.length;
    const expected = await store.append({ streamId: 'w1', events: [event('w1-next')], expectedVersion: w1Version });
    await assert.rejects(store.append({ streamId: 'w1', events: [event('w1-stale')], expectedVersion: w1Version }), WrongExpectedVersionError);
    await store.headPosition(); // numbers the outbox batch if no run has yet

    const all = await readAll(store);
    assert.equal(all.length, total + 1 + 24 + 1 + 2 + 1);
    assert.deepEqual(all.map((e) => e.eventNumber), Array.from({ length: all.length }, (_, i) => i + 1));
    assert.equal(new Set(all.map((e) => e.eventId)).size, all.length);
    for (const e of all.slice(0, total)) assert.equal(e.eventNumber, oldNumbers.get(e.eventId), `number of ${e.eventId}`);
    // The first read after the upgrade numbered the batch left pending, next after the old log.
    assert.deepEqual([all[total]?.eventId, all[total]?.eventNumber], ['ob-pending', total + 1]);
    const read = new Map(all.map((e) => [e.eventId, e.eventNumber]));
    for (const e of [...results, expected].flatMap((r) => r.events)) {
      if (e.eventId !== 'new-outbox') assert.equal(read.get(e.eventId), e.eventNumber, `number returned for ${e.eventId}`);
    }
    for (const stream of ['w0', 'w1', 'w2', 'w3', 'w4', 'w5', 'n']) {
      const versions = all.filter((e) => e.streamId === stream).map((e) => e.streamVersion);
      assert.deepEqual(versions, Array.from({ length: versions.length }, (_, i) => i + 1), `versions of ${stream} in number order`);
    }
    assert.equal(await store.headPosition(), all.length);
  });

  it('keeps every number of a migration-3 log and continues gapless, numbering a pending outbox batch first', async () => {
    const schema = await freshSchema(sql);
    await migrateToThree(schema);
    // Concurrent old appends over a few streams, a sequencer run, then one outbox batch left unnumbered.
    await Promise.all(Array.from({ length: 30 }, (_, i) => oldAppend(schema, `s${i % 4}`, `old-${i}`)));
    await sql`select * from ${sql(schema)}.sequence_batches(1000, '{}', 'c')`;
    await oldOutboxAppend(schema, 's0', 'pending-outbox');
    const before = await sql<{ event_id: string; event_number: string }[]>`
      select event_id, event_number from ${sql(schema)}.numbered_events order by event_number`;
    assert.equal(before.length, 30);
    assert.deepEqual(before.map((row) => Number(row.event_number)), Array.from({ length: 30 }, (_, i) => i + 1));

    const store = postgresStore({ sql, schema });
    await store.migrate();
    const applied = await sql<{ version: number }[]>`select version from ${sql(schema)}.migrations order by version`;
    assert.deepEqual(applied.map((row) => row.version), migrations.map((m) => m.version));
    // A reader still running pre-7 code would read the head from sequencer.last_number and the events through
    // batches, which new appends no longer write: its read fails instead of skipping new events.
    await assert.rejects(sql`select last_number from ${sql(schema)}.sequencer`, /column "last_number" does not exist/);

    // The numbers given before the upgrade are kept, as the new code reads them.
    const kept = await readAll(store);
    assert.deepEqual(kept.slice(0, 30).map((e) => [e.eventId, e.eventNumber]), before.map((row) => [row.event_id, Number(row.event_number)]));

    // New appends, concurrent, one of them on a stream with an expectation; the pending outbox batch comes first.
    const s1Version = (await store.read({ after: 0, limit: 100, streamId: 's1' })).events.length;
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => store.append({ streamId: `s${i % 5}`, events: [event(`new-${i}`)], expectedVersion: 'any' })),
      store.append({ streamId: 'n', events: [event('n-1'), event('n-2')], expectedVersion: 'no_stream' }),
    ]);
    const expectedOnS1 = await store.append({ streamId: 's1', events: [event('s1-next')], expectedVersion: s1Version + 4 });
    await assert.rejects(store.append({ streamId: 's1', events: [event('s1-stale')], expectedVersion: s1Version }), WrongExpectedVersionError);

    const all = await readAll(store);
    assert.equal(all.length, 30 + 1 + 22 + 1);
    assert.deepEqual(all.map((e) => e.eventNumber), Array.from({ length: all.length }, (_, i) => i + 1));
    assert.equal(new Set(all.map((e) => e.eventId)).size, all.length);
    assert.deepEqual([all[30]?.eventId, all[30]?.eventNumber], ['pending-outbox', 31]);
    const returned = [...results, expectedOnS1].flatMap((r) => r.events.map((e) => [e.eventId, e.eventNumber]));
    const read = new Map(all.map((e) => [e.eventId, e.eventNumber]));
    for (const [id, number] of returned) assert.equal(read.get(id as string), number, `number returned for ${String(id)}`);
    // Each stream's versions stay in number order, across the upgrade.
    for (const stream of ['s0', 's1', 's2', 's3', 's4', 'n']) {
      const versions = all.filter((e) => e.streamId === stream).map((e) => e.streamVersion);
      assert.deepEqual(versions, Array.from({ length: versions.length }, (_, i) => i + 1), `versions of ${stream}`);
    }
    assert.equal(await store.headPosition(), all.length);
  });

  it('lets a process still on migration 3 code append beside upgraded ones, numbers staying gapless', async () => {
    const schema = await freshSchema(sql);
    await migrateToThree(schema);
    await oldAppend(schema, 'a', 'old-0');
    const store = postgresStore({ sql, schema });
    await store.migrate();
    await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        i % 3 === 0 ? oldAppend(schema, `x${i % 4}`, `old-${i + 1}`) : store.append({ streamId: `x${i % 4}`, events: [event(`new-${i}`)], expectedVersion: 'any' }),
      ),
    );
    await oldOutboxAppend(schema, 'x1', 'old-outbox');
    await store.append({ streamId: 'x1', events: [event('after-outbox')], expectedVersion: 'any' });
    const all = await readAll(store);
    assert.equal(all.length, 1 + 24 + 2);
    assert.deepEqual(all.map((e) => e.eventNumber), Array.from({ length: all.length }, (_, i) => i + 1));
    const x1 = all.filter((e) => e.streamId === 'x1').map((e) => e.streamVersion);
    assert.deepEqual(x1, Array.from({ length: x1.length }, (_, i) => i + 1));
  });
});
