import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { createApp } from '../src/index.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { startFixture, type WorkerProcess } from './support/processes.ts';

/**
 * Issue 14, acceptance 2: a process running a plain and a transactional handler at herald's defaults with a stable
 * `node.label` is SIGKILLed while events flow and restarted at once under the same label, `HERALD_RESTART_TRIALS`
 * times (default 3; docs/scaling.md gives the 40-trial figures and the command). Nothing is lost, transactional
 * effects happen exactly once, a plain handler handles again at most one batch (`batchSize`, 1000) per kill. How
 * long each restart took to resume is printed, not asserted (shared machines). `HERALD_RESTART_LABEL=none` runs the
 * same without a label (the restart then waits for the dead process's leases), for comparison.
 */
const TRIALS = Number(process.env.HERALD_RESTART_TRIALS ?? 3);
const LABEL = process.env.HERALD_RESTART_LABEL === 'none' ? '-' : 'worker-0';
const KEYS = 20;
const TICK_MS = 100;
const BATCH_SIZE = 1000;

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

/** Polls every 50 ms (the bound only keeps a broken run from hanging). */
async function until(predicate: () => Promise<boolean>, what: string, boundMs = 120_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(50);
  }
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

describe('SIGKILL and restart under a stable node.label (issue 14)', { timeout: 30 * 60_000 }, () => {
  it(`resumes at once after each of ${TRIALS} kills: nothing lost, transactional effects once, plain redelivery within one batch`, async () => {
    const schema = await freshSchema(sql);
    const store = postgresStore({ url: pg.url, schema });
    await store.migrate();
    const t = sql(schema);
    await sql`create table ${t}.effects (event_number bigint not null, incarnation int not null, at timestamptz not null)`;
    await sql`create table ${t}.effects_tx (event_number bigint not null, incarnation int not null, at timestamptz not null)`;
    await sql`create table ${t}.kills (trial int primary key, at timestamptz not null)`;
    const writer = createApp({ store, name: 'writer' });
    await writer.start([]);

    let writing = true;
    let dispatched = 0;
    const writes = (async () => {
      for (let round = 0; writing; round++) {
        await writer.dispatch(`round-${round}`, Array.from({ length: KEYS }, (_, k) => ({ type: 'Keyed', data: { key: `k${k}` } })));
        dispatched += KEYS;
        await sleep(TICK_MS);
      }
    })();

    const start = (incarnation: number): WorkerProcess => startFixture('pg-restart-node.ts', pg.url, schema, LABEL, String(incarnation));
    const handledBy = async (incarnation: number): Promise<boolean> => {
      const [row] = await sql<{ plain: boolean; tx: boolean }[]>`
        select exists (select 1 from ${t}.effects where incarnation = ${incarnation}) as plain,
               exists (select 1 from ${t}.effects_tx where incarnation = ${incarnation}) as tx`;
      return row?.plain === true && row.tx === true;
    };
    let node = start(0);
    const resumes: number[] = [];
    const readies: number[] = [];
    const boots: number[] = [];
    const starts: number[] = [];
    try {
      await node.ready;
      for (let trial = 1; trial <= TRIALS; trial++) {
        await until(() => handledBy(trial - 1), `incarnation ${trial - 1} handling both handlers`);
        // Killed at a random moment after it has run for a save interval (flushAfterMs, 1 s): its unsaved window is
        // then its own, not also that of an incarnation killed before its first save.
        await sleep(1100 + Math.floor(Math.random() * 1000));
        await sql`insert into ${t}.kills (trial, at) values (${trial}, clock_timestamp())`;
        const killedAt = Date.now();
        node.child.kill('SIGKILL');
        await node.exited;
        node = start(trial);
        await node.ready;
        readies.push(Date.now() - killedAt);
        const [, imported, started] = /ready (\d+) (\d+)/.exec(node.output()) ?? [];
        boots.push(Number(imported));
        starts.push(Number(started) - Number(imported));
        await until(() => handledBy(trial), `incarnation ${trial} resuming`);
        const [row] = await sql<{ ms: number }[]>`
          select extract(epoch from greatest(
            (select min(at) from ${t}.effects where incarnation = ${trial}),
            (select min(at) from ${t}.effects_tx where incarnation = ${trial})) - k.at) * 1000 as ms
          from ${t}.kills k where k.trial = ${trial}`;
        resumes.push(Math.round(Number(row?.ms)));
      }
      writing = false;
      await writes;
      const total = dispatched;
      await until(async () => {
        const [row] = await sql<{ plain: string; tx: string }[]>`
          select (select count(distinct event_number) from ${t}.effects) as plain, (select count(distinct event_number) from ${t}.effects_tx) as tx`;
        return Number(row?.plain) === total && Number(row?.tx) === total;
      }, `all ${total} events handled by both handlers`);

      const [tx] = await sql<{ rows: string; distinct: string }[]>`select count(*) as rows, count(distinct event_number) as distinct from ${t}.effects_tx`;
      assert.equal(Number(tx?.distinct), total, 'no transactional effect lost');
      assert.equal(Number(tx?.rows), total, 'transactional effects exactly once');
      const redelivered = await sql<{ incarnation: number; n: string }[]>`
        select later.incarnation, count(*) as n from ${t}.effects later
        where exists (select 1 from ${t}.effects earlier where earlier.event_number = later.event_number and earlier.incarnation < later.incarnation)
        group by later.incarnation order by later.incarnation`;
      for (const row of redelivered) {
        assert.ok(Number(row.n) <= BATCH_SIZE, `incarnation ${row.incarnation} handled ${row.n} plain events again (more than one batch)`);
      }
      const again = redelivered.map((row) => Number(row.n));
      console.log(
        `${TRIALS} SIGKILL + restart trials (label ${LABEL === '-' ? 'none' : LABEL}), ${total} events: resume after kill median ${median(resumes)} ms ` +
          `(min ${Math.min(...resumes)}, max ${Math.max(...resumes)}; all: ${resumes.join(' ')}); ` +
          `plain events handled again per kill: max ${Math.max(0, ...again)}, total ${again.reduce((a, b) => a + b, 0)}; ` +
          `the new process was ready after median ${median(readies)} ms, of which loading node and the modules ` +
          `${median(boots)} ms and app.start() ${median(starts)} ms`,
      );
    } finally {
      writing = false;
      await writes;
      node.child.kill('SIGKILL');
      await node.exited;
      await writer.stop();
    }
  });
});
