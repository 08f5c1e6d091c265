/**
 * Gap safety of the PostgreSQL store under many concurrent writers (HARD-PARTS §1): a reader that moves
 * its cursor to each page's `readThrough` sees every event exactly once, numbers gapless and increasing,
 * also when some writers keep their transaction open so that commit order differs from insert order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import type { Sql } from 'postgres';
import type { NewEvent } from '../src/events/types.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import type { PostgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres } from './support/postgres.ts';
import type { TestPostgres } from './support/postgres.ts';

let server: TestPostgres;
let sql: Sql;

before(async () => {
  server = await startPostgres();
  sql = postgres(server.url, { max: 30, onnotice: () => {} });
});

after(async () => {
  await sql.end();
  await server.stop();
});

async function openStore(): Promise<PostgresStore> {
  const store = postgresStore({ sql, schema: await freshSchema(sql) });
  await store.migrate();
  return store;
}

function batchOf(writer: number, first: number, size: number): NewEvent[] {
  return Array.from({ length: size }, (_, i) => ({ eventId: `w${writer}-${first + i}`, type: 'Written', data: { writer, n: first + i }, metadata: {} }));
}

interface WriteLoad {
  readonly writers: number;
  readonly total: number;
  /** Writers with an index below this append in a caller's transaction held open for `holdMs` before commit. */
  readonly slowWriters: number;
  readonly holdMs: number;
}

/** Runs the writers until `total` events are appended; resolves with the number appended. */
async function write(store: PostgresStore, load: WriteLoad): Promise<number> {
  let claimed = 0;
  async function writer(index: number): Promise<void> {
    let n = 0;
    for (;;) {
      const size = Math.min(1 + Math.floor(Math.random() * 50), load.total - claimed);
      if (size <= 0) return;
      claimed += size;
      const events = batchOf(index, n, size);
      n += size;
      const streamId = `stream-${index}-${Math.floor(Math.random() * 4)}`;
      if (index < load.slowWriters) {
        await sql.begin(async (tx) => {
          await store.append({ streamId, events, expectedVersion: 'any', transaction: tx });
          await sleep(load.holdMs);
        });
      } else {
        await store.append({ streamId, events, expectedVersion: 'any' });
      }
    }
  }
  await Promise.all(Array.from({ length: load.writers }, (_, i) => writer(i)));
  return claimed;
}

/**
 * Reads `after` the last `readThrough` in pages of 1,000 until `expected()` events were seen, checking
 * that each page continues exactly where the previous one ended.
 */
async function readAll(store: PostgresStore, expected: () => number | undefined): Promise<string[]> {
  const seen: string[] = [];
  let position = 0;
  for (;;) {
    const page = await store.read({ after: position, limit: 1000 });
    page.events.forEach((event, i) => assert.equal(event.eventNumber, position + i + 1, 'numbers continue without a gap'));
    seen.push(...page.events.map((event) => event.eventId));
    assert.ok(page.readThrough >= position, 'readThrough never moves back');
    if (page.events.length > 0) assert.equal(page.readThrough, Math.max(position + page.events.length, page.readThrough));
    position = page.readThrough;
    const total = expected();
    if (total !== undefined && seen.length >= total) return seen;
    if (page.events.length === 0) await sleep(1);
  }
}

async function storedIds(store: PostgresStore): Promise<string[]> {
  const rows = await sql<{ event_id: string }[]>`select event_id from ${sql(store.schema)}.events`;
  return rows.map((row) => row.event_id);
}

describe('PostgreSQL gap safety', () => {
  it('lets a reader see every event of 16 concurrent writers exactly once, in gapless order', async () => {
    const store = await openStore();
    let total: number | undefined;
    const writing = write(store, { writers: 16, total: 50_000, slowWriters: 0, holdMs: 0 }).then((n) => (total = n));
    const [seen] = await Promise.all([readAll(store, () => total), writing]);
    assert.equal(seen.length, 50_000);
    assert.equal(new Set(seen).size, seen.length, 'no event seen twice');
    assert.deepEqual(new Set(seen), new Set(await storedIds(store)));
    assert.equal(await store.headPosition(), 50_000);
  });

  it('never skips the events of transactions that commit after later-inserted ones, where a naive reader does', async (t) => {
    const store = await openStore();
    const schema = sql(store.schema);
    let done = false;
    const naiveSeen = new Set<number>();
    // The trap (HARD-PARTS §1): a reader of `id > cursor` on an insert-time serial, moving its cursor to the highest
    // id it saw, while transactions holding lower ids are still open. herald's events have no such serial (appends
    // outside a transaction number themselves, outbox ones get a `batches` row): this test gives them one.
    await sql`alter table ${schema}.events add column naive_id bigserial`;
    const naive = (async () => {
      let cursor = 0;
      while (!done) {
        const rows = await sql<{ id: string }[]>`select naive_id as id from ${schema}.events where naive_id > ${cursor} order by naive_id limit 1000`;
        for (const row of rows) naiveSeen.add(Number(row.id));
        cursor = Math.max(cursor, ...rows.map((row) => Number(row.id)));
        await sleep(1);
      }
    })();
    let total: number | undefined;
    const writing = write(store, { writers: 16, total: 20_000, slowWriters: 4, holdMs: 50 }).then((n) => (total = n));
    const [seen] = await Promise.all([readAll(store, () => total), writing]);
    done = true;
    await naive;

    assert.equal(seen.length, 20_000);
    assert.equal(new Set(seen).size, seen.length, 'no event seen twice');
    assert.deepEqual(new Set(seen), new Set(await storedIds(store)));
    const naiveIds = (await sql<{ id: string }[]>`select naive_id as id from ${schema}.events`).map((row) => Number(row.id));
    const skippedByNaive = naiveIds.filter((id) => !naiveSeen.has(id));
    t.diagnostic(`a naive reader on the insert id skipped ${skippedByNaive.length} of ${naiveIds.length} committed events`);
    assert.ok(skippedByNaive.length > 0, 'the naive reader skipped committed events: commit order really differed from insert order');
  });
});
