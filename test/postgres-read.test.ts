/** Reads on PostgreSQL come back as one JSON array per event: values must survive that unchanged. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';
import type { RecordedEvent } from '../src/events/types.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';

let pg: TestPostgres;
let sql: Sql;

before(async () => {
  pg = await startPostgres();
  sql = postgres(pg.url, { max: 3, onnotice: () => {} });
});
after(async () => {
  await sql?.end();
  await pg?.stop();
});

describe('reading events from PostgreSQL', () => {
  it('returns awkward strings, numbers, nesting and timestamps exactly as appended', async () => {
    const store = postgresStore({ sql, schema: await freshSchema(sql) });
    await store.migrate();
    const awkward = `quote " backslash \\ tab \t newline \n unicode é 漢字 emoji 🎉 nul-free`;
    const data = { awkward, big: 9007199254740991, negative: -1.5e-7, nested: [{ a: [null, true, false] }], empty: {} };
    const appended = await store.append({
      streamId: `stream ${awkward}`,
      events: [
        { eventId: `id ${awkward}`, type: `Type ${awkward}`, data, metadata: { by: awkward } },
        { eventId: 'plain', type: 'T', data: 'a string', metadata: {} },
        { eventId: 'null', type: 'T', data: null, metadata: {} },
      ],
      expectedVersion: 'any',
    });
    const { events } = await store.read({ after: 0, limit: 10 });
    assert.equal(events.length, 3);
    events.forEach((event: RecordedEvent, i) => {
      const expected = appended.events[i] as RecordedEvent;
      assert.deepEqual({ ...event, createdAt: 0 }, { ...expected, createdAt: 0 });
      assert.ok(event.createdAt instanceof Date);
      assert.equal(event.createdAt.getTime(), expected.createdAt.getTime());
    });
    await store.close();
  });

  it('reads one stream’s events only, in order, across other streams’ appends', async () => {
    const store = postgresStore({ sql, schema: await freshSchema(sql) });
    await store.migrate();
    for (let i = 0; i < 6; i++) {
      await store.append({ streamId: i % 2 === 0 ? 'even' : 'odd', events: [{ eventId: `e${i}`, type: 'T', data: { i }, metadata: {} }], expectedVersion: 'any' });
    }
    const page = await store.read({ after: 0, limit: 10, streamId: 'odd' });
    assert.deepEqual(page.events.map((e) => [e.eventNumber, e.streamVersion, e.data]), [[2, 1, { i: 1 }], [4, 2, { i: 3 }], [6, 3, { i: 5 }]]);
    assert.equal(page.readThrough, 6);
    await store.close();
  });
});
