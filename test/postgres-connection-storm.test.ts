/**
 * A connection storm (every herald connection killed with pg_terminate_backend, round after round) while a
 * plain handler and a transactional one (concurrency 4, partitionBy) run at the default restart intensity:
 * a transactional batch whose commit failed is re-run instead of crashing, so no handler stops, nothing is
 * lost and the transactional effects happen exactly once. `HERALD_STORM_ROUNDS` sets the rounds (default 100).
 */
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

const rounds = Number(process.env['HERALD_STORM_ROUNDS'] ?? 100);

describe('a connection storm', () => {
  it(`keeps plain and transactional handlers running through ${rounds} rounds of pg_terminate_backend, exactly once`, async (t) => {
    const schema = await freshSchema(admin);
    const application = `herald-${schema}`;
    const sql = postgres(pg.url, { max: 8, onnotice: () => {}, connection: { application_name: application } });
    const store = postgresStore({ sql, schema });
    await store.migrate();
    await sql`create table ${sql(schema)}.plain (event_number bigint)`;
    await sql`create table ${sql(schema)}.tx (event_number bigint)`;
    const app = createApp({ store, pollMs: 200, flushAfterMs: 100 });
    const warnings: string[] = [];
    app.on('store:warning', (payload) => warnings.push(payload.message));
    const restarts: string[] = [];
    app.on('supervisor:restart', (payload) => restarts.push(`${payload.child}: ${payload.reason instanceof Error ? payload.reason.message : String(payload.reason)}`));
    // Default restart intensity: a crash per round would exhaust it.
    await app.start([
      defineHandler({
        name: 'Plain',
        concurrency: 4,
        partitionBy: (event) => event.streamId,
        async handle(event) {
          await sql`insert into ${sql(schema)}.plain values (${event.eventNumber})`;
        },
        error: (_err, _event, failure) => ({ action: 'retry', delayMs: Math.min(50 * failure.attempt, 500), context: {} }),
      }),
      defineHandler({
        name: 'Tx',
        transactional: true,
        concurrency: 4,
        partitionBy: (event) => event.streamId,
        async handle(event, ctx) {
          const tx = ctx.sql!;
          await tx`insert into ${tx(schema)}.tx values (${event.eventNumber})`;
        },
      }),
    ]);

    const stopped = new Set<string>();
    const watch = setInterval(() => {
      for (const status of app.status()) {
        if (status.state === 'stopped' || status.state === 'failed') stopped.add(`${status.name}: ${status.state} (${status.lastError?.message ?? 'no error'})`);
      }
    }, 20);
    const written = await writeThrough(app, { minimum: 2_000, streams: 8 }, async () => {
      for (let round = 0; round < rounds; round++) {
        await new Promise((resolve) => setTimeout(resolve, 100 + ((round * 37) % 150)));
        await admin`select pg_terminate_backend(pid) from pg_stat_activity
                    where pid <> pg_backend_pid() and datname = current_database() and application_name = ${application}`;
      }
    });

    const [head] = await admin<{ n: string }[]>`select count(*) as n from ${admin(schema)}.events`;
    const events = Number(head?.n);
    assert.equal(events, written, 'every dispatched event stored once');
    const counts = async () => {
      const [row] = await admin<{ plain: string; tx: string; txDistinct: string }[]>`
        select (select count(distinct event_number) from ${admin(schema)}.plain) as plain,
               (select count(*) from ${admin(schema)}.tx) as tx,
               (select count(distinct event_number) from ${admin(schema)}.tx) as "txDistinct"`;
      return { plain: Number(row?.plain), tx: Number(row?.tx), txDistinct: Number(row?.txDistinct) };
    };
    await waitFor(async () => {
      const now = await counts();
      return now.plain === events && now.txDistinct === events;
    }, 'every event handled', 60_000).catch(() => undefined);
    clearInterval(watch);
    const final = await counts();
    const statuses = app.status().map((status) => ({ name: status.name, state: status.state, restarts: status.restarts }));
    t.diagnostic(JSON.stringify({ rounds, events, ...final, warnings: warnings.length, txWarnings: warnings.filter((w) => w.includes('"Tx"')).length, statuses }));
    assert.deepEqual(restarts, [], 'no store failure reached the supervisor');
    assert.deepEqual([...stopped], [], 'no handler stopped');
    assert.deepEqual(final, { plain: events, tx: events, txDistinct: events }, 'nothing lost; transactional effects exactly once');
    for (const status of statuses) {
      assert.ok(status.state === 'live' || status.state === 'catching_up', `${status.name} is ${status.state}`);
      assert.equal(status.restarts, 0, `${status.name} was never restarted`);
    }
    await app.stop();
    await sql.end({ timeout: 1 });
  });
});

