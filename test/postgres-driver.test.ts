/**
 * postgres.js survives its connections dying (HARD-PARTS §8; docs/postgres.md#connection-loss). A query on
 * a dead connection rejects with a catchable error instead of crashing the process, a connection closed
 * while a write was pending reconnects and serves again, and under repeated backend kills and server
 * restarts no workload child crashes, every query settles, the pool keeps serving with all its connections
 * and the LISTEN hears again. herald ships postgres.js 4.x unpatched: 3.4.x needed a patch for this.
 *
 * Rounds: `HERALD_KILL_ROUNDS` (default 100) and `HERALD_RESTART_ROUNDS` (default 10);
 * `HERALD_POSTGRES_MODULE=<dir>/src/index.js` runs everything against another copy of the driver (to
 * measure another release); `HERALD_KILL_OPERATIONS` picks the mix (test/fixtures/pg-kill-workload.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';

type SocketLike = postgres.SocketLike;
import { isConnectionLoss } from '../src/store/postgres/retry.ts';
import { disruptRounds, verdict } from './support/kill-workload.ts';
import { startPostgres, type TestPostgres } from './support/postgres.ts';

const { default: driver } = (await import(process.env['HERALD_POSTGRES_MODULE'] ?? 'postgres')) as { default: typeof postgres };
const killRounds = Number(process.env['HERALD_KILL_ROUNDS'] ?? 100);
const restartRounds = Number(process.env['HERALD_RESTART_ROUNDS'] ?? 10);

/** A rejection herald's store treats as a lost connection (and so retries), with the code in the failure message. */
function connectionLoss(error: unknown): boolean {
  assert.ok(isConnectionLoss(error), `a connection-loss error, got ${String((error as { code?: unknown }).code)}: ${String(error)}`);
  return true;
}

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
    let issue = (_issued: { late: Promise<unknown> }): void => {};
    const issued = new Promise<{ late: Promise<unknown> }>((resolve) => (issue = resolve));
    const transaction = sql.begin(async (tx) => {
      const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
      // The transaction may reject before this answer arrives: the late query is awaited through `issued`.
      await killer`select pg_terminate_backend(${row?.pid ?? 0})`;
      await resumed;
      const late = tx`select ${1}::int as n, ${'x'}::text as t`;
      issue({ late });
      await late;
    });
    // postgres.js 4 rejects with the server's own error when it got one (57P01), else CONNECTION_CLOSED.
    await assert.rejects(transaction, connectionLoss);
    resume();
    await assert.rejects((await issued).late, connectionLoss);
    await new Promise((resolve) => setImmediate(resolve));

    // Each query holds its connection a moment, so the two cannot share one (postgres.js 4 pipelines short queries).
    const rows = await Promise.all([1, 2].map(() => sql<{ pid: number }[]>`select pg_backend_pid() as pid, pg_sleep(0.05)`));
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
        new Promise<SocketLike>((resolve, reject) => {
          const socket = connect(Number(url.port), url.hostname);
          // A net.Socket is what postgres.js opens itself; its types only describe the part the driver uses.
          socket.once('connect', () => resolve((held.socket = socket) as unknown as SocketLike));
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

describe('the driver herald installs', () => {
  it('is postgres.js 4 as published: an exact version, and no install script of herald’s rewrites it', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
      files: string[];
    };
    assert.match(manifest.dependencies['postgres'] ?? '', /^4\.\d+\.\d+$/);
    assert.deepEqual(
      ['preinstall', 'install', 'postinstall'].filter((name) => name in manifest.scripts),
      [],
    );
    assert.deepEqual(manifest.files.filter((file) => file.includes('patch')), [], 'no patch script is published');
    const installed = JSON.parse(readFileSync(new URL('../node_modules/postgres/package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(installed.version, manifest.dependencies['postgres']);
  });
});
