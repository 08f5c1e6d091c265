/**
 * Scenario 4, strong dispatch: the round trip of `dispatch(..., { consistency: 'strong' })` with one strong
 * no-op handler, in the same process and in another process (woken through the cursor notifications). The
 * baseline is the same app's eventual dispatch (append only), measured in the same rounds.
 */
import { createApp, defineHandler } from '../../src/index.ts';
import type { App } from '../../src/index.ts';
import { spawnWorker, type Child } from '../child.ts';
import { connect } from '../db.ts';
import { payload, stopQuietly, store } from '../herald.ts';
import { roundLog } from '../rounds.ts';
import { buildRow, latencyPercentiles } from '../stats.ts';
import { atMost, target } from '../targets.ts';
import { now } from '../timing.ts';
import type { Row, Scenario } from '../types.ts';

const SCENARIO = 'Strong dispatch';

/** `count` sequential dispatches; returns p50 and p99 of their round trips. */
async function roundTrips(app: App, count: number, strong: boolean, stream: string): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = now();
    await app.dispatch(`${stream}-${i % 20}`, { type: 'OrderPlaced', data: payload(i) }, strong ? { consistency: 'strong', timeoutMs: 10_000 } : {});
    samples.push(now() - started);
  }
  return latencyPercentiles(samples);
}

export const strong: Scenario = {
  name: 'strong',
  title: SCENARIO,
  timeoutMs: 10 * 60_000,
  async run(ctx) {
    const count = ctx.quick ? 20 : 400;
    const db = await ctx.freshDatabase('strong');
    const sql = connect(db.url);
    const local = createApp({ store: store(sql, 'local'), name: 'strong-local' });
    const remote = createApp({ store: store(sql, 'remote'), name: 'strong-remote-caller' });
    let child: Child | undefined;
    try {
      await local.start([defineHandler({ name: 'projector', consistency: 'strong', startFrom: 'current', handle: () => undefined })]);
      await remote.start([]);
      child = spawnWorker('bench/workers/strong-handler.ts', [db.url, 'remote', 'remote-projector']);
      await child.line((line) => line === 'ready', 60_000);

      // Warm-up, not recorded.
      for (const app of [local, remote]) {
        await roundTrips(app, Math.min(50, count), false, 'warm');
        await roundTrips(app, Math.min(50, count), true, 'warm');
      }

      const figures = roundLog((name, round, value) => ctx.log(`round ${round + 1}: ${name} ${value.toFixed(2)} ms`));
      for (let round = 0; round < ctx.rounds; round++) {
        for (const [where, app] of [['in-process', local], ['other process', remote]] as const) {
          const results: Record<string, { p50: number; p99: number }> = {};
          await figures.run(round, [
            [`${where} eventual p50`, async () => (results['eventual'] = await roundTrips(app, count, false, `r${round}`)).p50],
            [`${where} strong p50`, async () => (results['strong'] = await roundTrips(app, count, true, `r${round}`)).p50],
          ]);
          await figures.run(round, [
            [`${where} eventual p99`, async () => results['eventual']?.p99 ?? Number.NaN],
            [`${where} strong p99`, async () => results['strong']?.p99 ?? Number.NaN],
          ]);
        }
      }
      const rows: Row[] = [];
      for (const where of ['in-process', 'other process'] as const) {
        for (const p of ['p50', 'p99'] as const) {
          rows.push(buildRow({
            scenario: SCENARIO,
            label: `${p}, handler ${where === 'in-process' ? 'in the same process' : 'in another process'}`,
            unit: 'ms',
            higherIsBetter: false,
            herald: figures.values(`${where} strong ${p}`),
            baseline: { name: 'eventual dispatch', values: figures.values(`${where} eventual ${p}`) },
            target: where === 'in-process' && p === 'p50' ? target(atMost(5, 'ms')) : undefined,
            note: where === 'other process' && p === 'p50' ? `${count} sequential dispatches per round; the caller has no handler and waits on the cursor notifications of the other process` : undefined,
          }));
        }
      }
      return { rows, remarks: [] };
    } finally {
      await child?.stop();
      await stopQuietly(local);
      await stopQuietly(remote);
      await sql.end({ timeout: 5 });
      await db.drop();
    }
  },
};
