/**
 * Where live latency goes: events dispatched at a steady rate (open loop) to one live no-op handler, each
 * timed at every step the store shows from outside, from the dispatch call to the start of `handle`.
 *
 *   npx tsx bench/live-trace.ts                 # throwaway server, 1,000/s for 10 s after 1 s of warm-up
 *   TRACE_RATE=300 TRACE_SECONDS=5 npx tsx bench/live-trace.ts
 *
 * Steps (percentiles over every event, in ms):
 *   append    dispatch called → dispatch resolved (appended, committed, numbered)
 *   to-read   dispatch called → the handler's read that returned the event was issued (often before the
 *             dispatch resolved: the notification of the numbering can arrive before the append's reply)
 *   read      that read issued → returned
 *   handle    read returned → handle starts
 *   total     dispatch called → handle starts (what the `live-latency` scenario reports)
 * and, per event, the handler's reads, its wake-ups (append notifications) and the CPU time of this process
 * and of the PostgreSQL server (both on this machine; other load on it inflates neither, but slows both).
 */
import { readFileSync } from 'node:fs';
import type { Sql } from 'postgres';
import { createApp, defineHandler } from '../src/index.ts';
import type { App, EventStore } from '../src/index.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { connect } from './db.ts';
import { payload, stopQuietly, store } from './herald.ts';
import { latencyPercentiles } from './stats.ts';
import { now, sleep } from './timing.ts';

const rate = Number(process.env['TRACE_RATE'] ?? 1000);
const seconds = Number(process.env['TRACE_SECONDS'] ?? 10);

interface Trace {
  called: number;
  resolved?: number;
  readIssued?: number;
  readReturned?: number;
  handled?: number;
}

const traces = new Map<number, Trace>();
let reads = 0;
const wakes: number[] = [];

/** The store with every read and wake-up counted, and the read that returned each traced event timed. */
function traced(base: EventStore): EventStore {
  return {
    ...base,
    async read(request) {
      const issued = now();
      reads++;
      const result = await base.read(request);
      const returned = now();
      for (const event of result.events) {
        const data = event.data as { i?: number; record?: boolean };
        const trace = data.record === true && data.i !== undefined ? traces.get(data.i) : undefined;
        if (trace !== undefined && trace.readIssued === undefined) Object.assign(trace, { readIssued: issued, readReturned: returned });
      }
      return result;
    },
    onAppend(listener) {
      return base.onAppend(() => {
        wakes.push(now());
        listener();
      });
    },
  };
}

/** CPU milliseconds used so far by the server's processes (it runs on this machine, found by pid). */
async function postgresCpuMs(sql: Sql): Promise<number> {
  const rows = await sql<{ pid: number }[]>`select pid from pg_stat_activity`;
  let ticks = 0;
  for (const { pid } of rows) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended meanwhile.
    }
  }
  return ticks * 10;
}

/** Dispatches `perSecond` events a second for `ms`, never waiting for one to finish; traces them if `record`. */
async function paced(app: App, perSecond: number, ms: number, record: boolean): Promise<void> {
  const total = Math.round((perSecond * ms) / 1000);
  const started = now();
  const writes: Promise<unknown>[] = [];
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((now() - started) * perSecond) / 1000) + 1);
    while (sent < due) {
      const i = sent++;
      const trace: Trace = { called: now() };
      if (record) traces.set(i, trace);
      writes.push(
        app.dispatch(`live-${i % 50}`, { type: 'OrderPlaced', data: { ...payload(i), i, record } }).then(() => {
          trace.resolved = now();
        }),
      );
    }
    await sleep(1);
  }
  await Promise.all(writes);
}

const fmt = (label: string, values: number[]): string => {
  const p = latencyPercentiles(values);
  return `${label.padEnd(9)} p50 ${p.p50.toFixed(2).padStart(7)}  p95 ${p.p95.toFixed(2).padStart(7)}  p99 ${p.p99.toFixed(2).padStart(7)}  (n=${values.length})`;
};

const server = await startPostgres();
const sql = connect(server.url);
let app: App | undefined;
try {
  app = createApp({ store: traced(store(sql, 'herald')), name: 'trace' });
  await app.start([
    defineHandler({
      name: 'live',
      startFrom: 'current',
      handle: (event) => {
        const data = event.data as { i: number; record: boolean };
        const trace = data.record ? traces.get(data.i) : undefined;
        if (trace !== undefined) trace.handled = now();
      },
    }),
  ]);
  await paced(app, rate, 1000, false);
  await sleep(500);
  const readsBefore = reads;
  const wakesBefore = wakes.length;
  const cpuBefore = process.cpuUsage();
  const pgBefore = await postgresCpuMs(sql);
  await paced(app, rate, seconds * 1000, true);
  const cpu = process.cpuUsage(cpuBefore);
  const pgCpu = (await postgresCpuMs(sql)) - pgBefore;
  const perEvent = (x: number): string => (x / (rate * seconds)).toFixed(3);
  console.log(`per event: ${perEvent(reads - readsBefore)} reads, ${perEvent(wakes.length - wakesBefore)} wake-ups, ` +
    `${perEvent((cpu.user + cpu.system) / 1000)} ms node CPU, ${perEvent(pgCpu)} ms PostgreSQL CPU`);
  const deadline = now() + 15_000;
  while ([...traces.values()].some((t) => t.handled === undefined) && now() < deadline) await sleep(10);

  const all = [...traces.values()].filter((t): t is Required<Trace> => t.handled !== undefined && t.readReturned !== undefined);
  const step = (f: (t: Required<Trace>) => number): number[] => all.map(f);
  console.log(`${rate}/s for ${seconds} s: ${all.length} of ${traces.size} events traced, ` +
    `${all.filter((t) => t.readIssued < t.resolved).length} read before their dispatch resolved`);
  console.log(fmt('append', step((t) => t.resolved - t.called)));
  console.log(fmt('to-read', step((t) => t.readIssued - t.called)));
  console.log(fmt('read', step((t) => t.readReturned - t.readIssued)));
  console.log(fmt('handle', step((t) => t.handled - t.readReturned)));
  console.log(fmt('total', step((t) => t.handled - t.called)));
} finally {
  if (app !== undefined) await stopQuietly(app);
  await sql.end({ timeout: 5 });
  await server.stop();
}
