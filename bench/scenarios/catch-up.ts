/**
 * Scenario 1, catch-up: a stored log read by one no-op handler from origin, against a raw postgres.js keyset
 * read of the same table (pages of 1,000, one cursor UPDATE per page) and against Emmett's consumer over the
 * same number of events in its own store. Also `concurrency: 8` + `partitionBy`, `transactional: true`, and the no-op
 * handler with `crashLimit: 0` (no in-flight notes) beside the default.
 */
import type { PostgresEventStore } from '@event-driven-io/emmett-postgresql';
import { connect } from '../db.ts';
import { emmettConcurrentAppendCheck, openEmmett, seedEmmett, timeEmmettCatchUp, EMMETT_PULLING } from '../emmett.ts';
import { seed, store, timeCatchUp } from '../herald.ts';
import { createRawCursorTable, rawKeysetCatchUp } from '../raw.ts';
import { roundLog } from '../rounds.ts';
import { buildRow, perSecond } from '../stats.ts';
import { atLeast, everyRoundAtLeast, ratioAtLeast, target } from '../targets.ts';
import type { BenchDatabase, Row, Scenario } from '../types.ts';

const SCENARIO = 'Catch-up';

export const catchUp: Scenario = {
  name: 'catch-up',
  title: SCENARIO,
  timeoutMs: 20 * 60_000,
  async run(ctx) {
    const total = ctx.quick ? 3000 : 200_000;
    const streams = Math.max(10, total / 200);
    const timeoutMs = ctx.quick ? 20_000 : 5 * 60_000;
    const remarks: string[] = [];
    const db = await ctx.freshDatabase('catchup');
    const sql = connect(db.url);
    let emmettDb: BenchDatabase | undefined;
    let emmett: PostgresEventStore | undefined;
    try {
      const log = store(sql, 'herald');
      await log.migrate();
      ctx.log(`seeding ${total} events in ${streams} streams`);
      await seed(log, { total, streams, perAppend: 100, parallel: 4 });
      await log.close();
      await sql`vacuum analyze`;
      await createRawCursorTable(sql);

      try {
        emmettDb = await ctx.freshDatabase('emmett');
        emmett = await openEmmett(emmettDb.url);
        ctx.log(`seeding ${total} events into Emmett's store`);
        // One appender: with concurrent appends Emmett's reader skips events (see EMMETT_SKIPS).
        await seedEmmett(emmett, total, streams, 100, 1);
      } catch (error) {
        remarks.push(`Emmett could not run here: ${describe(error)}`);
        emmett = undefined;
      }
      if (emmett !== undefined) remarks.push(await checkEmmettSkips(ctx.freshDatabase, ctx.quick ? 1000 : 5000));

      const figures = roundLog((name, round, value) => ctx.log(`round ${round + 1}: ${name} ${Math.round(value)} ev/s`));
      for (let round = 0; round < ctx.rounds; round++) {
        const emmettStore = emmett;
        await figures.run(round, [
          ['raw', async () => {
            const { ms, rows } = await rawKeysetCatchUp(sql, 'herald', `raw-${round}`, 1000);
            if (rows !== total) throw new Error(`raw reader saw ${rows} rows, expected ${total}`);
            return perSecond(total, ms);
          }],
          ['noop', async () => perSecond(total, await timeCatchUp({ sql, schema: 'herald', name: `noop-${round}`, count: total, timeoutMs }))],
          // The default crashLimit (3) notes each page in flight (one write per page); 0 writes none.
          ['noop-crashlimit-0', async () => perSecond(total, await timeCatchUp({
            sql, schema: 'herald', name: `noop-crash0-${round}`, count: total, timeoutMs, handler: { crashLimit: 0 },
          }))],
          ['partitioned', async () => perSecond(total, await timeCatchUp({
            sql, schema: 'herald', name: `partitioned-${round}`, count: total, timeoutMs,
            handler: { concurrency: 8, partitionBy: (event) => event.streamId },
          }))],
          ['transactional', async () => perSecond(total, await timeCatchUp({
            sql, schema: 'herald', name: `transactional-${round}`, count: total, timeoutMs, handler: { transactional: true },
          }))],
          ...(emmettStore === undefined ? [] : [['emmett', async () => perSecond(total, await timeEmmettCatchUp(emmettStore, `emmett-${round}`, total, timeoutMs))] as const]),
        ]);
      }

      const raw = { name: 'raw keyset read', values: figures.values('raw') };
      const noop = figures.values('noop');
      const rows: Row[] = [
        buildRow({
          scenario: SCENARIO, label: `${total.toLocaleString('en')} events, no-op handler`, unit: 'ev/s', higherIsBetter: true,
          herald: noop, baseline: raw, target: target(atLeast(150_000, 'ev/s'), ratioAtLeast(0.9), everyRoundAtLeast(0.8)),
        }),
      ];
      rows.push(buildRow({
        scenario: SCENARIO, label: 'no-op handler, default crashLimit (in-flight notes) vs crashLimit 0', unit: 'ev/s', higherIsBetter: true,
        herald: noop, baseline: { name: 'herald no-op, crashLimit 0', values: figures.values('noop-crashlimit-0') },
        note: 'one in-flight note write per page of 1,000 events (docs/error-handling.md, "Events that crash the process")',
      }));
      if (emmett !== undefined) {
        const emmettValues = figures.values('emmett');
        rows.push(buildRow({
          scenario: SCENARIO, label: 'no-op handler vs Emmett consumer', unit: 'ev/s', higherIsBetter: true,
          herald: noop, baseline: { name: 'Emmett reactor', values: emmettValues }, target: target(ratioAtLeast(1, 'factor')),
          note: `Emmett pulling ${EMMETT_PULLING.batchSize}/batch, ${EMMETT_PULLING.pullingFrequencyInMs} ms pause; one checkpoint UPDATE per message, one transaction per batch`,
        }));
      }
      rows.push(
        buildRow({
          scenario: SCENARIO, label: 'concurrency 8 + partitionBy(streamId)', unit: 'ev/s', higherIsBetter: true,
          herald: figures.values('partitioned'), baseline: raw,
        }),
        buildRow({
          scenario: SCENARIO, label: 'transactional: true (commit per batch)', unit: 'ev/s', higherIsBetter: true,
          herald: figures.values('transactional'), baseline: { name: 'herald no-op', values: noop }, target: target(ratioAtLeast(0.5)),
        }),
      );
      return { rows, remarks };
    } finally {
      await emmett?.close().catch(() => undefined);
      await sql.end({ timeout: 5 });
      await emmettDb?.drop();
      await db.drop();
    }
  },
};

/** Runs {@link emmettConcurrentAppendCheck} in its own database and words the outcome. */
async function checkEmmettSkips(freshDatabase: (label: string) => Promise<BenchDatabase>, total: number): Promise<string> {
  const db = await freshDatabase('emmett_check');
  try {
    const eventStore = await openEmmett(db.url);
    try {
      const seen = await emmettConcurrentAppendCheck(eventStore, total, 4);
      return seen === total
        ? `Emmett's consumer saw all ${total} events appended by 4 concurrent writers in this run.`
        : `Emmett's store is seeded by one writer above because its consumer skips events under concurrent appends: ` +
            `of ${total} events appended by 4 concurrent writers (all committed before it started), a reactor from the beginning ` +
            `saw ${seen}. Its read filters \`global_position > last position\` but orders by transaction id, so rows of a later ` +
            `transaction with lower positions are passed over (the trap of HARD-PARTS §1). herald's logs above are seeded by 4 writers.`;
    } finally {
      await eventStore.close();
    }
  } catch (error) {
    return `the Emmett concurrent-append check failed: ${describe(error)}`;
  } finally {
    await db.drop();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
