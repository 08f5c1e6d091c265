/** Transactional handlers on PostgreSQL: savepoints only for events that use `ctx.sql`, each event's writes on its own. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { manualClock } from '../src/clock.ts';
import { createApp, defineHandler, retry, skip, type RecordedEvent } from '../src/index.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { waitFor } from './support/wait.ts';

let pg: TestPostgres;
let sql: Sql;

before(async () => {
  pg = await startPostgres();
  sql = postgres(pg.url, { max: 5, onnotice: () => {} });
});
after(async () => {
  await sql?.end();
  await pg?.stop();
});

describe('transactional handlers with savepoints taken on first use of ctx.sql', () => {
  it('keeps every event’s writes apart: a retried write, a failed query and dead letters next to events that never write', async () => {
    const schema = await freshSchema(sql);
    const store = postgresStore({ url: pg.url, schema });
    await store.migrate();
    await sql`create table ${sql(schema)}.projection (id int primary key, event_number bigint, attempt int)`;
    const attempts = new Map<number, number>();
    // A clock that stands still keeps all twelve events in one transaction (a batch also ends after 50 ms).
    const app = createApp({ store, clock: manualClock() });
    await app.start([
      defineHandler({
        name: 'Tx',
        transactional: true,
        handle(event: RecordedEvent, ctx) {
          const n = event.eventNumber;
          const attempt = (attempts.get(n) ?? 0) + 1;
          attempts.set(n, attempt);
          if (n % 3 === 0) return undefined; // never touches ctx.sql
          if (n % 3 === 2) {
            if (n === 5) throw new Error('fails without writing');
            return undefined;
          }
          const tx = ctx.sql!;
          return (async () => {
            if (n === 7) {
              // A query that fails (duplicate key): caught here, it still fails the event, whose savepoint rolls back.
              await tx`insert into ${tx(schema)}.projection values (${n}, ${n}, ${attempt})`;
              await tx`insert into ${tx(schema)}.projection values (${n}, ${n}, ${attempt})`.catch(() => undefined);
              return;
            }
            await tx`insert into ${tx(schema)}.projection values (${n}, ${n}, ${attempt})`;
            if (n === 4 && attempt === 1) throw new Error('fails after writing');
          })();
        },
        error: (_error, event) => (event.eventNumber === 4 ? retry() : skip()),
      }),
    ]);
    try {
      await app.dispatch('s', Array.from({ length: 12 }, (_, i) => ({ type: 'E', data: { i } })));
      await waitFor(async () => (await store.loadHandler('Tx'))?.cursor.position === 12, 'cursor committed');
      const rows = await sql<{ id: number; attempt: number }[]>`select id, attempt from ${sql(schema)}.projection order by id`;
      assert.deepEqual(rows.map((r) => [r.id, r.attempt]), [[1, 1], [4, 2], [10, 1]]);
      const dead = await app.deadLetters({ handler: 'Tx' });
      assert.deepEqual(dead.map((d) => d.event.eventNumber).sort((a, b) => a - b), [5, 7]);
      assert.equal(attempts.get(4), 2);
    } finally {
      await app.stop();
    }
  });
});
