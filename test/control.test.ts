import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { createApp, defineHandler, skip, type App } from '../src/index.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { startFixture, type WorkerProcess } from './support/processes.ts';
import { waitFor } from './support/wait.ts';

/**
 * `app.reset` and `app.replayDeadLetter` called in this process for a handler that also runs in another real process
 * (test/fixtures/ops-node.ts): carried out by both, through control requests.
 */
let pg: TestPostgres;
let sql: Sql;

before(async () => {
  pg = await startPostgres();
  sql = postgres(pg.url, { max: 4, onnotice: () => {} });
});
after(async () => {
  await sql?.end();
  await pg?.stop();
});

describe('app.reset and app.replayDeadLetter across processes', () => {
  it('replays in the process owning the slot and resets in both, running beforeReset once', async () => {
    const schema = await freshSchema(sql);
    const s = sql(schema);
    const store = postgresStore({ url: pg.url, schema });
    await store.migrate();
    await sql`create table ${s}.effects (id bigserial primary key, event_number bigint, node text)`;
    await sql`create table ${s}.resets (id bigserial primary key, node text)`;
    await sql`create table ${s}.fixed (one int)`;
    const other: WorkerProcess = startFixture('ops-node.ts', pg.url, schema, 'other');
    // The same handler as the fixture's, run here too.
    const counter = defineHandler({
      name: 'Counter',
      slots: 4,
      concurrency: 2,
      partitionBy: (event) => event.streamId,
      async handle(event) {
        if ((event.data as { poison?: boolean }).poison === true && (await sql`select 1 from ${s}.fixed`).length === 0) throw new Error('poison');
        await sql`insert into ${s}.effects (event_number, node) values (${event.eventNumber}, 'here')`;
      },
      async beforeReset() {
        await sql`insert into ${s}.resets (node) values ('here')`;
        await sql`delete from ${s}.effects`;
      },
      error: () => skip(),
    });
    const app: App = createApp({ store, name: 'here', node: { label: 'here', leaseMs: 2000, heartbeatMs: 500 }, flushAfterMs: 50, pollMs: 200 });
    try {
      await other.ready;
      await app.start([counter]);
      await waitFor(async () => (await sql`select distinct owner_label from ${s}.handler_slots where lease_until > now()`).length === 2, 'both processes holding slots');
      for (let i = 0; i < 16; i++) await app.dispatch(`k-${i}`, { type: 'Tick', data: { poison: i % 5 === 0 } });
      await waitFor(async () => (await sql`select 1 from ${s}.dead_letters`).length === 4 && (await sql`select 1 from ${s}.effects`).length === 12, 'twelve effects, four dead letters');
      await sql`insert into ${s}.fixed values (1)`;

      const letters = await app.deadLetters();
      const handledBy = new Set<string>();
      for (const letter of letters) {
        assert.equal(await app.replayDeadLetter(letter.id), 'handled');
        const [row] = await sql<{ node: string }[]>`select node from ${s}.effects where event_number = ${letter.event.eventNumber}`;
        handledBy.add(row?.node ?? '?');
      }
      assert.deepEqual(await app.deadLetters(), []);
      assert.deepEqual([...handledBy].sort(), ['here', 'other'], 'each replay ran where the slot is owned (both processes own some)');

      await app.reset('Counter');
      assert.equal((await sql`select 1 from ${s}.resets`).length, 1, 'beforeReset ran once');
      await waitFor(async () => (await sql`select distinct event_number from ${s}.effects`).length === 16, 'every event handled again');
      assert.equal((await sql`select event_number from ${s}.effects group by event_number having count(*) > 1`).length, 0);
      await waitFor(async () => (await sql`select distinct owner_label from ${s}.handler_slots where lease_until > now()`).length === 2, 'both processes running it again');
    } finally {
      await app.stop();
      other.child.kill('SIGTERM');
      await other.exited;
    }
  });
});
