/**
 * Scenario 5, partitioned concurrency: a handler doing 1 ms of async work per event, `partitionBy` over 100
 * keys, at concurrency 1, 4, 8 and 16; the speed-up is over concurrency 1 in the same round. The best a
 * stable hash can do is also shown: events divided by the busiest worker's share.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { workerForKey } from '../../src/handler/partition.ts';
import { connect } from '../db.ts';
import { seed, store, timeCatchUp } from '../herald.ts';
import { roundLog } from '../rounds.ts';
import { buildRow, perSecond } from '../stats.ts';
import { ratioAtLeast, target } from '../targets.ts';
import type { Row, Scenario } from '../types.ts';

const SCENARIO = 'Partitioned concurrency';
const KEYS = 100;
const LEVELS = [1, 4, 8, 16] as const;
const TARGETS: Record<number, number> = { 8: 7, 16: 12 };

/** The speed-up a perfect scheduler would get with this hash: total events / the busiest worker's events. */
function hashBound(eventsPerKey: number, concurrency: number): number {
  const load = new Array<number>(concurrency).fill(0);
  for (let k = 0; k < KEYS; k++) {
    const worker = workerForKey(`stream-${k}`, concurrency);
    load[worker] = (load[worker] ?? 0) + eventsPerKey;
  }
  return (KEYS * eventsPerKey) / Math.max(...load);
}

export const partitions: Scenario = {
  name: 'partitions',
  title: SCENARIO,
  timeoutMs: 10 * 60_000,
  async run(ctx) {
    const total = ctx.quick ? 400 : 4000;
    const db = await ctx.freshDatabase('partitions');
    const sql = connect(db.url);
    try {
      const log = store(sql, 'herald');
      await log.migrate();
      // Streams stream-0 … stream-99, 10 events per append, so keys interleave along the log.
      await seed(log, { total, streams: KEYS, perAppend: 10, parallel: 2 });
      await log.close();
      const figures = roundLog((name, round, value) => ctx.log(`round ${round + 1}: ${name} ${Math.round(value)} ev/s`));
      for (let round = 0; round < ctx.rounds; round++) {
        await figures.run(round, LEVELS.map((concurrency) => [
          `c${concurrency}`,
          async () => perSecond(total, await timeCatchUp({
            sql, schema: 'herald', name: `c${concurrency}-${round}`, count: total, timeoutMs: ctx.quick ? 20_000 : 120_000,
            handler: { concurrency, partitionBy: (event) => event.streamId },
            handle: () => delay(1),
          })),
        ] as const));
      }
      const base = { name: 'concurrency 1', values: figures.values('c1') };
      const rows: Row[] = LEVELS.filter((c) => c > 1).map((concurrency) => {
        const goal = TARGETS[concurrency];
        return buildRow({
          scenario: SCENARIO,
          label: `concurrency ${concurrency}, ${KEYS} keys, 1 ms async work per event`,
          unit: 'ev/s',
          higherIsBetter: true,
          herald: figures.values(`c${concurrency}`),
          baseline: base,
          target: goal === undefined ? undefined : target(ratioAtLeast(goal, 'factor')),
          note: `a stable hash of ${KEYS} keys over ${concurrency} workers allows at most ${hashBound(total / KEYS, concurrency).toFixed(1)}x (busiest worker's share)`,
        });
      });
      return { rows, remarks: [] };
    } finally {
      await sql.end({ timeout: 5 });
      await db.drop();
    }
  },
};
