import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { createApp, defineHandler, postgresStore } from '../src/index.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { waitFor } from './support/wait.ts';
import { writeThrough } from './support/write-through.ts';

let pg: TestPostgres;
let admin: Sql;

before(async () => {
  pg = await startPostgres();
  admin = postgres(pg.url, { max: 2, onnotice: () => {} });
});
after(async () => {
  await admin?.end({ timeout: 1 }).catch(() => {});
  await pg?.stop();
});

/** Rounds of each disruption; `HERALD_RESILIENCE_KILL_ROUNDS` / `HERALD_RESILIENCE_RESTART_ROUNDS` raise them for measurements. */
const killRounds = Number(process.env['HERALD_RESILIENCE_KILL_ROUNDS'] ?? 8);
const restartRounds = Number(process.env['HERALD_RESILIENCE_RESTART_ROUNDS'] ?? 1);

async function distinctEffects(sql: Sql, schema: string, table: string): Promise<number> {
  const [row] = await sql<{ n: string }[]>`select count(distinct i) as n from ${sql(schema)}.${sql(table)}`.catch(() => [{ n: '0' }]);
  return Number(row?.n);
}

describe('herald through connection loss', () => {
  for (const [label, disrupt] of [
    [`pg_terminate_backend on every herald connection, ${killRounds} times`, async (schema: string) => {
      for (let round = 0; round < killRounds; round++) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        await admin`select pg_terminate_backend(pid) from pg_stat_activity
                    where pid <> pg_backend_pid() and datname = current_database() and application_name = ${`herald-${schema}`}`;
      }
    }],
    [`${restartRounds} PostgreSQL restart(s) (pg_ctl restart -m immediate)`, async () => {
      for (let round = 0; round < restartRounds; round++) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await pg.restart();
      }
    }],
  ] as const) {
    it(`handlers resume by themselves and lose nothing through ${label}`, async (t) => {
      if (pg.external) return t.skip('needs a server this test may restart');
      const schema = await freshSchema(admin);
      const sql = postgres(pg.url, { max: 6, onnotice: () => {}, connection: { application_name: `herald-${schema}` } });
      const store = postgresStore({ sql, schema });
      await store.migrate();
      await sql`create table ${sql(schema)}.plain (i int)`;
      await sql`create table ${sql(schema)}.tx (i int)`;
      const app = createApp({ store, pollMs: 200, flushAfterMs: 100 });
      await app.start(
        [
          defineHandler({
            name: 'Plain',
            async handle(event) {
              await sql`insert into ${sql(schema)}.plain values (${(event.data as { i: number }).i})`;
            },
            error: (_err, _event, failure) => ({ action: 'retry', delayMs: Math.min(50 * failure.attempt, 500), context: {} }),
          }),
          defineHandler({
            name: 'Tx',
            transactional: true,
            async handle(event, ctx) {
              const tx = ctx.sql!;
              await tx`insert into ${tx(schema)}.tx values (${(event.data as { i: number }).i})`;
            },
          }),
        ],
        { maxRestarts: 1_000, withinMs: 1_000 },
      );
      const total = await writeThrough(app, { minimum: 2_000, streams: 5 }, () => disrupt(schema));
      const complete = async (): Promise<boolean> =>
        (await distinctEffects(admin, schema, 'plain')) === total && (await distinctEffects(admin, schema, 'tx')) === total;
      await waitFor(complete, 'every event handled', 60_000).catch(() => undefined);
      const [row] = await admin<{ dupes: string; lostPlain: string; lostTx: string }[]>`
        select (select count(*) - count(distinct i) from ${admin(schema)}.tx) as dupes,
               ${total}::int - (select count(distinct i) from ${admin(schema)}.plain) as "lostPlain",
               ${total}::int - (select count(distinct i) from ${admin(schema)}.tx) as "lostTx"`;
      const outcome = { events: total, lostPlain: Number(row?.lostPlain), lostTx: Number(row?.lostTx), txDuplicates: Number(row?.dupes) };
      t.diagnostic(JSON.stringify(outcome));
      assert.deepEqual(outcome, { events: total, lostPlain: 0, lostTx: 0, txDuplicates: 0 }, 'every event handled, the transactional handler exactly once');
      await app.stop();
      await sql.end({ timeout: 1 });
    });
  }
});
