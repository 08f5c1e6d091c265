/**
 * One workload through three systems: enqueue `count` small messages in bulk calls of `chunk` from one
 * caller while a no-op worker with concurrency 8 processes them; timed from the first enqueue call to the
 * last message handled. herald: `app.dispatch` of `chunk` events per call, one handler with `concurrency: 8`.
 * The job queues run twice, with their defaults at concurrency 8 and tuned as their docs recommend for throughput:
 * - graphile-worker 0.16: jobs added in bulk with `graphile_worker.add_jobs`; default `run({ concurrency: 8 })`;
 *   tuned as its performance page (`concurrentJobs: 24`, `maxPoolSize: 25`). Its local queue and batched
 *   completions (`localQueue`, `completeJobBatchDelay`) arrived in 0.17: 0.16.6 has neither.
 * - pg-boss 10: `insert()` in bulk; tuned: 8 `work()` loops fetching batches of {@link PG_BOSS_BATCH} at the shortest
 *   polling interval (0.5 s). Its defaults (one job per fetch, then a 2 s pause per loop) allow 4 jobs/s from 8
 *   loops: 50,000 messages would take hours, so only the tuned run is made.
 */
import { Logger, run } from 'graphile-worker';
import PgBoss from 'pg-boss';
import { createApp, defineHandler } from '../src/index.ts';
import { connect } from './db.ts';
import { payload, stopQuietly, store } from './herald.ts';
import { countdown, now, withTimeout } from './timing.ts';

/** What every system runs. */
export interface Workload {
  readonly url: string;
  readonly count: number;
  readonly chunk: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
}

/** Timing of one run, in milliseconds from the first enqueue call. */
export interface QueueTiming {
  readonly enqueuedMs: number;
  readonly processedMs: number;
}

/** pg-boss: jobs fetched per `work()` poll. At 100, 8 loops polling every 0.5 s cap it at 1,600 msg/s; at 1,000 it is bound by its inserts. */
export const PG_BOSS_BATCH = 1000;

async function enqueueAll(workload: Workload, enqueue: (messages: { n: number }[], call: number) => Promise<unknown>): Promise<void> {
  for (let call = 0; call * workload.chunk < workload.count; call++) {
    const size = Math.min(workload.chunk, workload.count - call * workload.chunk);
    await enqueue(Array.from({ length: size }, (_, k) => ({ n: call * workload.chunk + k })), call);
  }
}

async function timed(workload: Workload, done: Promise<number>, enqueue: (messages: { n: number }[], call: number) => Promise<unknown>): Promise<QueueTiming> {
  const started = now();
  await enqueueAll(workload, enqueue);
  const enqueuedMs = now() - started;
  const finished = await withTimeout(done, workload.timeoutMs, 'queue workload');
  return { enqueuedMs, processedMs: finished - started };
}

/** herald: messages are events, the worker is a handler started from the current end of the log. */
export async function heraldQueue(workload: Workload): Promise<QueueTiming> {
  const sql = connect(workload.url);
  const counter = countdown(workload.count);
  const app = createApp({ store: store(sql, 'herald'), name: 'queue' });
  try {
    await app.start([defineHandler({ name: 'worker', startFrom: 'current', concurrency: workload.concurrency, handle: () => counter.hit() })]);
    return await timed(workload, counter.done, (messages, call) =>
      app.dispatch(`queue-${call}`, messages.map(({ n }) => ({ type: 'Job', data: payload(n) }))),
    );
  } finally {
    await stopQuietly(app);
    await sql.end({ timeout: 5 });
  }
}

/** How a job queue is configured: its defaults, or tuned for throughput as its docs say. */
export type QueueVariant = 'default' | 'tuned';

/** graphile-worker's performance page: 24 concurrent jobs on a pool of 25 connections. */
export const GRAPHILE_TUNED = { concurrency: 24, maxPoolSize: 25 } as const;

/** graphile-worker: a runner with a no-op task; bulk `add_jobs` in one statement per chunk. */
export async function graphileQueue(workload: Workload, variant: QueueVariant = 'default'): Promise<QueueTiming> {
  const counter = countdown(workload.count);
  const sql = connect(workload.url, 2);
  const runner = await run({
    connectionString: workload.url,
    ...(variant === 'tuned' ? GRAPHILE_TUNED : { concurrency: workload.concurrency }),
    noHandleSignals: true,
    pollInterval: 1000,
    logger: new Logger(() => () => undefined),
    taskList: { noop: async () => void counter.hit() },
  });
  try {
    return await timed(workload, counter.done, (messages) =>
      sql`select graphile_worker.add_jobs(array(
            select json_populate_recordset(null::graphile_worker.job_spec, ${JSON.stringify(
              messages.map(({ n }) => ({ identifier: 'noop', payload: payload(n) })),
            )}::text::json)))`,
    );
  } finally {
    await withTimeout(runner.stop(), 15_000, 'graphile-worker stop').catch(() => undefined);
    await sql.end({ timeout: 5 });
  }
}

/** pg-boss, tuned: `concurrency` work loops on one queue, each fetching up to {@link PG_BOSS_BATCH} jobs per poll. */
export async function pgBossQueue(workload: Workload): Promise<QueueTiming> {
  const counter = countdown(workload.count);
  const boss = new PgBoss({ connectionString: workload.url, max: workload.concurrency + 2 });
  const errors: unknown[] = [];
  boss.on('error', (error) => void errors.push(error));
  await boss.start();
  try {
    await boss.createQueue('bench');
    for (let i = 0; i < workload.concurrency; i++) {
      await boss.work('bench', { batchSize: PG_BOSS_BATCH, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        for (let j = 0; j < jobs.length; j++) counter.hit();
      });
    }
    const timing = await timed(workload, counter.done, (messages) => boss.insert(messages.map(({ n }) => ({ name: 'bench', data: payload(n) }))));
    if (errors.length > 0) throw new Error(`pg-boss reported ${errors.length} error(s): ${String(errors[0])}`);
    return timing;
  } finally {
    await withTimeout(boss.stop({ graceful: false, wait: true, timeout: 5000 }), 15_000, 'pg-boss stop').catch(() => undefined);
  }
}
