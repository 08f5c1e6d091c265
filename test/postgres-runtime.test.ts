import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { ConsistencyTimeoutError, createApp, defineHandler, retry, type RecordedEvent } from '../src/index.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { startPostgres, freshSchema, type TestPostgres } from './support/postgres.ts';
import { startWorker } from './support/processes.ts';
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

async function schemaWithStore() {
  const schema = await freshSchema(sql);
  const store = postgresStore({ url: pg.url, schema });
  await store.migrate();
  return { schema, store };
}

const ev = (i: number) => ({ type: 'E', data: { i } });

describe('herald on PostgreSQL', () => {
  it('handles every event and resumes after the persisted cursor in a new app', async () => {
    const { schema, store } = await schemaWithStore();
    const seen: number[] = [];
    const app = createApp({ store });
    await app.start([defineHandler({ name: 'P', handle: (e) => void seen.push(e.eventNumber) })]);
    await app.dispatch('s', [ev(1), ev(2), ev(3)]);
    await waitFor(() => seen.length === 3);
    await app.stop();

    const later: number[] = [];
    const app2 = createApp({ store: postgresStore({ url: pg.url, schema }) });
    await app2.start([defineHandler({ name: 'P', handle: (e) => void later.push(e.eventNumber) })]);
    await app2.dispatch('s', ev(4));
    await waitFor(() => later.length === 1);
    assert.deepEqual(seen, [1, 2, 3]);
    assert.deepEqual(later, [4]);
    await app2.stop();
  });

  it('commits a transactional handler’s writes with its cursor, and a retry rolls back the failed attempt’s writes', async () => {
    const { schema, store } = await schemaWithStore();
    await sql`create table ${sql(schema)}.projection (event_number bigint, attempt int)`;
    const attempts = new Map<number, number>();
    const app = createApp({ store });
    await app.start([
      defineHandler({
        name: 'Tx',
        transactional: true,
        async handle(event: RecordedEvent, ctx) {
          const attempt = (attempts.get(event.eventNumber) ?? 0) + 1;
          attempts.set(event.eventNumber, attempt);
          const tx = ctx.sql!;
          await tx`insert into ${tx(schema)}.projection values (${event.eventNumber}, ${attempt})`;
          if (event.eventNumber % 2 === 0 && attempt === 1) throw new Error('fail after writing');
        },
        error: () => retry(),
      }),
    ]);
    await app.dispatch('s', [ev(1), ev(2), ev(3), ev(4)]);
    await waitFor(async () => (await store.loadHandler('Tx'))?.cursor.position === 4, 'cursor committed');
    const rows = await sql<{ event_number: string; attempt: number }[]>`
      select event_number, attempt from ${sql(schema)}.projection order by event_number`;
    assert.deepEqual(rows.map((r) => [Number(r.event_number), r.attempt]), [[1, 1], [2, 2], [3, 1], [4, 2]]);
    await app.stop();
  });

  it('never delivers an outbox dispatch whose transaction rolled back, and delivers one that committed', async () => {
    const { store } = await schemaWithStore();
    const seen: string[] = [];
    const app = createApp({ store, pollMs: 50 });
    await app.start([defineHandler({ name: 'Outbox', handle: (e) => void seen.push(e.type) })]);
    await sql
      .begin(async (tx) => {
        await app.dispatch('orders', { type: 'RolledBack', data: {} }, { sql: tx });
        throw new Error('business rule failed');
      })
      .catch(() => undefined);
    await sql.begin(async (tx) => {
      const result = await app.dispatch('orders', { type: 'Committed', data: {} }, { sql: tx });
      assert.equal(result.lastEventNumber, 0, 'numbers are assigned after commit');
    });
    await waitFor(() => seen.length === 1, 'the committed outbox event');
    await app.dispatch('orders', { type: 'After', data: {} });
    await waitFor(() => seen.length === 2);
    assert.deepEqual(seen, ['Committed', 'After']);
    await app.stop();
  });

  it('waits in one process for a strong handler running in another, and times out naming it once it is gone', async () => {
    const { schema, store } = await schemaWithStore();
    const worker = startWorker(pg.url, schema, 'strong');
    await worker.ready;
    const app = createApp({ store });
    await app.start([]);
    const { lastEventNumber } = await app.dispatch('s', [ev(1), ev(2)], { consistency: 'strong', timeoutMs: 10_000 });
    const [row] = await sql<{ n: string }[]>`select count(*) as n from ${sql(schema)}.effects_plain where handler = 'Remote'`;
    assert.equal(Number(row?.n), lastEventNumber, 'the remote handler handled both events before dispatch returned');

    worker.child.kill('SIGKILL');
    await worker.exited;
    const error = await app.dispatch('s', ev(3), { consistency: 'strong', timeoutMs: 300 }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ConsistencyTimeoutError);
    assert.deepEqual(error.handlers, ['Remote']);
    await app.stop();
  });

  it('after SIGKILL mid-stream, a restarted process loses nothing, redelivers at most one batch, and the transactional handler has exactly-once effects', async () => {
    const { schema, store } = await schemaWithStore();
    const total = 5_000;
    const first = startWorker(pg.url, schema, 'effects');
    await first.ready;
    const app = createApp({ store });
    const writing = (async () => {
      for (let i = 0; i < total; i += 100) await app.dispatch(`s-${i % 13}`, Array.from({ length: 100 }, (_, j) => ev(i + j)));
    })();
    await waitFor(async () => {
      const [row] = await sql<{ n: string }[]>`select count(*) as n from ${sql(schema)}.effects_plain`;
      return Number(row?.n) > 1_000;
    }, 'the first process to be mid-stream', 60_000);
    first.child.kill('SIGKILL');
    await first.exited;
    await writing;

    const second = startWorker(pg.url, schema, 'effects');
    await second.ready;
    await waitFor(async () => {
      const handlers = await store.listHandlers();
      return handlers.length === 2 && handlers.every((h) => h.cursor.position === total);
    }, 'both handlers to catch up', 60_000);
    second.child.kill('SIGTERM');
    await second.exited;

    const plain = await sql<{ event_number: string; n: string }[]>`
      select event_number, count(*) as n from ${sql(schema)}.effects_plain group by event_number`;
    assert.equal(plain.length, total, 'every event handled at least once');
    const redelivered = plain.filter((r) => Number(r.n) > 1).length;
    // One batch: the 1,000 acknowledgements after which a cursor save starts, plus the few acknowledged
    // while that save was in flight and the event in progress when the process died.
    assert.ok(redelivered <= 1_050, `at most one batch redelivered (saw ${redelivered})`);
    const tx = await sql<{ event_number: string; n: string }[]>`
      select event_number, count(*) as n from ${sql(schema)}.effects_tx group by event_number`;
    assert.equal(tx.length, total, 'every event has a transactional effect');
    assert.ok(tx.every((r) => Number(r.n) === 1), 'no transactional effect twice');
    await app.stop();
  });
});

describe('examples/postgres.ts', () => {
  it('runs against the test server and shows the projection, outbox and inbox', async () => {
    const { execFile } = await import('node:child_process');
    const output = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', 'examples/postgres.ts'], { env: { ...process.env, DATABASE_URL: pg.url } }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
      );
    });
    assert.match(output, /read model {5}order-1 = 30 right after the strong dispatch/);
    assert.match(output, /order-2 is never delivered/);
    assert.match(output, /read model {5}order-1, order-3, order-4, order-5/);
    assert.match(output, /appended 1, then 0 \(duplicates: msg-4711\)/);
  });
});
