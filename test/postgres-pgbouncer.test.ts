import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { createApp, defineHandler, type App, type RecordedEvent } from '../src/index.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { findPgBouncer, startPgBouncer, type TestPgBouncer } from './support/pgbouncer.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { waitFor } from './support/wait.ts';

/**
 * Issue 14, point 6: herald behind PgBouncer in transaction pooling mode (3 server connections shared by every
 * client connection, so consecutive statements of one client land on different server sessions). The store runs
 * with `pooled: true` (no prepared statements, no LISTEN on the pooled URL); LISTEN and the member session go to a
 * direct `listenUrl`, or, without one, handlers poll. Skips with the reason when pgbouncer cannot run here.
 */
const found = findPgBouncer();
const skip = 'reason' in found ? found.reason : false;

let pg: TestPostgres;
let bouncer: TestPgBouncer;
let sql: Sql;

before(async () => {
  if (skip !== false) return;
  pg = await startPostgres();
  if ('bin' in found) bouncer = await startPgBouncer(pg.url, found);
  sql = postgres(pg.url, { max: 2, onnotice: () => {} });
});
after(async () => {
  await sql?.end();
  await bouncer?.stop();
  await pg?.stop();
});

const EVENTS = 600;
const keyOf = (event: RecordedEvent) => (event.data as { key: string }).key;

/** A plain handler (in memory), a transactional one (into `<schema>.tx_effects` through ctx.sql) and a strong one. */
function handlers(schema: string, seen: number[]) {
  return [
    defineHandler({ name: 'Plain', concurrency: 4, partitionBy: keyOf, handle: (event) => void seen.push(event.eventNumber) }),
    defineHandler({
      name: 'Tx',
      concurrency: 4,
      partitionBy: keyOf,
      transactional: true,
      async handle(event, ctx) {
        const db = ctx.sql;
        if (db === undefined) throw new Error('no ctx.sql');
        await db`insert into ${db(schema)}.tx_effects (event_number) values (${event.eventNumber})`;
      },
    }),
    defineHandler({ name: 'Strong', consistency: 'strong', handle: () => {} }),
  ];
}

/** 600 events in 60 appends, 20 at a time, then one strong dispatch. */
async function dispatchAll(app: App): Promise<void> {
  for (let wave = 0; wave < 3; wave++) {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        app.dispatch(`s-${wave}-${i}`, Array.from({ length: 10 }, (_, k) => ({ type: 'E', data: { key: `k${(i * 10 + k) % 37}` } }))),
      ),
    );
  }
  await app.dispatch('last', { type: 'E', data: { key: 'k0' } }, { consistency: 'strong', timeoutMs: 30_000 });
}

async function txEffects(schema: string): Promise<{ rows: number; distinct: number }> {
  const [row] = await sql<{ rows: string; distinct: string }[]>`select count(*) as rows, count(distinct event_number) as distinct from ${sql(schema)}.tx_effects`;
  return { rows: Number(row?.rows), distinct: Number(row?.distinct) };
}

describe('behind PgBouncer in transaction mode (issue 14)', { skip, timeout: 300_000 }, () => {
  it('runs plain, transactional and strong handlers with LISTEN and the member session on a direct listenUrl', async () => {
    const schema = await freshSchema(sql);
    const seen: number[] = [];
    // No fallback poll to speak of: only notifications (heard on listenUrl) wake the handlers.
    const app = createApp({ store: postgresStore({ url: bouncer.url, pooled: true, listenUrl: pg.url, schema }), pollMs: 60_000, node: { label: 'bouncer-0' } });
    try {
      await app.start(handlers(schema, seen));
      await sql`create table ${sql(schema)}.tx_effects (event_number bigint not null)`;
      await dispatchAll(app);
      await waitFor(async () => seen.length === EVENTS + 1 && (await txEffects(schema)).distinct === EVENTS + 1, 'every event handled', 60_000);
      assert.equal(new Set(seen).size, EVENTS + 1);
      assert.deepEqual(await txEffects(schema), { rows: EVENTS + 1, distinct: EVENTS + 1 });
      const sessions = await sql`select 1 from ${sql(schema)}.handler_members m join pg_stat_activity a
        on a.pid = m.backend_pid and a.backend_start = m.backend_start where m.label = 'bouncer-0'`;
      assert.equal(sessions.length, 3, 'every membership records the direct LISTEN session');
    } finally {
      await app.stop();
    }

    // A restart through the pooler under the same label resumes from the saved cursors.
    const later: number[] = [];
    const again = createApp({ store: postgresStore({ url: bouncer.url, pooled: true, listenUrl: pg.url, schema }), pollMs: 60_000, node: { label: 'bouncer-0' } });
    try {
      await again.start(handlers(schema, later));
      await again.dispatch('after', { type: 'E', data: { key: 'k1' } }, { consistency: 'strong', timeoutMs: 30_000 });
      await waitFor(async () => later.length === 1 && (await txEffects(schema)).distinct === EVENTS + 2, 'the new event handled', 60_000);
      assert.deepEqual(await txEffects(schema), { rows: EVENTS + 2, distinct: EVENTS + 2 });
    } finally {
      await again.stop();
    }
  });

  it('falls back to polling without listenUrl, and records no session', async () => {
    const schema = await freshSchema(sql);
    const seen: number[] = [];
    const app = createApp({ store: postgresStore({ url: bouncer.url, pooled: true, schema }), pollMs: 100, node: { label: 'bouncer-1' } });
    try {
      await app.start(handlers(schema, seen));
      await sql`create table ${sql(schema)}.tx_effects (event_number bigint not null)`;
      await dispatchAll(app);
      await waitFor(async () => seen.length === EVENTS + 1 && (await txEffects(schema)).distinct === EVENTS + 1, 'every event handled', 60_000);
      assert.deepEqual(await txEffects(schema), { rows: EVENTS + 1, distinct: EVENTS + 1 });
      const members = await sql<{ backend_pid: number | null }[]>`select backend_pid from ${sql(schema)}.handler_members where label = 'bouncer-1'`;
      assert.equal(members.length, 3);
      assert.ok(members.every((member) => member.backend_pid === null), 'no session through the pooler');
    } finally {
      await app.stop();
    }
  });
});
