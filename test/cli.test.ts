import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { createApp, defineHandler, skip } from '../src/index.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { herald } from './support/cli.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { startFixture, type WorkerProcess } from './support/processes.ts';
import { waitFor } from './support/wait.ts';

/** The `herald` CLI run as a real process against a real PostgreSQL, with handlers running in other real processes. */
let pg: TestPostgres;
let sql: Sql;

before(async () => {
  pg = await startPostgres();
  sql = postgres(pg.url, { max: 4, onnotice: () => {} });
});
after(async () => {
  await sql?.end();
  await pg?.stop();
});

/** A migrated schema with the tables of test/fixtures/ops-node.ts. */
async function schemaWithTables(): Promise<string> {
  const schema = await freshSchema(sql);
  const run = await herald(['migrate', '--url', pg.url, '--schema', schema]);
  assert.equal(run.code, 0, run.stderr);
  const s = sql(schema);
  await sql`create table ${s}.effects (id bigserial primary key, event_number bigint, node text)`;
  await sql`create table ${s}.resets (id bigserial primary key, node text)`;
  await sql`create table ${s}.fixed (one int)`;
  return schema;
}

/** An in-test app that registers `Counter`-like handler `Ledger` and dead-letters every event of type `Bad`. */
async function withDeadLetters(schema: string, count: number): Promise<void> {
  const app = createApp({ store: postgresStore({ url: pg.url, schema }) });
  const ledger = defineHandler({
    name: 'Ledger',
    handle(event) {
      if (event.type === 'Bad') throw new Error(`bad <b>"${event.streamId}"</b>\nsecond line`);
    },
    error: () => skip(),
  });
  await app.start([ledger]);
  for (let i = 0; i < count; i++) await app.dispatch(`s-${i}`, [{ type: 'Good', data: {} }, { type: 'Bad', data: { i } }]);
  await app.dispatch('s-end', { type: 'Good', data: {} }, { consistency: ['Ledger'] });
  await app.stop();
}

describe('herald CLI: usage', () => {
  it('prints help for every command and exits 0', async () => {
    for (const args of [['--help'], [], ['status', '--help'], ['dead-letters', '--help'], ['dead-letters', 'list', '--help'], ['dead-letters', 'replay', '--help'], ['dead-letters', 'delete', '--help'], ['reset', '--help'], ['prune', '--help'], ['migrate', '--help'], ['dashboard', '--help']]) {
      const run = await herald(args);
      assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stdout, /Usage: herald/, args.join(' '));
    }
  });

  it('exits 2 with one line for an unknown command, an unknown option, a missing argument or a bad value', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate', '--url', 'postgres://x'], /unknown command "frobnicate"/],
      [['dead-letters', 'burn', '--url', 'postgres://x'], /unknown dead-letters command "burn"/],
      [['status', '--bogus', '--url', 'postgres://x'], /status: Unknown option '--bogus'/],
      [['reset', '--url', 'postgres://x'], /reset: missing <handler>/],
      [['dead-letters', 'delete', '--url', 'postgres://x'], /missing <id>/],
      [['dead-letters', 'replay', '--url', 'postgres://x'], /missing <id>/],
      [['prune', '--url', 'postgres://x'], /missing --dead-letters-older-than/],
      [['prune', '--dead-letters-older-than', 'soon', '--url', 'postgres://x'], /must be a duration/],
      [['reset', 'A', '--to', 'yesterday', '--url', 'postgres://x'], /--to must be origin, current or an event number/],
      [['status'], /no database: pass --url <url> or set DATABASE_URL/],
      [['status', 'extra', '--url', 'postgres://x'], /unexpected argument "extra"/],
    ];
    for (const [args, pattern] of cases) {
      const run = await herald(args);
      assert.equal(run.code, 2, `${args.join(' ')} exited ${String(run.code)}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
      assert.equal(run.stderr.trim().split('\n').length, 1, `one line: ${run.stderr}`);
    }
  });

  it('exits 1 with one line when the database cannot be reached, and shows the stack only with --verbose', async () => {
    const run = await herald(['status', '--url', 'postgres://postgres@127.0.0.1:1/postgres']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^herald: cannot reach PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/postgres \(ECONNREFUSED\)\n$/);
    const verbose = await herald(['status', '--verbose', '--url', 'postgres://u:secret@127.0.0.1:1/postgres']);
    assert.equal(verbose.code, 1);
    assert.match(verbose.stderr, /\n\s+at /);
    assert.doesNotMatch(verbose.stderr.split('\n')[0] ?? '', /secret/);
  });

  it('exits 1 naming the schema when it is not migrated, and migrate fixes that', async () => {
    const schema = await freshSchema(sql);
    const run = await herald(['status', '--url', pg.url, '--schema', schema]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `herald: schema "${schema}" is not migrated (run: herald migrate --schema ${schema})\n`);
    assert.equal((await herald(['migrate', '--url', pg.url, '--schema', schema])).code, 0);
    const again = await herald(['status', '--url', pg.url, '--schema', schema]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /no handlers registered/);
  });
});

describe('herald CLI: with no process running the handler', () => {
  it('reports status, lists, deletes, prunes and resets; unknown names exit 1 with one line', async () => {
    const schema = await schemaWithTables();
    await withDeadLetters(schema, 3);
    const url = ['--url', pg.url, '--schema', schema];
    const status = await herald(['status', '--json', ...url]);
    assert.equal(status.code, 0, status.stderr);
    const report = JSON.parse(status.stdout) as { head: number; handlers: Record<string, unknown>[] };
    assert.equal(report.head, 7);
    assert.deepEqual(report.handlers, [{ name: 'Ledger', subscribeTo: '$all', consistency: 'eventual', state: 'stopped', cursor: 7, lag: 0, slots: 1, deadLetters: 3, members: [] }]);
    const table = await herald(['status', ...url]);
    assert.match(table.stdout, /Ledger\s+stopped\s+7\s+0\s+1\s+3\s+-/);

    const list = await herald(['dead-letters', 'list', '--json', ...url]);
    const letters = JSON.parse(list.stdout) as { id: string; handlerName: string; event: { type: string }; error: { message: string } }[];
    assert.equal(letters.length, 3);
    assert.deepEqual(letters.map((d) => d.event.type), ['Bad', 'Bad', 'Bad']);
    assert.match(letters[0]?.error.message ?? '', /bad <b>"s-0"<\/b>\nsecond line/);
    const people = await herald(['dead-letters', 'list', '--handler', 'Ledger', ...url]);
    assert.match(people.stdout, /bad <b>"s-0"<\/b> second line/, 'one line per dead letter');

    const all = await herald(['dead-letters', 'replay', '--handler', 'Ledger', '--all', ...url]);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout.trim().split('\n').filter((line) => / queued; no process runs the handler now/.test(line)).length, 3);
    assert.equal((await herald(['dead-letters', 'replay', '--handler', 'Nope', '--all', ...url])).code, 1);

    const id = letters[0]?.id ?? '';
    assert.equal((await herald(['dead-letters', 'delete', id, ...url])).code, 0);
    const gone = await herald(['dead-letters', 'delete', id, ...url]);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, `herald: no dead letter with id "${id}"\n`);
    const unknown = await herald(['dead-letters', 'list', '--handler', 'Nope', ...url]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'herald: no handler named "Nope" is registered in this schema\n');
    assert.equal((await herald(['dead-letters', 'replay', 'no-such-id', ...url])).stderr, 'herald: no dead letter with id "no-such-id"\n');
    assert.equal((await herald(['reset', 'Nope', ...url])).code, 1);

    const reset = await herald(['reset', 'Ledger', '--to', '2', ...url]);
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(reset.stdout, /no process runs it; cursors moved to 2/);
    const [slot] = await sql<{ position: string }[]>`select position from ${sql(schema)}.handler_slots where handler_name = 'Ledger'`;
    assert.equal(Number(slot?.position), 2);

    const keep = await herald(['prune', '--dead-letters-older-than', '1d', ...url]);
    assert.match(keep.stdout, /pruned 0 dead letters/);
    const prune = await herald(['prune', '--dead-letters-older-than', '0s', ...url]);
    assert.match(prune.stdout, /pruned 2 dead letters/);
  });

  it('queues a replay for the next process that starts the handler', async () => {
    const schema = await schemaWithTables();
    await sql`insert into ${sql(schema)}.fixed values (1)`;
    const app = createApp({ store: postgresStore({ url: pg.url, schema }) });
    // Record a dead letter of Counter as the fixture's handler would, with the handler stopped.
    const store = postgresStore({ url: pg.url, schema });
    await store.registerHandler({ name: 'Counter', subscribeTo: '$all', consistency: 'eventual', startFrom: 'origin', slots: 4 });
    const [event] = (await app.dispatch('poisoned', { type: 'Tick', data: { poison: true } })).events;
    if (event === undefined) throw new Error('no event');
    const letter = await store.addDeadLetter({ handlerName: 'Counter', event, error: { message: 'boom' }, attempts: 1 });
    await store.close();
    await app.stop();
    const run = await herald(['dead-letters', 'replay', letter.id, '--url', pg.url, '--schema', schema]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /queued; no process runs the handler now/);
    const node = startFixture('ops-node.ts', pg.url, schema, 'late');
    try {
      await node.ready;
      await waitFor(async () => (await sql`select 1 from ${sql(schema)}.dead_letters`).length === 0, 'the queued replay');
      const effects = await sql<{ event_number: string }[]>`select event_number from ${sql(schema)}.effects where event_number = ${event.eventNumber}`;
      assert.ok(effects.length >= 1, 'the replayed event was handled');
    } finally {
      node.child.kill('SIGTERM');
      await node.exited;
    }
  });
});

describe('herald CLI: with the handler running in two other processes', () => {
  it('replays a dead letter in the process owning its slot and resets the handler across both', async () => {
    const schema = await schemaWithTables();
    const s = sql(schema);
    const url = ['--url', pg.url, '--schema', schema];
    const nodes: WorkerProcess[] = [startFixture('ops-node.ts', pg.url, schema, 'node-a'), startFixture('ops-node.ts', pg.url, schema, 'node-b')];
    const writer = createApp({ store: postgresStore({ url: pg.url, schema }), name: 'writer' });
    try {
      await Promise.all(nodes.map((node) => node.ready));
      await writer.start([]);
      await waitFor(async () => {
        const rows = await sql`select distinct owner from ${s}.handler_slots where handler_name = 'Counter' and lease_until > now()`;
        return rows.length === 2;
      }, 'both processes holding slots');
      for (let i = 0; i < 20; i++) await writer.dispatch(`stream-${i % 8}`, { type: 'Tick', data: { poison: i === 5 } });
      await waitFor(async () => (await sql`select 1 from ${s}.effects`).length === 19 && (await sql`select 1 from ${s}.dead_letters`).length === 1, 'nineteen effects and one dead letter');

      const status = JSON.parse((await herald(['status', '--json', ...url])).stdout) as { handlers: { name: string; state: string; members: { label: string; slots: number[] }[]; deadLetters: number }[] };
      const counter = status.handlers.find((h) => h.name === 'Counter');
      assert.deepEqual(counter?.members.map((m) => m.label).sort(), ['node-a', 'node-b']);
      assert.deepEqual(counter?.members.flatMap((m) => m.slots).sort(), [0, 1, 2, 3]);
      assert.equal(counter?.deadLetters, 1);

      await sql`insert into ${s}.fixed values (1)`;
      const [letter] = await sql<{ id: string }[]>`select id from ${s}.dead_letters`;
      const replay = await herald(['dead-letters', 'replay', letter?.id ?? '', ...url]);
      assert.equal(replay.code, 0, replay.stderr);
      assert.equal(replay.stdout, `${letter?.id ?? ''}: handled\n`);
      assert.equal((await sql`select 1 from ${s}.dead_letters`).length, 0);
      assert.equal((await sql`select 1 from ${s}.effects`).length, 20);

      const reset = await herald(['reset', 'Counter', ...url]);
      assert.equal(reset.code, 0, reset.stderr);
      assert.match(reset.stdout, /reset Counter: done by the processes running it; cursors at 0/);
      const resets = await sql<{ node: string }[]>`select node from ${s}.resets`;
      assert.equal(resets.length, 1, 'beforeReset ran once');
      // Both processes resume and handle every event again (beforeReset emptied the effects).
      await waitFor(async () => (await sql`select distinct event_number from ${s}.effects`).length === 20, 'every event handled again after the reset');
      await waitFor(async () => (await sql`select distinct owner from ${s}.handler_slots where handler_name = 'Counter' and lease_until > now()`).length === 2, 'both processes running it again');
      const twice = await sql`select event_number from ${s}.effects group by event_number having count(*) > 1`;
      assert.equal(twice.length, 0, 'no event handled twice after the reset');
    } finally {
      await writer.stop();
      for (const node of nodes) node.child.kill('SIGTERM');
      await Promise.all(nodes.map((node) => node.exited));
    }
  });
});

describe('herald dashboard', () => {
  it('serves the status page until interrupted, prints its token, and exits 0', async () => {
    const schema = await schemaWithTables();
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'dashboard', '--port', '0', '--token', 'dashboard-token-123456', '--url', pg.url, '--schema', schema], {
      cwd: new URL('..', import.meta.url), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => /token: /.test(out), 'the dashboard to start', 30_000);
      const base = /on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1] ?? '';
      assert.match(out, /token: dashboard-token-123456/);
      const status = await fetch(`${base}/api/status`);
      assert.deepEqual(await status.json(), { head: 0, handlers: [] });
      assert.equal((await fetch(`${base}/api/handlers/x/reset`, { method: 'POST' })).status, 401);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
  });
});
