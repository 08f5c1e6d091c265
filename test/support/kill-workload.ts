/**
 * Drives `test/fixtures/pg-kill-workload.ts` children for the driver test: starts one, asks for its
 * statistics, and runs rounds of disruptions (backend kills, server restarts) against it, replacing the
 * child whenever it crashed or stopped serving, so that one run counts every failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkloadStats } from '../fixtures/pg-kill-workload.ts';

const fixture = fileURLToPath(new URL('../fixtures/pg-kill-workload.ts', import.meta.url));
/** Bounds only keep a broken driver from hanging the test; nothing asserts how long anything took. */
const progressBoundMs = 20_000;
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
let started = 0;

/** A running workload child. */
export interface Workload {
  /** Its `application_name`, to find its backends. */
  readonly name: string;
  /** The latest statistics (the last known ones once the child ended). */
  stats(): Promise<WorkloadStats>;
  /** Stops the loops, waits for pending queries (bounded), returns the final statistics. */
  stop(): Promise<WorkloadStats>;
  /** The exit code or signal once ended, else `undefined`. */
  ended(): number | string | undefined;
  stderr(): string;
  kill(): Promise<void>;
}

const emptyStats: WorkloadStats = { ok: 0, failed: 0, pending: 0, wedged: 0, unhandled: 0, errors: {}, samples: [], listens: 0, notifications: 0, connections: 0, listening: false };

/** Starts a workload child and resolves once it is busy. */
export function startWorkload(url: string, env: NodeJS.ProcessEnv = {}): Promise<Workload> {
  const name = `herald-kill-${process.pid}-${started++}`;
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, url, name], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, ...env },
  });
  children.add(child);
  let stderr = '';
  let exit: number | string | undefined;
  let last = emptyStats;
  const waiting = new Set<(stats: WorkloadStats) => void>();
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = code ?? signal ?? 'unknown';
      children.delete(child);
      for (const resolveStats of waiting) resolveStats(last);
      resolve();
    }),
  );
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.on('message', (message: { type: string; stats?: WorkloadStats }) => {
    if (message.stats !== undefined) last = message.stats;
    if (message.type === 'status' || message.type === 'final') {
      for (const resolveStats of waiting) resolveStats(last);
      waiting.clear();
    }
  });
  const ask = (type: 'status' | 'stop'): Promise<WorkloadStats> =>
    exit !== undefined
      ? Promise.resolve(last)
      : new Promise((resolve) => {
          waiting.add(resolve);
          child.send({ type }, (error) => error && resolve(last));
        });
  const workload: Workload = {
    name,
    stats: () => ask('status'),
    stop: async () => {
      const stats = await ask('stop');
      await exited;
      return stats;
    },
    ended: () => exit,
    stderr: () => stderr,
    kill: async () => {
      if (exit === undefined) child.kill('SIGKILL');
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(workload));
    void exited.then(() => reject(new Error(`workload exited (${String(exit)}) before ready:\n${stderr}`)));
  });
}

/** Whether the workload completed `count` more operations (false if it died or stalled). */
export async function progressed(workload: Workload, count: number): Promise<boolean> {
  const target = (await workload.stats()).ok + count;
  const deadline = Date.now() + progressBoundMs;
  while (Date.now() < deadline) {
    if (workload.ended() !== undefined) return false;
    if ((await workload.stats()).ok >= target) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return false;
}

/** What a series of disruptions did. */
export interface Summary {
  rounds: number;
  /** One cause per child that died. */
  crashes: string[];
  /** Children alive but not serving queries any more. */
  stalls: number;
  ok: number;
  failed: number;
  wedged: number;
  unhandled: number;
  /** Queries still pending when a live child was stopped. */
  unsettled: number;
  /** Connections serving at the end of the last child (out of its pool of 4). */
  connections: number;
  /** Whether the last child's LISTEN still heard a notification at the end. */
  listening: boolean;
  /** LISTENs in place (the first, and each one after a reconnect), over every child. */
  listens: number;
  errors: Record<string, number>;
  samples: string[];
}

function crashCause(stderr: string): string {
  if (stderr.includes("Cannot read properties of null (reading 'write')")) return 'null socket write';
  const line = stderr.split('\n').find((l) => /Error|error:/.test(l));
  return (line ?? stderr.slice(0, 200)).trim();
}

/** Runs `rounds` disruptions against a busy workload, replacing the child whenever it crashes or stalls. */
export async function disruptRounds(url: string, rounds: number, disrupt: (workload: Workload) => Promise<void>, env: NodeJS.ProcessEnv = {}): Promise<Summary> {
  const summary: Summary = { rounds, crashes: [], stalls: 0, ok: 0, failed: 0, wedged: 0, unhandled: 0, unsettled: 0, connections: 0, listening: false, listens: 0, errors: {}, samples: [] };
  /** A crashed child's pending queries died with it: only a live child's count as unsettled. */
  const add = (stats: WorkloadStats, crashed: boolean): void => {
    summary.ok += stats.ok;
    summary.failed += stats.failed;
    summary.wedged += stats.wedged;
    summary.unhandled += stats.unhandled;
    summary.listens += stats.listens;
    if (!crashed) summary.unsettled += stats.pending;
    for (const [code, n] of Object.entries(stats.errors)) summary.errors[code] = (summary.errors[code] ?? 0) + n;
    summary.samples.push(...stats.samples.slice(0, Math.max(0, 5 - summary.samples.length)));
  };
  const retire = async (workload: Workload): Promise<void> => {
    const crashed = workload.ended() !== undefined;
    if (crashed) summary.crashes.push(crashCause(workload.stderr()));
    else summary.stalls++;
    const stats = await workload.stats();
    await workload.kill();
    add(stats, crashed);
  };

  let workload = await startWorkload(url, env);
  for (let round = 0; round < rounds; round++) {
    // Vary the moment of the disruption within the stream of queries.
    if (!(await progressed(workload, 20 + ((round * 37) % 80)))) {
      await retire(workload);
      workload = await startWorkload(url, env);
      continue;
    }
    await disrupt(workload);
    if (!(await progressed(workload, 20))) {
      await retire(workload);
      workload = await startWorkload(url, env);
    }
  }
  if (workload.ended() !== undefined) {
    await retire(workload);
  } else {
    const stats = await workload.stop();
    add(stats, false);
    summary.connections = stats.connections;
    summary.listening = stats.listening;
  }
  return summary;
}

/** The part of a summary that must be clean. */
export function verdict(summary: Summary): Record<string, number | boolean> {
  const { crashes, stalls, wedged, unhandled, unsettled, connections, listening } = summary;
  return { crashes: crashes.length, stalls, wedged, unhandled, unsettled, connections, listening };
}
