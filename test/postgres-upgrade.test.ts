/**
 * Upgrading a log written by migration 3's code (post-commit numbering: `append_numbered`, `append_events`,
 * `sequence_batches`) to the newest migrations: every number is kept, a batch left unnumbered before the upgrade
 * is numbered before anything appended after it, and new appends continue gapless. Real server, fresh schema.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import type { Sql } from 'postgres';
import { WrongExpectedVersionError } from '../src/errors.ts';
import type { NewEvent, RecordedEvent } from '../src/events/types.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { migrations } from '../src/store/postgres/migrations/index.ts';
import { applyMigration, ensureMigrationsTable, lockMigrations } from '../src/store/postgres/sql/migrations.ts';
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

const eventJson = (id: string): string => JSON.stringify([{ id, type: 'Old', data: { id }, metadata: {} }]);
const event = (eventId: string): NewEvent => ({ eventId, type: 'New', data: { eventId }, metadata: {} });

/** Applies migrations 1 to 3 only, as a store of that time did. */
async function migrateToThree(schema: string): Promise<void> {
  await sql.begin(async (tx) => {
    await lockMigrations(tx, schema);
    await ensureMigrationsTable(tx, schema);
    for (const migration of migrations.filter((m) => m.version <= 3)) await applyMigration(tx, schema, migration);
  });
}

/** One append the way migration 3's store made it outside a transaction: stored, committed, then numbered. */
async function oldAppend(schema: string, stream: string, id: string): Promise<void> {
  await sql`call ${sql(schema)}.append_numbered(${stream}::text, 'any'::text, 0::bigint, ${eventJson(id)}::text::jsonb, 1000::integer, 'c'::text)`;
}

/** An outbox append of that time: committed with the caller's transaction, left for the sequencer. */
async function oldOutboxAppend(schema: string, stream: string, id: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select * from ${tx(schema)}.append_events(${stream}::text, 'any'::text, 0::bigint, ${eventJson(id)}::text::jsonb, 'c'::text)`;
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
