/**
 * Profiles one herald workload with the V8 CPU profiler, recording only the measured part (not the server
 * start or the seeding), and writes `<out>.cpuprofile`; summarize it with `bench/profile-top.ts`.
 *
 *   npx tsx bench/workers/profile.ts catch-up|transactional|append|append-single [events] [out]
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { startPostgres } from '../../test/support/postgres.ts';
import { createApp } from '../../src/index.ts';
import { connect } from '../db.ts';
import { payload, seed, stopQuietly, store, timeCatchUp } from '../herald.ts';
import { now, runPool } from '../timing.ts';

const [kind = 'catch-up', eventsText, out = `/tmp/herald-${kind}`] = process.argv.slice(2);
const events = Number(eventsText ?? 200_000);
const server = await startPostgres();
const sql = connect(server.url);
const session = new Session();
session.connect();

async function profiled<T>(work: () => Promise<T>): Promise<T> {
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  const result = await work();
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(`${out}.cpuprofile`, JSON.stringify(profile));
  return result;
}

try {
  const log = store(sql, 'herald');
  await log.migrate();
  if (kind === 'append' || kind === 'append-single') {
    // append: 8 callers, batches of 100; append-single: 1 caller, one event per dispatch.
    const app = createApp({ store: store(sql, 'herald'), name: 'profile' });
    const perCall = kind === 'append' ? 100 : 1;
    const started = now();
    await profiled(() =>
      runPool(events / perCall, perCall === 1 ? 1 : 8, (i) =>
        app.dispatch(`s-${i % 160}`, Array.from({ length: perCall }, (_, k) => ({ type: 'OrderPlaced', data: payload(i * perCall + k) }))),
      ),
    );
    console.log(`append: ${Math.round((events * 1000) / (now() - started))} ev/s (profiled)`);
    await stopQuietly(app);
  } else {
    await seed(log, { total: events, streams: events / 200, perAppend: 100, parallel: 4 });
    await sql`vacuum analyze`;
    const ms = await profiled(() =>
      timeCatchUp({ sql, schema: 'herald', name: kind, count: events, timeoutMs: 600_000, handler: kind === 'transactional' ? { transactional: true } : {} }),
    );
    console.log(`${kind}: ${Math.round((events * 1000) / ms)} ev/s (profiled)`);
  }
  console.log(`wrote ${out}.cpuprofile`);
} finally {
  session.disconnect();
  await sql.end({ timeout: 5 });
  await server.stop();
}
