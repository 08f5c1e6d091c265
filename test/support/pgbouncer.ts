/**
 * A PgBouncer in transaction pooling mode in front of the test server, on a free loopback port, for
 * test/postgres-pgbouncer.test.ts. Needs the `pgbouncer` binary (Debian: `apt-get install -y pgbouncer`);
 * {@link findPgBouncer} says why not when it cannot run, so the test can skip with that reason.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running PgBouncer. */
export interface TestPgBouncer {
  /** The server's URL with PgBouncer's host and port. */
  readonly url: string;
  stop(): Promise<void>;
}

const candidates = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

/** The pgbouncer binary and the user to run it as (PgBouncer refuses root), or why it cannot run here. */
export function findPgBouncer(): { bin: string; user: string | undefined } | { reason: string } {
  let bin = candidates.find((path) => existsSync(path));
  if (bin === undefined) {
    try {
      bin = execFileSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      bin = undefined;
    }
  }
  if (bin === undefined) return { reason: 'pgbouncer is not installed (Debian: apt-get install -y pgbouncer)' };
  if (process.getuid?.() !== 0) return { bin, user: undefined };
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    return { reason: 'running as root without a postgres user to run pgbouncer as (PgBouncer refuses root)' };
  }
  return { bin, user: 'postgres' };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Starts PgBouncer (transaction mode, `poolSize` server connections per user and database) in front of `serverUrl`. */
export async function startPgBouncer(serverUrl: string, found: { bin: string; user: string | undefined }, poolSize = 3): Promise<TestPgBouncer> {
  const server = new URL(serverUrl);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'herald-pgbouncer-'));
  chmodSync(dir, 0o755);
  const target = [`host=${server.hostname}`, `port=${server.port || '5432'}`, `user=${decodeURIComponent(server.username)}`];
  if (server.password !== '') target.push(`password=${decodeURIComponent(server.password)}`);
  const config = join(dir, 'pgbouncer.ini');
  writeFileSync(
    config,
    [
      '[databases]',
      `* = ${target.join(' ')}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = any',
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 500',
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
  );
  chmodSync(config, 0o644);
  const args = found.user === undefined ? [config] : ['-u', found.user, config];
  const child: ChildProcess = spawn(found.bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await accepting(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pgbouncer did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const url = new URL(serverUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
