/** Child processes of the bench (`node --import tsx bench/workers/…`): line-based output, bounded stop. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { withTimeout } from './timing.ts';

/** A running bench worker. */
export interface Child {
  /** Resolves with the first stdout line that satisfies `match` (lines already seen count too). */
  line(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** Closes its stdin (the worker's cue to stop), waits up to 15 s, then kills it. Never throws. */
  stop(): Promise<void>;
}

/** Starts `script` (a path from the repository root) with `args`, and `nodeArgs` before `--import tsx`. */
export function spawnWorker(script: string, args: readonly string[], nodeArgs: readonly string[] = []): Child {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => {
    exited = true;
    for (const wake of waiters) wake();
    resolve();
  }));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const wake of waiters) wake();
  });
  child.stdin.on('error', () => undefined);

  return {
    line(match, timeoutMs) {
      const found = new Promise<string>((resolve, reject) => {
        const check = (): void => {
          const hit = lines.find(match);
          if (hit !== undefined) {
            waiters.delete(check);
            resolve(hit);
          } else if (exited) {
            waiters.delete(check);
            reject(new Error(`${script} exited before printing the expected line (last: ${lines[lines.length - 1] ?? 'nothing'})`));
          }
        };
        waiters.add(check);
        check();
      });
      return withTimeout(found, timeoutMs, script);
    },
    async stop() {
      if (exited) return;
      child.stdin.end();
      try {
        await withTimeout(exit, 15_000, `${script} stop`);
      } catch {
        child.kill('SIGKILL');
        await exit;
      }
    },
  };
}
