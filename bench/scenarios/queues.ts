/**
 * Scenario 6, versus job queues: 50,000 small messages enqueued and processed by a no-op worker with
 * concurrency 8, through herald, graphile-worker and pg-boss (graphile-worker with its defaults and tuned for throughput, pg-boss tuned);
 * each system in a fresh database every round.
 */
import { GRAPHILE_TUNED, graphileQueue, heraldQueue, pgBossQueue, PG_BOSS_BATCH, type QueueTiming, type Workload } from '../queues.ts';
import { roundLog } from '../rounds.ts';
import { buildRow, perSecond, summarize } from '../stats.ts';
import { ratioAtLeast, target } from '../targets.ts';
import type { Row, Scenario } from '../types.ts';

const SCENARIO = 'Versus job queues';

export const queues: Scenario = {
  name: 'queues',
  title: SCENARIO,
  timeoutMs: 20 * 60_000,
  async run(ctx) {
    const count = ctx.quick ? 1000 : 50_000;
    const timings = new Map<string, QueueTiming[]>();

    async function measure(system: string, round: number, runner: (workload: Workload) => Promise<QueueTiming>): Promise<number> {
      const db = await ctx.freshDatabase(`queue_${system}`);
      try {
        const timing = await runner({ url: db.url, count, chunk: 100, concurrency: 8, timeoutMs: ctx.quick ? 30_000 : 300_000 });
        const list = timings.get(system) ?? [];
        list[round] = timing;
        timings.set(system, list);
        return perSecond(count, timing.processedMs);
      } finally {
        await db.drop();
      }
    }

    const figures = roundLog((name, round, value) => ctx.log(`round ${round + 1}: ${name} ${Math.round(value)} msg/s`));
    for (let round = 0; round < ctx.rounds; round++) {
      await figures.run(round, [
        ['herald', () => measure('herald', round, heraldQueue)],
        ['graphile-worker', () => measure('graphile-worker', round, (w) => graphileQueue(w, 'default'))],
        ['graphile-worker tuned', () => measure('graphile-worker tuned', round, (w) => graphileQueue(w, 'tuned'))],
        ['pg-boss tuned', () => measure('pg-boss tuned', round, pgBossQueue)],
      ]);
    }
    const endToEnd = (system: string): string => {
      const list = timings.get(system) ?? [];
      const processed = summarize(list.map((t) => t.processedMs / 1000)).median;
      const enqueued = summarize(list.map((t) => t.enqueuedMs / 1000)).median;
      return `${system} ${processed.toFixed(1)} s end to end (enqueue ${enqueued.toFixed(1)} s)`;
    };
    const herald = figures.values('herald');
    const label = `${count.toLocaleString('en')} messages, concurrency 8`;
    const rows: Row[] = [
      buildRow({
        scenario: SCENARIO, label: `${label}, vs graphile-worker tuned`, unit: 'msg/s', higherIsBetter: true,
        herald, baseline: { name: 'graphile-worker (tuned)', values: figures.values('graphile-worker tuned') },
        target: target(ratioAtLeast(1, 'factor')),
        note: `${endToEnd('herald')}; ${endToEnd('graphile-worker tuned')}; jobs added with add_jobs, 100 per call; concurrentJobs ${GRAPHILE_TUNED.concurrency}, maxPoolSize ${GRAPHILE_TUNED.maxPoolSize} (its performance page; localQueue and batched completions need 0.17)`,
      }),
      buildRow({
        scenario: SCENARIO, label: `${label}, vs graphile-worker defaults`, unit: 'msg/s', higherIsBetter: true,
        herald, baseline: { name: 'graphile-worker (defaults)', values: figures.values('graphile-worker') },
        note: `${endToEnd('graphile-worker')}; run({ concurrency: 8 })`,
      }),
      buildRow({
        scenario: SCENARIO, label: `${label}, vs pg-boss tuned`, unit: 'msg/s', higherIsBetter: true,
        herald, baseline: { name: 'pg-boss (tuned)', values: figures.values('pg-boss tuned') },
        target: target(ratioAtLeast(3, 'factor')),
        note: `${endToEnd('pg-boss tuned')}; insert() 100 per call; 8 work() loops, batchSize ${PG_BOSS_BATCH}, polling every 0.5 s (its minimum); with its defaults (one job per fetch, a fetch every 2 s per loop) 8 loops take at most 4 jobs/s, so that run is not made`,
      }),
    ];
    return { rows, remarks: [] };
  },
};


