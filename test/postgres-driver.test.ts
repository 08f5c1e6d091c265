/**
 * postgres.js survives its connections dying (HARD-PARTS §8). With the driver patched by
 * `scripts/patch-postgres.mjs`, a query on a dead connection rejects with a catchable error instead of
 * crashing the process from the immediate queue, a connection closed while a write was deferred reconnects
 * and serves again, and under repeated backend kills and server restarts no workload child crashes, every
 * query settles, and the pool keeps serving with all its connections.
 *
 * Measurements: `HERALD_KILL_ROUNDS=200 HERALD_RESTART_ROUNDS=10` raise the rounds;
 * `HERALD_POSTGRES_MODULE=<dir>/src/index.js` runs everything against another copy of the driver (e.g. one
 * restored with `node scripts/patch-postgres.mjs --revert <dir>`); `HERALD_KILL_OPERATIONS` picks the mix.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import postgres, { type Sql } from 'postgres';
import { assertDriverPatched, driverPatchMarker, patchWarning } from '../src/store/postgres/driver-guard.ts';
import { disruptRounds, verdict } from './support/kill-workload.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';

const { default: driver } = (await import(process.env['HERALD_POSTGRES_MODULE'] ?? 'postgres')) as { default: typeof postgres };
const killRounds = Number(process.env['HERALD_KILL_ROUNDS'] ?? 40);
const restartRounds = Number(process.env['HERALD_RESTART_ROUNDS'] ?? 3);
const script = fileURLToPath(new URL('../scripts/patch-postgres.mjs', import.meta.url));
const installed = fileURLToPath(new URL('../node_modules/postgres', import.meta.url));
const copies = ['src', 'cjs/src', 'cf/src'].flatMap((build) => [`${build}/connection.js`, `${build}/index.js`]);

let pg: TestPostgres;
let killer: Sql;

before(async () => {
  pg = await startPostgres();
  killer = postgres(pg.url, { max: 1, onnotice: () => {} });
});
after(async () => {
  await killer?.end({ timeout: 1 }).catch(() => undefined);
  await pg?.stop();
});

describe('postgres.js when a connection dies', () => {
  it('rejects a query issued in a transaction after its connection died, and the pool keeps every connection', async () => {
    const sql = driver(pg.url, { max: 2, onnotice: () => {} });
    let resume = (): void => {};
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    let late: Promise<unknown> | undefined;
    const transaction = sql.begin(async (tx) => {
      const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await killer`select pg_terminate_backend(${row?.pid ?? 0})`;
      await resumed;
      late = tx`select ${1}::int as n, ${'x'}::text as t`;
      await late;
    });
    await assert.rejects(transaction, { code: 'CONNECTION_CLOSED' });
    resume();
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(late ?? Promise.resolve(), { code: 'CONNECTION_CLOSED' });
    await new Promise((resolve) => setImmediate(resolve));

    const rows = await Promise.all([1, 2].map(() => sql<{ pid: number }[]>`select pg_backend_pid() as pid`));
    assert.equal(new Set(rows.map(([row]) => row?.pid)).size, 2, 'both connections of the pool serve');
    await sql.end({ timeout: 1 });
  });

  /** A pool of one connection whose socket the test holds (postgres.js takes a factory of connected sockets). */
  function poolWithSocket() {
    const url = new URL(pg.url);
    const held: { socket?: Socket } = {};
    const options = {
      max: 1,
      onnotice: () => {},
      connect_timeout: 5,
      socket: () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(Number(url.port), url.hostname);
          socket.once('connect', () => resolve((held.socket = socket)));
          socket.once('error', reject);
        }),
    };
    return { sql: driver(pg.url, options), held };
  }

  it('reconnects and serves the next query when the connection closes while a small write is deferred', async () => {
    const { sql, held } = poolWithSocket();
    await sql`select 1`;
    // Queued before the driver defers the next write: the close is handled while that write waits.
    setImmediate(() => {
      held.socket?.destroy();
      held.socket?.emit('close', false);
    });
    await assert.rejects(sql`select 2`, { code: 'CONNECTION_CLOSED' });
    const [row] = await sql<{ n: number }[]>`select 3 as n`;
    assert.equal(row?.n, 3);
    await sql.end({ timeout: 1 });
  });

  it('rejects a deferred write whose socket was destroyed before the flush, and serves the next query', async () => {
    const { sql, held } = poolWithSocket();
    await sql`select 1`;
    setImmediate(() => held.socket?.destroy());
    await assert.rejects(sql`select 2`, { code: 'CONNECTION_CLOSED' });
    const [row] = await sql<{ n: number }[]>`select 3 as n`;
    assert.equal(row?.n, 3);
    await sql.end({ timeout: 1 });
  });
});

/** No crash, no stall, nothing left pending, the whole pool serving and the LISTEN hearing at the end. */
const clean = { crashes: 0, stalls: 0, wedged: 0, unhandled: 0, unsettled: 0, connections: 4, listening: true };

describe('postgres.js under repeated connection deaths (a workload child)', () => {
  it('survives pg_terminate_backend on busy connections: no crash, every query settles, the pool keeps serving', { timeout: 300_000 }, async (t) => {
    const summary = await disruptRounds(pg.url, killRounds, async (workload) => {
      await killer`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${workload.name}`;
    });
    t.diagnostic(`pg_terminate_backend: ${JSON.stringify(summary)}`);
    assert.deepEqual(verdict(summary), clean, JSON.stringify(summary, null, 2));
    assert.ok(summary.failed > 0, 'the kills hit queries in flight');
    assert.ok(summary.listens > 1, 'the LISTEN connection listened again after a kill');
  });

  it('survives pg_ctl restart -m immediate under load', { timeout: 300_000 }, async (t) => {
    if (pg.external) return t.skip('a DATABASE_URL server cannot be restarted');
    const summary = await disruptRounds(pg.url, restartRounds, () => pg.restart());
    t.diagnostic(`pg_ctl restart: ${JSON.stringify(summary)}`);
    assert.deepEqual(verdict(summary), clean, JSON.stringify(summary, null, 2));
    assert.ok(summary.failed > 0, 'the restarts hit queries in flight');
  });
});

function run(args: string[], cwd = process.cwd(), env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [script, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: result.status, out: result.stdout + result.stderr };
}

/** A project directory holding a copy of the installed postgres package, restored to its original text. */
function projectWithOriginalDriver(): { root: string; dir: string } {
  const root = mkdtempSync(join(tmpdir(), 'herald-patch-'));
  const dir = join(root, 'node_modules', 'postgres');
  cpSync(installed, dir, { recursive: true });
  assert.equal(run(['--revert', dir]).code, 0);
  return { root, dir };
}

const read = (dir: string) => copies.map((copy) => readFileSync(join(dir, copy), 'utf8'));

describe('scripts/patch-postgres.mjs', () => {
  it('patches connection.js and index.js of every build, and a second run changes nothing', (t) => {
    const { root, dir } = projectWithOriginalDriver();
    t.after(() => rmSync(root, { recursive: true, force: true }));
    assert.ok(read(dir).every((text) => !text.includes(driverPatchMarker)));
    assert.equal(run(['--check', dir]).code, 1);

    assert.equal(run([dir]).code, 0);
    const patched = read(dir);
    assert.ok(patched.every((text) => text.includes(driverPatchMarker)));
    assert.equal(patched.filter((text) => text.includes('if (!socket || socket.destroyed)') && text.includes('nextWriteTimer = chunk = null')).length, 3);
    assert.equal(run([dir]).code, 0);
    assert.deepEqual(read(dir), patched);
    assert.equal(run(['--check', dir]).code, 0);
    assert.deepEqual(read(dir), read(installed), 'the same text as the installed, patched driver');
  });

  it('finds the driver both from herald’s location and from the installing project', (t) => {
    const { root, dir } = projectWithOriginalDriver();
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const { code, out } = run(['--check'], root, { INIT_CWD: root });
    assert.equal(code, 1);
    assert.match(out, new RegExp(`${dir}.*NOT patched`));
    assert.match(out, new RegExp(`${installed} is patched`));
  });

  it('patches the hoisted driver of a project that installs herald as a dependency', (t) => {
    const { root, dir } = projectWithOriginalDriver();
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const herald = join(root, 'node_modules', 'herald');
    cpSync(script, join(herald, 'scripts', 'patch-postgres.mjs'));
    // As npm runs a dependency's install script: from the package's own directory.
    const result = spawnSync(process.execPath, ['scripts/patch-postgres.mjs'], { cwd: herald, encoding: 'utf8', env: { ...process.env, INIT_CWD: root } });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`${dir} patched`));
    assert.ok(read(dir).every((text) => text.includes(driverPatchMarker)));
  });

  it('leaves another version of postgres alone with a notice', (t) => {
    const { root, dir } = projectWithOriginalDriver();
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const manifest = join(dir, 'package.json');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('"version": "3.4.9"', '"version": "3.4.10"'));
    const before = read(dir);
    const { code, out } = run([dir]);
    assert.equal(code, 0);
    assert.match(out, /3\.4\.10 .* left unpatched/);
    assert.deepEqual(read(dir), before);
  });

  it('fails loudly, naming the change, when an expected snippet is missing', (t) => {
    const { root, dir } = projectWithOriginalDriver();
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const file = join(dir, 'src/connection.js');
    writeFileSync(file, readFileSync(file, 'utf8').replace('const x = socket.write(chunk, fn)', 'const x = socket.write(chunk, fn, 0)'));
    const { code, out } = run([dir]);
    assert.equal(code, 1);
    assert.match(out, /cannot patch .*src\/connection\.js: the snippet for "nextWrite guard"/);
  });
});

describe('assertDriverPatched', () => {
  it('finds herald’s patch in the driver herald loads, and warns about nothing', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    assertDriverPatched();
    assertDriverPatched();
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    assert.deepEqual(warnings.filter((w) => 'code' in w && w.code === 'HERALD_PG_UNPATCHED'), []);
    assert.equal(patchWarning(join(installed, 'src/connection.js')), undefined);
  });

  it('names the unpatched file and the command that patches it', (t) => {
    const { root, dir } = projectWithOriginalDriver();
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const file = join(dir, 'src/connection.js');
    assert.match(patchWarning(file) ?? '', new RegExp(`${file} is not patched .*run node node_modules/herald/scripts/patch-postgres\\.mjs`));
  });

  it('says nothing about another version or an unreadable file', (t) => {
    const { root, dir } = projectWithOriginalDriver();
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const manifest = join(dir, 'package.json');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('"version": "3.4.9"', '"version": "3.5.0"'));
    assert.equal(patchWarning(join(dir, 'src/connection.js')), undefined);
    assert.equal(patchWarning(join(root, 'missing.js')), undefined);
  });
});
