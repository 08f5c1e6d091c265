/** Wake-ups of the PostgreSQL store across processes (two store instances, two pools), and after reconnects. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import type { Sql } from 'postgres';
import type { NewEvent } from '../src/events/types.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import type { PostgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres } from './support/postgres.ts';
import type { TestPostgres } from './support/postgres.ts';
import { waitFor } from './support/wait.ts';

let server: TestPostgres;
let sql: Sql;

before(async () => {
  server = await startPostgres();
  sql = postgres(server.url, { max: 5, onnotice: () => {} });
});

after(async () => {
  await sql.end();
  await server.stop();
});

const event = (eventId: string): NewEvent => ({ eventId, type: 'Tested', data: {}, metadata: {} });

/** Two stores on one fresh schema, each with its own pool, as two processes would have. */
async function twoProcesses(): Promise<{ writer: PostgresStore; reader: PostgresStore; close: () => Promise<void> }> {
  const schema = await freshSchema(sql);
  const writer = postgresStore({ url: server.url, schema, maxConnections: 3 });
  const reader = postgresStore({ url: server.url, schema, maxConnections: 3 });
  await writer.migrate();
  return {
    writer,
    reader,
    close: async () => {
      await Promise.all([writer.close(), reader.close()]);
    },
  };
}

describe('PostgreSQL notifications', () => {
  it("wakes another instance's append listeners when events become readable", async () => {
    const { writer, reader, close } = await twoProcesses();
    try {
      let wakeUps = 0;
      reader.onAppend(() => wakeUps++);
      await waitFor(() => wakeUps > 0, 'the LISTEN to be in place');
      const before = wakeUps;
      await writer.append({ streamId: 's', events: [event('a')], expectedVersion: 'any' });
      await waitFor(() => wakeUps > before, 'the append notification');
      const page = await reader.read({ after: 0, limit: 10 });
      assert.deepEqual(page.events.map((e) => e.eventId), ['a']);
    } finally {
      await close();
    }
  });

  it("tells another instance's cursor listeners which handler saved which position", async () => {
    const { writer, reader, close } = await twoProcesses();
    try {
      const seen: [string, number][] = [];
      let listening = false;
      reader.onCursorSaved((name, position) => seen.push([name, position]));
      reader.onAppend(() => (listening = true));
      await waitFor(() => listening, 'the LISTEN to be in place');
      await writer.registerHandler({ name: 'Name: with colon', subscribeTo: '$all', consistency: 'strong', startFrom: 'origin' });
      await writer.saveCursor('Name: with colon', { position: 12, acked: [14] });
      await waitFor(() => seen.some(([name, position]) => name === 'Name: with colon' && position === 12), 'the cursor notification');
    } finally {
      await close();
    }
  });

  it('wakes append listeners after the LISTEN connection was lost, and keeps notifying afterwards', async () => {
    const { writer, reader, close } = await twoProcesses();
    try {
      let wakeUps = 0;
      reader.onAppend(() => wakeUps++);
      await waitFor(() => wakeUps > 0, 'the LISTEN to be in place');
      const before = wakeUps;
      const killed = await sql<{ killed: boolean }[]>`
        select pg_terminate_backend(pid) as killed from pg_stat_activity
        where query ilike 'listen %' and pid <> pg_backend_pid()`;
      assert.ok(killed.length > 0, 'found the LISTEN connection');
      await waitFor(() => wakeUps > before, 'the catch-up wake-up after re-LISTEN');
      const afterReconnect = wakeUps;
      await writer.append({ streamId: 's', events: [event('a')], expectedVersion: 'any' });
      await waitFor(() => wakeUps > afterReconnect, 'a notification on the new connection');
    } finally {
      await close();
    }
  });

  it('recovers from a server restart: errors are StoreErrors, then appends, reads and wake-ups work again', { skip: server?.external }, async () => {
    const { writer, reader, close } = await twoProcesses();
    try {
      let wakeUps = 0;
      reader.onAppend(() => wakeUps++);
      await waitFor(() => wakeUps > 0, 'the LISTEN to be in place');
      await writer.append({ streamId: 's', events: [event('before')], expectedVersion: 'any' });
      const before = wakeUps;
      await server.restart();
      await waitFor(() => wakeUps > before, 'the catch-up wake-up after the restart', 30_000);
      let appended = false;
      await waitFor(async () => {
        try {
          await writer.append({ streamId: 's', events: [event('after')], expectedVersion: 'any' });
          appended = true;
        } catch (error) {
          assert.equal((error as { code?: string }).code, 'STORE');
        }
        return appended;
      }, 'an append to succeed after the restart', 30_000);
      const page = await reader.read({ after: 0, limit: 10 });
      assert.deepEqual(page.events.map((e) => [e.eventId, e.eventNumber]), [['before', 1], ['after', 2]]);
    } finally {
      await close();
    }
  });

  it('stops calling listeners once closed, and never ends a postgres.js instance it was given', async () => {
    const schema = await freshSchema(sql);
    const store = postgresStore({ sql, schema });
    await store.migrate();
    let wakeUps = 0;
    store.onAppend(() => wakeUps++);
    await waitFor(() => wakeUps > 0, 'the LISTEN to be in place');
    await store.close();
    const [row] = await sql<{ one: number }[]>`select 1 as one`;
    assert.equal(row?.one, 1);
    const owned = postgresStore({ url: server.url, schema });
    await owned.headPosition();
    await owned.close();
    await assert.rejects(owned.sql`select 1`, /CONNECTION_ENDED|ended/i);
  });
});
