/**
 * The bench's PostgreSQL server. By default the test harness's throwaway server (`startPostgres()`: `fsync=off`,
 * `full_page_writes=off`), or `DATABASE_URL`. With `durable`, a throwaway server started here with the settings a
 * production server has (`fsync=on`, `synchronous_commit=on`, `full_page_writes=on`): the harness's server keeps
 * its test-speed settings on its command line, where nothing set later can override them.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '../test/support/postgres.ts';

/** A server the bench runs on. */
export interface BenchServer {
  readonly url: string;
  /** `true` for `DATABASE_URL`: its settings are whatever it was configured with. */
  readonly external: boolean;
  /** How it was started, for the environment section. */
  readonly origin: string;
  stop(): Promise<void>;
}

/** The settings of the durable server (the PostgreSQL defaults, written out). */
export const DURABLE_SETTINGS = ['fsync=on', 'synchronous_commit=on', 'full_page_writes=on'] as const;

/** Starts the bench's server: the harness's fast one, or (`durable`) one with production durability settings. */
export async function startBenchServer(durable: boolean): Promise<BenchServer> {
  const external = process.env['DATABASE_URL'];
  if (!durable || (external !== undefined && external !== '')) {
    const server = await startPostgres();
    const origin = server.external
      ? 'DATABASE_URL (not started by the bench)'
      : 'throwaway server started by the bench (test harness: initdb + pg_ctl on loopback)';
    return { url: server.url, external: server.external, origin, stop: () => server.stop() };
  }
  return startDurable();
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

const asRoot = process.getuid?.() === 0;

function run(binary: string, args: string[]): Promise<void> {
  const bin = binDir();
  const path = bin === undefined ? binary : join(bin, binary);
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${binary} ${args.join(' ')} failed: ${stderr || stdout}`, { cause: error }));
      else resolve();
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startDurable(): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-durable-'));
  const data = join(dir, 'data');
  if (asRoot) {
    const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chmodSync(dir, 0o755);
    chownSync(dir, id('-u'), id('-g'));
  }
  const port = await freePort();
  const settings = [`-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1', '-c max_connections=200', '-c shared_buffers=256MB',
    ...DURABLE_SETTINGS.map((s) => `-c ${s}`)].join(' ');
  const stopNow = (): void => {
    try {
      const bin = binDir();
      const path = bin === undefined ? 'pg_ctl' : join(bin, 'pg_ctl');
      const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', path, 'stop', '-D', data, '-m', 'immediate', '-s']] : [path, ['stop', '-D', data, '-m', 'immediate', '-s']];
      execFileSync(file, argv, { stdio: 'ignore' });
    } catch {
      // already down
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopNow);
  try {
    await run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
    await run('pg_ctl', ['start', '-D', data, '-s', '-w', '-l', join(dir, 'server.log'), '-o', settings]);
  } catch (error) {
    stopNow();
    throw error;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    external: false,
    origin: `throwaway server started by the bench (initdb + pg_ctl on loopback, durable: ${DURABLE_SETTINGS.join(', ')})`,
    async stop() {
      process.off('exit', stopNow);
      await run('pg_ctl', ['stop', '-D', data, '-s', '-w', '-m', 'fast']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
