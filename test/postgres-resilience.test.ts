import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { createApp, defineHandler, postgresStore, StoreError } from '../src/index.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { waitFor } from './support/wait.ts';

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

/**
 * Dispatches `total` events with fixed ids, retrying a batch on StoreError (the ids make retries idempotent),
 * while `disrupt` runs against the server. Returns the ids dispatched.
 */
async function writeThrough(app: ReturnType<typeof createApp>, total: number, disrupt: () => Promise<void>): Promise<void> {
  const writing = (async () => {
    for (let i = 0; i < total; i += 20) {
      const events = Array.from({ length: 20 }, (_, j) => ({ type: 'E', data: { i: i + j }, eventId: `e-${i + j}` }));
      for (let attempt = 0; ; attempt++) {
        try {
          await app.dispatch(`s-${i % 5}`, events);
          break;
        } catch (error) {
          if (!(error instanceof StoreError) || attempt > 200) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    }
  })();
  await disrupt();
  await writing;
}

async function effectsComplete(sql: Sql, schema: string, table: string, total: number): Promise<boolean> {
  const [row] = await sql<{ n: string }[]>`select count(distinct i) as n from ${sql(schema)}.${sql(table)}`.catch(() => [{ n: '0' }]);
  return Number(row?.n) === total;
}

describe('herald through connection loss', () => {
  for (const [label, disrupt] of [
    ['pg_terminate_backend on every herald connection, repeatedly', async (schema: string) => {
      for (let round = 0; round < 8; round++) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        await admin`select pg_terminate_backend(pid) from pg_stat_activity
                    where pid <> pg_backend_pid() and datname = current_database() and application_name = ${`herald-${schema}`}`;
      }
    }],
    ['a PostgreSQL restart (pg_ctl restart -m immediate)', async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await pg.restart();
    }],
  ] as const) {
    it(`handlers resume by themselves and lose nothing through ${label}`, async (t) => {
      if (pg.external) return t.skip('needs a server this test may restart');
      const schema = await freshSchema(admin);
      const total = 2_000;
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
      await writeThrough(app, total, () => disrupt(schema));
      await waitFor(async () => (await effectsComplete(admin, schema, 'plain', total)) && (await effectsComplete(admin, schema, 'tx', total)), 'every event handled', 60_000);
      const [dupes] = await admin<{ n: string }[]>`select count(*) - count(distinct i) as n from ${admin(schema)}.tx`;
      assert.equal(Number(dupes?.n), 0, 'the transactional handler has exactly-once effects');
      await app.stop();
      await sql.end({ timeout: 1 });
    });
  }
});
