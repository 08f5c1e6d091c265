/**
 * Type filters in the read: a log of 200,000 events over 50 types, read from origin to its head by a handler
 * `on` 2 of the types (the store reads only those: an index probe per batch and type) against an unfiltered no-op
 * `handle` over the same log, back to back in each round. Both are timed from `app.start` until
 * `app.caughtUp()` resolves, i.e. until the cursor stands at the head (lag 0), not merely until the last wanted
 * event was handled.
 */
import { monotonicFactory } from 'ulid';
import type { Sql } from 'postgres';
import { connect } from '../db.ts';
import { payload, stopQuietly, store } from '../herald.ts';
import { roundLog } from '../rounds.ts';
import { buildRow, perSecond } from '../stats.ts';
import { ratioAtLeast, target } from '../targets.ts';
import { now, runPool } from '../timing.ts';
import type { Scenario } from '../types.ts';
import { createApp, defineHandler, type EventStore, type HandlerDefinition } from '../../src/index.ts';

const SCENARIO = 'Type filter';
const TYPES = 50;
const WANTED = ['Type7', 'Type31'];

export const typeFilter: Scenario = {
  name: 'type-filter',
  title: SCENARIO,
  timeoutMs: 20 * 60_000,
  async run(ctx) {
    const total = ctx.quick ? 5000 : 200_000;
    const timeoutMs = ctx.quick ? 20_000 : 5 * 60_000;
    const db = await ctx.freshDatabase('typefilter');
    const sql = connect(db.url);
    try {
      const log = store(sql, 'herald');
      await log.migrate();
      ctx.log(`seeding ${total} events over ${TYPES} types`);
      await seedTypes(log, total, Math.max(10, total / 200));
      await log.close();
      await sql`vacuum analyze`;
      const figures = roundLog((name, round, value) => ctx.log(`round ${round + 1}: ${name} ${Math.round(value)} ev/s`));
      for (let round = 0; round < ctx.rounds; round++) {
        await figures.run(round, [
          ['unfiltered', async () => perSecond(total, await timeToHead(sql, defineHandler({ name: `all-${round}`, handle: () => undefined }), timeoutMs))],
          ['filtered', async () => perSecond(total, await timeToHead(sql, defineHandler({
            name: `on2-${round}`,
            on: { [WANTED[0] as string]: () => undefined, [WANTED[1] as string]: () => undefined },
          }), timeoutMs))],
        ]);
      }
      return {
        rows: [buildRow({
          scenario: SCENARIO,
          label: `${total.toLocaleString('en')} events over ${TYPES} types, handler \`on\` ${WANTED.length} types (log events/s to lag 0)`,
          unit: 'ev/s',
          higherIsBetter: true,
          herald: figures.values('filtered'),
          baseline: { name: 'unfiltered no-op handle', values: figures.values('unfiltered') },
          target: target(ratioAtLeast(5, 'factor')),
        })],
        remarks: [],
      };
    } finally {
      await sql.end({ timeout: 5 });
      await db.drop();
    }
  },
};

/** Appends `total` events in appends of 100 by 4 appenders, the type cycling over {@link TYPES} types. */
async function seedTypes(target: EventStore, total: number, streams: number): Promise<void> {
  const newId = monotonicFactory();
  const perAppend = 100;
  await runPool(Math.ceil(total / perAppend), 4, async (call) => {
    const size = Math.min(perAppend, total - call * perAppend);
    const events = Array.from({ length: size }, (_, k) => {
      const i = call * perAppend + k;
      return { eventId: newId(), type: `Type${i % TYPES}`, data: payload(i), metadata: {} };
    });
    await target.append({ streamId: `stream-${call % streams}`, events, expectedVersion: 'any' });
  });
}

/** Milliseconds from `app.start` of a fresh app running `handler` from origin until its cursor is at the head. */
async function timeToHead(sql: Sql, handler: HandlerDefinition, timeoutMs: number): Promise<number> {
  const app = createApp({ store: store(sql, 'herald'), name: handler.config.name });
  const started = now();
  try {
    await app.start([handler]);
    await app.caughtUp({ timeoutMs });
    return now() - started;
  } finally {
    await stopQuietly(app);
  }
}
