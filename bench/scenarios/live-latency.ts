/**
 * Scenario 3, live latency: events dispatched at a steady rate to a live handler; the latency is from the
 * moment `dispatch` is called (before the INSERT, so the commit is inside it) to the start of `handle`.
 * Baseline: a raw INSERT that notifies in the same statement, to a postgres.js LISTEN on another connection.
 */
import type { Sql } from 'postgres';
import { monotonicFactory } from 'ulid';
import { createApp, defineHandler } from '../../src/index.ts';
import type { App } from '../../src/index.ts';
import { connect } from '../db.ts';
import { payload, stopQuietly, store } from '../herald.ts';
import { createRawEventsTable } from '../raw.ts';
import { roundLog } from '../rounds.ts';
import { buildRow, latencyPercentiles, summarize } from '../stats.ts';
import { atMost, ratioAtMost, target } from '../targets.ts';
import { now, sleep, withTimeout } from '../timing.ts';
import type { Row, Scenario } from '../types.ts';

const SCENARIO = 'Live latency';

/** Calls `fire(i)` `rate` times a second for `durationMs` (open loop: never waits for a call to finish). */
async function paced(rate: number, durationMs: number, fire: (i: number) => void): Promise<number> {
  const total = Math.round((rate * durationMs) / 1000);
  const started = now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((now() - started) * rate) / 1000) + 1);
    while (sent < due) fire(sent++);
    await sleep(1);
  }
  return total;
}

/**
 * Runs one paced round; `send(t)` starts a write stamped with `t`, and the receiver pushes its latencies into
 * `samples`. Resolves with the median round trip of the writes themselves.
 */
async function measure(rate: number, durationMs: number, samples: number[], send: (t: number) => Promise<unknown>): Promise<number> {
  samples.length = 0;
  const writes: Promise<unknown>[] = [];
  const roundTrips: number[] = [];
  const expected = await paced(rate, durationMs, () => {
    const t = now();
    writes.push(send(t).then(() => void roundTrips.push(now() - t)));
  });
  await Promise.all(writes);
  await Promise.all(writes);
  const deadline = now() + 15_000;
  while (samples.length < expected && now() < deadline) await sleep(5);
  if (samples.length < expected) throw new Error(`only ${samples.length} of ${expected} writes arrived within 15 s`);
  return latencyPercentiles(roundTrips).p50;
}

export const liveLatency: Scenario = {
  name: 'live-latency',
  title: SCENARIO,
  timeoutMs: 10 * 60_000,
  async run(ctx) {
    const rate = ctx.quick ? 200 : 1000;
    const durationMs = ctx.quick ? 1000 : 10_000;
    const db = await ctx.freshDatabase('live');
    const sql = connect(db.url);
    const listener = connect(db.url, 1);
    const heraldSamples: number[] = [];
    const rawSamples: number[] = [];
    let app: App | undefined;
    try {
      app = createApp({ store: store(sql, 'herald'), name: 'live' });
      await app.start([
        defineHandler({
          name: 'live',
          startFrom: 'current',
          handle: (event) => void heraldSamples.push(now() - (event.data as { t: number }).t),
        }),
      ]);
      await createRawEventsTable(sql);
      await listener.listen('bench_live', (stamp) => void rawSamples.push(now() - Number(stamp)));
      const running = app;
      const newId = monotonicFactory();
      let n = 0;
      const rawSend = (t: number): Promise<unknown> => rawNotify(sql, `raw-${n % 50}`, ++n, newId(), t);
      const heraldSend = (t: number): Promise<unknown> => running.dispatch(`live-${n++ % 50}`, { type: 'OrderPlaced', data: { ...payload(n), t } });

      // Warm-up, not recorded.
      const warmMs = ctx.quick ? 300 : 1000;
      await measure(rate, warmMs, rawSamples, rawSend);
      await measure(rate, warmMs, heraldSamples, heraldSend);

      const writeTrips = { raw: [] as number[], herald: [] as number[] };
      const figures = roundLog((name, round, value) => ctx.log(`round ${round + 1}: ${name} ${value.toFixed(2)} ms`));
      for (let round = 0; round < ctx.rounds; round++) {
        let raw = latencyPercentiles([0]);
        let herald = raw;
        await figures.run(round, [
          ['raw', async () => {
            writeTrips.raw.push(await withTimeout(measure(rate, durationMs, rawSamples, rawSend), durationMs + 60_000, 'live round'));
            raw = latencyPercentiles(rawSamples);
            return raw.p50;
          }],
          ['herald', async () => {
            writeTrips.herald.push(await withTimeout(measure(rate, durationMs, heraldSamples, heraldSend), durationMs + 60_000, 'live round'));
            herald = latencyPercentiles(heraldSamples);
            return herald.p50;
          }],
        ]);
        for (const p of ['p95', 'p99'] as const) {
          await figures.run(round, [[`raw ${p}`, async () => raw[p]], [`herald ${p}`, async () => herald[p]]]);
        }
      }
      const row = (p: string, key: string, check?: ReturnType<typeof target>): Row =>
        buildRow({
          scenario: SCENARIO,
          label: `${p}, ${rate}/s for ${durationMs / 1000} s per round`,
          unit: 'ms',
          higherIsBetter: false,
          herald: figures.values(key === '' ? 'herald' : `herald ${key}`),
          baseline: { name: 'raw INSERT + NOTIFY → LISTEN', values: figures.values(key === '' ? 'raw' : `raw ${key}`) },
          target: check,
          note: p === 'p50'
            ? `from the dispatch call (before the INSERT) to the start of handle, in one process; the write alone (dispatch resolved) takes ` +
              `${summarize(writeTrips.herald).median.toFixed(2)} ms at p50, the raw INSERT ${summarize(writeTrips.raw).median.toFixed(2)} ms`
            : undefined,
        });
      return {
        rows: [row('p50', '', target(atMost(3, 'ms'), ratioAtMost(1.5))), row('p95', 'p95'), row('p99', 'p99', target(atMost(15, 'ms'), ratioAtMost(2)))],
        remarks: [],
      };
    } finally {
      if (app !== undefined) await stopQuietly(app);
      await listener.end({ timeout: 5 });
      await sql.end({ timeout: 5 });
      await db.drop();
    }
  },
};

/** The raw write: one INSERT that also notifies the listener (delivered at commit). */
function rawNotify(sql: Sql, streamId: string, version: number, eventId: string, t: number): Promise<unknown> {
  return sql`
    with inserted as (
      insert into raw_events (stream_id, stream_version, event_id, type, data, metadata)
      values (${streamId}, ${version}, ${eventId}, 'OrderPlaced', ${JSON.stringify({ ...payload(version), t })}, '{}')
      returning 1
    )
    select pg_notify('bench_live', ${String(t)}) from inserted`;
}
