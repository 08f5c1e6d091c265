import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { createApp, defineHandler, type RecordedEvent } from '../src/index.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { waitFor } from './support/wait.ts';

/**
 * Issue 14, point 7: long transactions elsewhere in the database. An outbox transaction (an append inside the
 * caller's transaction) held open, and unrelated sessions left `idle in transaction` (one holding a snapshot of
 * herald's events table, one holding a transaction id), must not stall other appends or handlers. They stay open
 * while 1,000 other events are appended and handled, and at least `HERALD_LONG_TX_MS` (default 0; the issue's
 * figure is 30000). What a long transaction does block (appends to the same stream) is shown too.
 */
const HOLD_MS = Number(process.env.HERALD_LONG_TX_MS ?? 0);
const OTHERS = 1000;

let pg: TestPostgres;
let sql: Sql;

before(async () => {
  pg = await startPostgres();
  sql = postgres(pg.url, { max: 6, onnotice: () => {} });
});
after(async () => {
  await sql?.end();
  await pg?.stop();
});

describe('long transactions elsewhere (issue 14)', { timeout: 300_000 }, () => {
  it(`an open outbox transaction and idle-in-transaction sessions stall neither other appends nor handlers (${OTHERS} events)`, async () => {
    const schema = await freshSchema(sql);
    const store = postgresStore({ url: pg.url, schema });
    await store.migrate();
    await sql`create table ${sql(schema)}.tx_effects (event_number bigint not null, stream text not null)`;
    const plain: RecordedEvent[] = [];
    const app = createApp({ store });
    await app.start([
      defineHandler({ name: 'Plain', concurrency: 4, partitionBy: (event) => event.streamId, handle: (event) => void plain.push(event) }),
      defineHandler({
        name: 'Tx',
        transactional: true,
        async handle(event, ctx) {
          const db = ctx.sql;
          if (db === undefined) throw new Error('no ctx.sql');
          await db`insert into ${db(schema)}.tx_effects (event_number, stream) values (${event.eventNumber}, ${event.streamId})`;
        },
      }),
    ]);
    const txCount = async (): Promise<number> => Number((await sql<{ n: string }[]>`select count(*) as n from ${sql(schema)}.tx_effects`)[0]?.n);

    // Unrelated sessions idle in transaction: a snapshot over herald's events, and a transaction id (holds xmin back).
    const idleSnapshot = await sql.reserve();
    const idleXid = await sql.reserve();
    await idleSnapshot`begin isolation level repeatable read`;
    await idleSnapshot`select count(*) from ${sql(schema)}.events`;
    await idleXid`begin`;
    await idleXid`select pg_current_xact_id()`;

    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let outboxAppended: () => void = () => {};
    const appended = new Promise<void>((resolve) => (outboxAppended = resolve));
    const outbox = sql.begin(async (tx) => {
      await app.dispatch('orders-1', { type: 'OrderPlaced', data: { id: 1 } }, { sql: tx });
      outboxAppended();
      await held;
    });
    let sameStreamDone = false;
    let sameStream: Promise<unknown> | undefined;
    try {
      await appended;
      const started = Date.now();
      // An append to the outbox transaction's stream waits for its stream row lock: this is what it blocks.
      sameStream = app.dispatch('orders-1', { type: 'OrderShipped', data: { id: 1 } }).then(() => (sameStreamDone = true));
      for (let i = 0; i < OTHERS / 10; i++) {
        await app.dispatch(`other-${i}`, Array.from({ length: 10 }, (_, k) => ({ type: 'Other', data: { k } })));
      }
      await waitFor(async () => plain.length >= OTHERS && (await txCount()) >= OTHERS, `the ${OTHERS} other events handled while the transactions are open`, 120_000);
      while (Date.now() - started < HOLD_MS) await new Promise((resolve) => setTimeout(resolve, 100));

      const states = await sql<{ state: string }[]>`select state from pg_stat_activity where state like 'idle in transaction%'`;
      assert.ok(states.length >= 3, `the outbox transaction and both idle sessions are still open (${states.length} idle in transaction)`);
      assert.equal(plain.length, OTHERS, 'the outbox event is not handled before its transaction commits');
      assert.ok(plain.every((event) => event.streamId.startsWith('other-')));
      assert.equal(await txCount(), OTHERS);
      assert.equal(sameStreamDone, false, 'an append to the same stream waits for the outbox transaction');
    } finally {
      release();
      await outbox;
      await sameStream;
      await idleSnapshot`rollback`;
      await idleXid`rollback`;
      idleSnapshot.release();
      idleXid.release();
    }
    await waitFor(async () => plain.length === OTHERS + 2 && (await txCount()) === OTHERS + 2, 'the outbox events handled once committed', 60_000);
    assert.deepEqual(plain.filter((event) => event.streamId === 'orders-1').map((event) => event.type), ['OrderPlaced', 'OrderShipped']);
    await app.stop();
  });
});
