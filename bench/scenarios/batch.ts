/**
 * Batch handlers: a transactional batch handler writing each batch with one multi-row INSERT, against a
 * transactional per-event handler doing one INSERT per event, over the same stored log, in the same rounds.
 */
import type { Sql, TransactionSql } from 'postgres';
import { createApp, defineHandler, type RecordedEvent } from '../../src/index.ts';
import { connect } from '../db.ts';
import { seed, stopQuietly, store } from '../herald.ts';
import { roundLog } from '../rounds.ts';
import { buildRow, perSecond } from '../stats.ts';
import { ratioAtLeast, target } from '../targets.ts';
import { countdown, now, withTimeout } from '../timing.ts';
import type { Scenario } from '../types.ts';

const SCENARIO = 'Batch handlers';
const BATCH_SIZE = 100;

/** One projected row per event. */
function rowOf(event: RecordedEvent): { event_number: number; order_id: string; amount: number } {
  const data = event.data as { orderId: string; amount: number };
  return { event_number: event.eventNumber, order_id: data.orderId, amount: data.amount };
}

/** Milliseconds from `app.start` until a transactional handler named `name` has handled `total` events into `table`. */
async function timeProjection(sql: Sql, name: string, table: string, total: number, timeoutMs: number, batched: boolean): Promise<number> {
  await sql`create table ${sql(table)} (event_number bigint primary key, order_id text not null, amount int not null)`;
  const counter = countdown(total);
  const app = createApp({ store: store(sql, 'herald'), name });
  const handler = batched
    ? defineHandler({
        name,
        transactional: true,
        batchSize: BATCH_SIZE,
        async handleBatch(events, ctx) {
          const tx = ctx.sql as TransactionSql;
          await tx`insert into ${tx(table)} ${tx(events.map(rowOf))}`;
          for (let i = 0; i < events.length; i++) counter.hit();
        },
      })
    : defineHandler({
        name,
        transactional: true,
        async handle(event, ctx) {
          const tx = ctx.sql as TransactionSql;
          const row = rowOf(event);
          await tx`insert into ${tx(table)} (event_number, order_id, amount) values (${row.event_number}, ${row.order_id}, ${row.amount})`;
          counter.hit();
        },
      });
  const started = now();
  let finished: number;
  try {
    await app.start([handler]);
    finished = await withTimeout(counter.done, timeoutMs, `batch ${name}`);
  } finally {
    await stopQuietly(app);
  }
  // The stop committed the last batch: every event has its row, or the figure means nothing.
  const [{ rows }] = (await sql`select count(*)::int as rows from ${sql(table)}`) as unknown as [{ rows: number }];
  await sql`drop table ${sql(table)}`;
  if (rows < total) throw new Error(`${name}: ${rows} rows projected, expected ${total}`);
  return finished - started;
}

export const batch: Scenario = {
  name: 'batch',
  title: SCENARIO,
  timeoutMs: 20 * 60_000,
  async run(ctx) {
    const total = ctx.quick ? 2000 : 50_000;
    const timeoutMs = ctx.quick ? 20_000 : 5 * 60_000;
    const db = await ctx.freshDatabase('batch');
    const sql = connect(db.url);
    try {
      const log = store(sql, 'herald');
      await log.migrate();
      ctx.log(`seeding ${total} events`);
      await seed(log, { total, streams: Math.max(10, total / 200), perAppend: 100, parallel: 4 });
      await log.close();
      await sql`vacuum analyze`;

      const figures = roundLog((name, round, value) => ctx.log(`round ${round + 1}: ${name} ${Math.round(value)} ev/s`));
      for (let round = 0; round < ctx.rounds; round++) {
        await figures.run(round, [
          ['per-event', async () => perSecond(total, await timeProjection(sql, `per_event_${round}`, `rows_per_event_${round}`, total, timeoutMs, false))],
          ['batch', async () => perSecond(total, await timeProjection(sql, `batch_${round}`, `rows_batch_${round}`, total, timeoutMs, true))],
        ]);
      }
      return {
        rows: [
          buildRow({
            scenario: SCENARIO,
            label: `transactional handleBatch (batchSize ${BATCH_SIZE}, one multi-row INSERT per batch), ${total.toLocaleString('en')} events`,
            unit: 'ev/s',
            higherIsBetter: true,
            herald: figures.values('batch'),
            baseline: { name: 'transactional handle, one INSERT per event', values: figures.values('per-event') },
            target: target(ratioAtLeast(3, 'factor')),
          }),
        ],
        remarks: [],
      };
    } finally {
      await sql.end({ timeout: 5 });
      await db.drop();
    }
  },
};
