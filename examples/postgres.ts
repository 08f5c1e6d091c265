/**
 * herald on PostgreSQL: a transactional projection (its writes and its cursor commit together), an outbox
 * dispatch inside your own transaction, an inbox-style idempotent append, and a strong dispatch.
 *
 *   DATABASE_URL=postgres://user@localhost:5432/db npx tsx examples/postgres.ts
 *
 * Uses (and drops at the end) the schema `herald_example`.
 */
import postgres from 'postgres';
import { createApp, defineHandler, postgresStore } from '../src/index.ts';

const url = process.env['DATABASE_URL'];
if (url === undefined || url === '') {
  console.error('Set DATABASE_URL to a PostgreSQL database, e.g. postgres://postgres@localhost:5432/postgres');
  process.exit(2);
}

const schema = 'herald_example';
const sql = postgres(url, { onnotice: () => {} });
await sql`drop schema if exists ${sql(schema)} cascade`;

// The store shares your postgres.js instance (it never ends it) and keeps its tables in `schema`.
const store = postgresStore({ sql, schema });
await store.migrate();
await sql`create table ${sql(schema)}.order_totals (order_id text primary key, total numeric not null)`;

const totals = defineHandler({
  name: 'OrderTotals',
  consistency: 'strong',
  transactional: true, // ctx.sql: the projection row and the cursor advance commit together, exactly once
  async handle(event, ctx) {
    if (event.type !== 'OrderPlaced' || ctx.sql === undefined) return;
    const tx = ctx.sql;
    const { total } = event.data as { total: number };
    await tx`insert into ${tx(schema)}.order_totals ${tx({ order_id: event.streamId, total })}
             on conflict (order_id) do update set total = excluded.total`;
    console.log(`OrderTotals    projected ${event.streamId} = ${total} (event ${event.eventNumber})`);
  },
});

const app = createApp({ store, name: 'pg-example' });
await app.start([totals]);

// Strong: returns once OrderTotals committed the projection row.
await app.dispatch('order-1', { type: 'OrderPlaced', data: { total: 30 } }, { consistency: 'strong' });
const [row] = await sql<{ total: string }[]>`select total from ${sql(schema)}.order_totals where order_id = 'order-1'`;
console.log(`read model     order-1 = ${row?.total} right after the strong dispatch`);

// Outbox: the event is appended inside your transaction; rolled back with it, or delivered once it commits.
await sql
  .begin(async (tx) => {
    await tx`select 1`; // your own writes here
    await app.dispatch('order-2', { type: 'OrderPlaced', data: { total: 99 } }, { sql: tx });
    throw new Error('payment declined');
  })
  .catch((error: Error) => console.log(`outbox         transaction rolled back (${error.message}): order-2 is never delivered`));
await sql.begin(async (tx) => {
  await app.dispatch('order-3', { type: 'OrderPlaced', data: { total: 12 } }, { sql: tx });
});
console.log('outbox         order-3 committed with its transaction');

// Inbox: an inbound message id as eventId makes redelivery a no-op.
const first = await app.dispatch('order-4', { type: 'OrderPlaced', data: { total: 5 }, eventId: 'msg-4711' });
const again = await app.dispatch('order-4', { type: 'OrderPlaced', data: { total: 5 }, eventId: 'msg-4711' });
console.log(`inbox          appended ${first.events.length}, then ${again.events.length} (duplicates: ${again.duplicates.join(', ')})`);

await app.dispatch('order-5', { type: 'OrderPlaced', data: { total: 1 } }, { consistency: 'strong' });
const orders = await sql<{ order_id: string }[]>`select order_id from ${sql(schema)}.order_totals order by order_id`;
console.log(`read model     ${orders.map((o) => o.order_id).join(', ')}`);
for (const s of app.status()) console.log(`status         ${s.name}: ${s.state}, cursor ${s.cursor}, lag ${s.lag}`);

await app.stop();
await sql`drop schema ${sql(schema)} cascade`;
await sql.end();
