import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { createApp, defineHandler, HandlerConfigError, type App } from '../src/index.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { waitFor } from './support/wait.ts';

/**
 * A stable `node.label` (issue 14): a process taking up the label of a dead one takes its slots over at once; a
 * live one keeps its label (the newcomer is refused); without a recorded session, only the lease tells.
 * The killed-process variant with real processes is in test/postgres-restart.test.ts.
 */
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

const single = (seen: number[]) => defineHandler({ name: 'Single', handle: (event) => void seen.push(event.eventNumber) });

async function freshStore(): Promise<{ schema: string }> {
  const schema = await freshSchema(sql);
  await postgresStore({ url: pg.url, schema }).migrate();
  return { schema };
}

function appOn(schema: string, label: string | undefined, leaseMs = 4000): App {
  return createApp({ store: postgresStore({ url: pg.url, schema }), node: { ...(label === undefined ? {} : { label }), leaseMs } });
}

/** A member of `Single` that no process renews, holding slot 0 for a minute, with the session given. */
async function plantMember(schema: string, label: string, session: { pid: number | null; start: string | null }): Promise<void> {
  const s = sql(schema);
  const store = postgresStore({ url: pg.url, schema });
  await store.registerHandler({ name: 'Single', subscribeTo: '$all', consistency: 'eventual', startFrom: 'origin' });
  await store.close();
  await sql`insert into ${s}.handler_members (handler_name, node_id, label, expires_at, backend_pid, backend_start)
    values ('Single', '00000000000000000000GHOST', ${label}, now() + interval '1 minute', ${session.pid}, ${session.start})`;
  await sql`update ${s}.handler_slots set owner = '00000000000000000000GHOST', owner_label = ${label}, lease_until = now() + interval '1 minute'
    where handler_name = 'Single' and slot = 0`;
}

describe('stable node labels on PostgreSQL', () => {
  it('records the backend of each member\'s LISTEN session in its membership', async () => {
    const { schema } = await freshStore();
    const app = appOn(schema, 'pod-0');
    try {
      await app.start([single([])]);
      await waitFor(async () => {
        const rows = await sql`select 1 from ${sql(schema)}.handler_members m join pg_stat_activity a
          on a.pid = m.backend_pid and a.backend_start = m.backend_start where m.label = 'pod-0'`;
        return rows.length === 1;
      }, 'the member\'s session recorded');
    } finally {
      await app.stop();
    }
  });

  it('refuses a second live process with the same label with HandlerConfigError naming node.label, and accepts it once the first stopped', async () => {
    const { schema } = await freshStore();
    const first = appOn(schema, 'pod-1');
    const second = appOn(schema, 'pod-1');
    try {
      await first.start([single([])]);
      await assert.rejects(second.start([single([])]), (error: unknown) => {
        assert.ok(error instanceof HandlerConfigError);
        assert.equal(error.code, 'HANDLER_CONFIG');
        assert.equal(error.field, 'node.label');
        assert.match(error.message, /node\.label "pod-1" is already used by a live process/);
        return true;
      });
      await first.stop();
      await second.start([single([])]);
      await waitFor(() => second.status()[0]?.state === 'live', 'the second process running once the first stopped');
    } finally {
      await first.stop();
      await second.stop();
    }
  });

  it('takes the slots of a dead process with the same label over at once, not after its lease, and fences it (epoch)', async () => {
    const { schema } = await freshStore();
    // A session that ended: a real backend start time with a pid no backend has.
    const [gone] = await sql<{ start: string }[]>`select backend_start::text as start from pg_stat_activity where pid = pg_backend_pid()`;
    await plantMember(schema, 'pod-2', { pid: 2_000_000_000, start: gone?.start ?? null });
    const [before] = await sql<{ epoch: string }[]>`select epoch from ${sql(schema)}.handler_slots where handler_name = 'Single'`;
    const seen: number[] = [];
    const app = appOn(schema, 'pod-2');
    try {
      await app.start([single(seen)]);
      await app.dispatch('s', { type: 'E', data: null });
      await waitFor(() => seen.length === 1, 'the event handled by the newcomer');
      const [slot] = await sql<{ epoch: string; owner_label: string; early: boolean }[]>`
        select epoch, owner_label, now() < (select max(expires_at) from ${sql(schema)}.handler_members where label = 'pod-2') as early
        from ${sql(schema)}.handler_slots where handler_name = 'Single'`;
      assert.equal(slot?.owner_label, 'pod-2');
      assert.ok(Number(slot?.epoch) > Number(before?.epoch), 'the claim bumped the epoch');
      const ghosts = await sql`select 1 from ${sql(schema)}.handler_members where node_id = '00000000000000000000GHOST'`;
      assert.equal(ghosts.length, 0, 'the dead member is gone');
    } finally {
      await app.stop();
    }
  });

  it('leaves a dead process\'s slots to its lease when the newcomer has no stable label', async () => {
    const { schema } = await freshStore();
    await plantMember(schema, 'pod-3', { pid: 2_000_000_000, start: '2000-01-01 00:00:00+00' });
    const app = appOn(schema, undefined);
    try {
      await app.start([single([])]);
      await waitFor(() => app.status()[0]?.state === 'standby', 'standing by');
      const [slot] = await sql<{ owner: string }[]>`select owner from ${sql(schema)}.handler_slots where handler_name = 'Single'`;
      assert.equal(slot?.owner, '00000000000000000000GHOST', 'the leased slot is not taken');
    } finally {
      await app.stop();
    }
  });

  it('without a recorded session, waits for the member to expire, or refuses when it renews', async () => {
    const { schema } = await freshStore();
    await plantMember(schema, 'pod-4', { pid: null, start: null });
    await sql`update ${sql(schema)}.handler_members set expires_at = now() + interval '600 milliseconds'`;
    const app = appOn(schema, 'pod-4', 400);
    try {
      await app.start([single([])]);
      const members = await sql`select 1 from ${sql(schema)}.handler_members where node_id = '00000000000000000000GHOST' and expires_at > now()`;
      assert.equal(members.length, 0, 'started only once the unknown member had expired');
    } finally {
      await app.stop();
    }

    const renewed = await freshStore();
    await plantMember(renewed.schema, 'pod-5', { pid: null, start: null });
    const renewing = setInterval(() => {
      void sql`update ${sql(renewed.schema)}.handler_members set expires_at = now() + interval '1 minute' where label = 'pod-5'`.catch(() => {});
    }, 50);
    const refused = appOn(renewed.schema, 'pod-5', 400);
    try {
      await assert.rejects(refused.start([single([])]), (error: unknown) => error instanceof HandlerConfigError && /renewed its membership/.test(error.message));
    } finally {
      clearInterval(renewing);
      await refused.stop();
    }
  });
});
