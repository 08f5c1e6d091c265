/**
 * A throwaway PostgreSQL server for tests.
 *
 * ```ts
 * const pg = await startPostgres();          // once per test file (before())
 * const sql = postgres(pg.url);
 * const schema = await freshSchema(sql);     // once per test: a unique, unused schema name
 * ...
 * await sql.end(); await pg.stop();          // after(): stops the server and removes its directory
 * ```
 *
 * With `DATABASE_URL` set, that server is used instead: `stop()` does nothing (the server is not ours),
 * and `restart()` / `pgCtl()` throw, so tests that need them should skip when `external` is true.
 *
 * Otherwise `initdb` + `pg_ctl` start a server in a fresh temp directory on a free loopback port,
 * with test-speed settings (`fsync=off`, no full page writes, unix socket inside the directory).
 * Binaries come from the highest `/usr/lib/postgresql/<version>/bin`, else from `PATH`. When the
 * tests run as root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
 * If a test run ends before `stop()` (a failure, or SIGINT/SIGTERM, e.g. the test runner's timeout), a
 * hook stops the server synchronously (`pg_ctl stop -m immediate`) and removes its directory.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sql } from 'postgres';

/** A running test server. */
export interface TestPostgres {
  /** Connection URL (superuser, database `postgres`). */
  readonly url: string;
  /** `true` when the server came from `DATABASE_URL` (stop/restart are not ours to do). */
  readonly external: boolean;
  /** Stops the server and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** Restarts the server (`pg_ctl restart -m immediate`): every connection is dropped. */
  restart(): Promise<void>;
  /** Runs `pg_ctl <args> -D <datadir>` as the server's user. */
  pgCtl(...args: string[]): Promise<void>;
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
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

const asRoot = process.getuid?.() === 0;

/** Servers still running, stopped synchronously if the process exits or is killed before `stop()`. */
const running = new Set<() => void>();
let watching = false;

function stopAll(): void {
  for (const stop of [...running]) stop();
}

function onSignal(signal: NodeJS.Signals): void {
  stopAll();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.kill(process.pid, signal);
}

function watchProcess(): void {
  if (watching) return;
  watching = true;
  process.on('exit', stopAll);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** The command line that runs `binary` as the server's user. */
function command(bin: string | undefined, binary: string, args: string[]): [string, string[]] {
  const path = bin === undefined ? binary : join(bin, binary);
  return asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
}

function run(bin: string | undefined, binary: string, args: string[]): Promise<void> {
  const [file, argv] = command(bin, binary, args);
  return new Promise((resolve, reject) => {
    execFile(file, argv, { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${binary} ${args.join(' ')} failed: ${stderr || stdout}`, { cause: error }));
      else resolve();
    });
  });
}

/** Starts a throwaway server, or uses `DATABASE_URL`. */
export async function startPostgres(): Promise<TestPostgres> {
  const external = process.env['DATABASE_URL'];
  if (external !== undefined && external !== '') {
    const refuse = async (): Promise<void> => {
      throw new Error('cannot restart or control a DATABASE_URL server');
    };
    return { url: external, external: true, stop: async () => {}, restart: refuse, pgCtl: refuse };
  }

  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'herald-pg-'));
  const data = join(dir, 'data');
  if (asRoot) {
    chmodSync(dir, 0o755);
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()));
  }
  let port = 0;
  let settings = '';
  const pgCtl = (...args: string[]): Promise<void> => run(bin, 'pg_ctl', [...args, '-D', data, '-s', '-w', '-o', settings]);

  let stopped = false;
  const emergencyStop = (): void => {
    if (stopped) return;
    stopped = true;
    running.delete(emergencyStop);
    try {
      const [file, argv] = command(bin, 'pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-s']);
      execFileSync(file, argv, { stdio: 'ignore' });
    } catch {
      // already down, or never started
    }
    rmSync(dir, { recursive: true, force: true });
  };
  watchProcess();
  running.add(emergencyStop);

  try {
    await run(bin, 'initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    // The free port may be taken by someone else before the server binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      settings = [
        `-p ${port}`,
        `-k ${dir}`,
        '-c listen_addresses=127.0.0.1',
        '-c fsync=off',
        '-c full_page_writes=off',
        '-c max_connections=200',
        '-c shared_buffers=256MB',
      ].join(' ');
      try {
        await pgCtl('start', '-l', join(dir, 'server.log'));
        break;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  } catch (error) {
    emergencyStop();
    throw error;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    external: false,
    async stop() {
      if (stopped) return;
      stopped = true;
      running.delete(emergencyStop);
      await pgCtl('stop', '-m', 'fast').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
    restart: () => pgCtl('restart', '-m', 'immediate', '-l', join(dir, 'server.log')),
    pgCtl,
  };
}

/** A unique schema name not used yet (the caller creates it, e.g. through `migrate()`). */
export async function freshSchema(sql: Sql): Promise<string> {
  for (;;) {
    const name = `test_${randomBytes(6).toString('hex')}`;
    const [row] = await sql<{ taken: boolean }[]>`select exists (select 1 from pg_namespace where nspname = ${name}) as taken`;
    if (row?.taken !== true) return name;
  }
}
