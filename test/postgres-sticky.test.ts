import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { createApp, defineHandler, type SlotsPayload } from '../src/index.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { waitFor } from './support/wait.ts';

/**
 * Issue 14, point 4, on PostgreSQL: a single slot stays with the process holding it when an older one (lower node
 * id, which the assignment used to prefer) joins, until the holder stops. The pure rule is tested in slots.test.ts.
 */
let pg: TestPostgres;
let sql: Sql;

before(async () => {
  pg = await startPostgres();
  sql = postgres(pg.url, { max: 2, onnotice: () => {} });
});
after(async () => {
  await sql?.end();
  await pg?.stop();
});

const fast = { leaseMs: 1000, heartbeatMs: 100 };

describe('sticky single slot on PostgreSQL (issue 14)', () => {
  it('keeps a single slot with its holder when an older process joins, and hands it over when the holder stops', async () => {
    const schema = await freshSchema(sql);
    const seen: string[] = [];
    const single = (label: string) => defineHandler({ name: 'Single', handle: () => void seen.push(label) });
    const older = createApp({ store: postgresStore({ url: pg.url, schema }), node: { label: 'older', ...fast } });
    const holder = createApp({ store: postgresStore({ url: pg.url, schema }), node: { label: 'holder', ...fast } });
    const moves: SlotsPayload[] = [];
    try {
      await holder.start([single('holder')]);
      await waitFor(() => holder.status()[0]?.state === 'live', 'the holder live', 30_000);
      holder.on('slots:release', (payload) => moves.push(payload));
      older.on('slots:acquire', (payload) => moves.push(payload));
      await older.start([single('older')]);
      await waitFor(() => older.status()[0]?.state === 'standby', 'the older process standing by', 30_000);
      // Ten heartbeats of both later, nothing moved.
      await new Promise((resolve) => setTimeout(resolve, 10 * fast.heartbeatMs));
      assert.deepEqual(holder.status()[0]?.slots.owned, [0]);
      assert.deepEqual(moves, []);
      await holder.dispatch('s', { type: 'E', data: null });
      await waitFor(() => seen.length === 1, 'the holder handling', 30_000);
      await holder.stop();
      await waitFor(() => older.status()[0]?.state === 'live', 'the older process taking over', 30_000);
      await older.dispatch('s', { type: 'E', data: null });
      await waitFor(() => seen.length === 2, 'the older process handling', 30_000);
      assert.deepEqual(seen, ['holder', 'older']);
    } finally {
      await holder.stop();
      await older.stop();
    }
  });
});
