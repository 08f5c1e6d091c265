import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A herald child process running `test/fixtures/pg-worker.ts` with a role. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Resolves once the child printed `ready`. */
  readonly ready: Promise<void>;
  /** Resolves with the exit code (or signal) once the child ended. */
  readonly exited: Promise<number | string>;
  output(): string;
}

/** Starts a `test/fixtures/pg-worker.ts` process with a role; every one is killed when the test process exits. */
export function startWorker(url: string, schema: string, role: string, ...extra: string[]): WorkerProcess {
  return startFixture('pg-worker.ts', url, schema, role, ...extra);
}

/** Starts `test/fixtures/<fixture>` with arguments; every one is killed when the test process exits. */
export function startFixture(fixture: string, ...args: string[]): WorkerProcess {
  const path = fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url));
  const role = `${fixture} ${args.slice(2, 3).join(' ')}`;
  const child = spawn(process.execPath, ['--import', 'tsx', path, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready')) resolve();
    });
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code, signal) => reject(new Error(`worker ${role} exited (${code ?? signal}) before ready:\n${out}`)));
  });
  ready.catch(() => {});
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return { child, ready, exited, output: () => out };
}
