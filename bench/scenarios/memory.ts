/**
 * Scenario 7, memory: the RSS of a process that catches up a 1,000,000-event log with one no-op handler,
 * after a full GC before it (once cold, once after a warm-up read of the first events), along it and after it;
 * each run in its own child process (`--expose-gc`), beside the raw keyset reader doing the same in its own child.
 */
import { spawnWorker } from '../child.ts';
import { connect } from '../db.ts';
import { seed, store } from '../herald.ts';
import { roundLog } from '../rounds.ts';
import { buildRow, summarize } from '../stats.ts';
import { target, within } from '../targets.ts';
import type { Row, Scenario } from '../types.ts';

const SCENARIO = 'Memory';

interface Report {
  readonly ms: number;
  readonly warmUp: number;
  readonly cold: { rss: number; heap: number };
  readonly before: { rss: number; heap: number };
  readonly samples: { at: number; rss: number; heap: number }[];
  readonly after: { rss: number; heap: number };
}

export const memory: Scenario = {
  name: 'memory',
  title: SCENARIO,
  timeoutMs: 20 * 60_000,
  async run(ctx) {
    const total = ctx.quick ? 10_000 : 1_000_000;
    const rounds = Math.min(ctx.rounds, 2);
    const db = await ctx.freshDatabase('memory');
    const sql = connect(db.url);
    const reports = new Map<string, Report[]>();
    try {
      const log = store(sql, 'herald');
      await log.migrate();
      ctx.log(`seeding ${total} events`);
      await seed(log, { total, streams: 1000, perAppend: 1000, parallel: 2 });
      await log.close();
      await sql`vacuum analyze`;

      async function measure(mode: 'herald' | 'raw', round: number): Promise<number> {
        const child = spawnWorker('bench/workers/memory-catch-up.ts', [db.url, 'herald', mode, String(total)], ['--expose-gc']);
        try {
          const line = await child.line((l) => l.startsWith('{'), ctx.quick ? 30_000 : 600_000);
          const report = JSON.parse(line) as Report;
          const list = reports.get(mode) ?? [];
          list[round] = report;
          reports.set(mode, list);
          return (report.after.rss / report.before.rss) * 100;
        } finally {
          await child.stop();
        }
      }

      const figures = roundLog((name, round, value) => ctx.log(`round ${round + 1}: ${name} RSS after/before ${value.toFixed(1)} %`));
      for (let round = 0; round < rounds; round++) {
        await figures.run(round, [
          ['herald', () => measure('herald', round)],
          ['raw', () => measure('raw', round)],
        ]);
      }
      const warmToEnd = (mode: string): number[] =>
        (reports.get(mode) ?? []).map((r) => (r.after.rss / (r.samples[0]?.rss ?? r.before.rss)) * 100);
      const coldToEnd = (mode: string): number[] => (reports.get(mode) ?? []).map((r) => (r.after.rss / r.cold.rss) * 100);
      const megabytes = (mode: string): string => {
        const list = reports.get(mode) ?? [];
        const median = (pick: (r: Report) => number): string => summarize(list.map(pick)).median.toFixed(0);
        return `${mode} RSS ${median((r) => r.cold.rss)} at start, ${median((r) => r.before.rss)} after the warm-up → ` +
          `${median((r) => r.samples[0]?.rss ?? 0)} (10 %) → ${median((r) => r.after.rss)} MB, heap ${median((r) => r.before.heap)} → ${median((r) => r.after.heap)} MB`;
      };
      const rows: Row[] = [
        buildRow({
          scenario: SCENARIO, label: `RSS after / before a ${total.toLocaleString('en')}-event catch-up`, unit: '%', higherIsBetter: false,
          herald: figures.values('herald'), baseline: { name: 'raw keyset reader', values: figures.values('raw') },
          target: target(within(100, 10, '%')),
          note: `before = after a warm-up that read the first ${(reports.get('herald')?.[0]?.warmUp ?? 0).toLocaleString('en')} events ` +
            `with another handler (or cursor) and stopped, so the reader's fixed working set is in the baseline; ` +
            `${megabytes('herald')}; ${megabytes('raw')}; each after a full GC, in its own process`,
        }),
        buildRow({
          scenario: SCENARIO, label: 'RSS after / at the start of the process (cold, before any read)', unit: '%', higherIsBetter: false,
          herald: coldToEnd('herald'), baseline: { name: 'raw keyset reader', values: coldToEnd('raw') },
        }),
        buildRow({
          scenario: SCENARIO, label: 'RSS after / at 10 % of the catch-up (growth with log size)', unit: '%', higherIsBetter: false,
          herald: warmToEnd('herald'), baseline: { name: 'raw keyset reader', values: warmToEnd('raw') },
          target: target(within(100, 10, '%')),
        }),
      ];
      return { rows, remarks: [] };
    } finally {
      await sql.end({ timeout: 5 });
      await db.drop();
    }
  },
};
