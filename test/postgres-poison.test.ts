import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { createApp } from '../src/index.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { startFixture } from './support/processes.ts';

/**
 * Issue 14, acceptance 3, with real processes on a real PostgreSQL: among 2,000 events, one makes the process exit
 * (`process.exit(1)` inside `handle`, test/fixtures/pg-poison-node.ts). This test is the supervisor: it starts the
 * process again each time it dies. The poison event is dead-lettered with `POISON_EVENT` after at most `crashLimit`
 * (default 3) crashes, every other event is handled (a transactional handler: exactly once), and no innocent event is
 * dead-lettered. How long each variant took is printed, not asserted.
 */
const EVENTS = 2000;
const POISON = 1001;
const CRASH_LIMIT = 3;
const KEYS = 16;

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Result {
  readonly crashes: number;
  readonly seen: number;
  readonly rows: number;
  readonly letters: readonly { eventNumber: number; code: string | undefined; attempts: number }[];
}

/** Runs the variant under a supervising loop until every event is handled or parked (or too many crashes). */
async function supervise(variant: 'c1' | 'c4' | 'tx'): Promise<Result> {
  const schema = await freshSchema(sql);
  const store = postgresStore({ url: pg.url, schema });
  await store.migrate();
  await sql`create table ${sql(schema)}.seen (event_number bigint not null, incarnation int not null)`;
  const writer = createApp({ store, name: 'writer' });
  for (let from = 1; from <= EVENTS; from += 100) {
    await writer.dispatch(`batch-${from}`, Array.from({ length: 100 }, (_, i) => ({ type: 'Keyed', data: { key: `k${(from + i) % KEYS}`, n: from + i } })));
  }
  const seen = async (): Promise<number> => Number((await sql<{ n: string }[]>`select count(distinct event_number) as n from ${sql(schema)}.seen`)[0]?.n);
  const finished = async (): Promise<boolean> => (await seen()) === EVENTS - 1 && (await store.listDeadLetters()).length > 0;
  let crashes = 0;
  for (let incarnation = 0; crashes <= CRASH_LIMIT + 2; incarnation++) {
    const node = startFixture('pg-poison-node.ts', pg.url, schema, variant, String(POISON), String(incarnation));
    let exit: number | string | undefined;
    void node.exited.then((code) => (exit = code));
    while (exit === undefined && !(await finished())) await sleep(100);
    if (exit === undefined) {
      node.child.kill('SIGTERM');
      assert.equal(await node.exited, 0, `the last process stops cleanly:\n${node.output()}`);
      break;
    }
    assert.equal(exit, 1, `a process ends only by the poison event's exit:\n${node.output()}`);
    crashes++;
  }
  const [rows] = await sql<{ n: string }[]>`select count(*) as n from ${sql(schema)}.seen`;
  const letters = (await store.listDeadLetters()).map((letter) => ({ eventNumber: letter.event.eventNumber, code: letter.error.code, attempts: letter.attempts }));
  const result = { crashes, seen: await seen(), rows: Number(rows?.n), letters };
  await writer.stop();
  await store.close();
  return result;
}

describe('an event that crashes the process, among 2,000 others (issue 14)', { timeout: 240_000 }, () => {
  for (const [variant, title] of [
    ['c1', 'concurrency 1'],
    ['c4', 'concurrency 4 with partitionBy'],
    ['tx', 'concurrency 4 with partitionBy, transactional'],
  ] as const) {
    it(`${title}: parked with POISON_EVENT after at most crashLimit crashes, every other event handled, no innocent one parked`, async () => {
      const started = Date.now();
      const result = await supervise(variant);
      console.log(`# ${variant}: ${result.crashes} crashes, ${result.rows} handlings of ${result.seen} events, ${Date.now() - started} ms`);
      assert.ok(result.crashes >= 1 && result.crashes <= CRASH_LIMIT, `crashes: ${result.crashes}`);
      assert.deepEqual(result.letters, [{ eventNumber: POISON, code: 'POISON_EVENT', attempts: result.crashes }]);
      assert.equal(result.seen, EVENTS - 1);
      if (variant === 'tx') assert.equal(result.rows, EVENTS - 1, 'transactional effects exactly once');
    });
  }
});
