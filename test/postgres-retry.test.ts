/** Store calls survive lost connections: bounded retries of calls that are safe to repeat. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import type { Sql } from 'postgres';
import { postgresStore } from '../src/store/postgres/index.ts';
import { isConnectionLoss, retryConnectionLoss } from '../src/store/postgres/retry.ts';
import { freshSchema, startPostgres } from './support/postgres.ts';
import type { TestPostgres } from './support/postgres.ts';

const lost = (): Error => Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' });

describe('retrying lost connections', () => {
  it('recognizes lost and refused connections, and nothing else', () => {
    for (const code of ['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'ECONNREFUSED', 'ECONNRESET', '57P01', '57P03', '08006']) {
      assert.ok(isConnectionLoss({ code }), code);
    }
    for (const error of [{ code: 'CONNECTION_ENDED' }, { code: '23505' }, new Error('plain'), undefined, 'text']) {
      assert.equal(isConnectionLoss(error), false);
    }
  });

  it('repeats the work after a lost connection until it succeeds', async () => {
    let calls = 0;
    const value = await retryConnectionLoss(async () => {
      calls++;
      if (calls < 3) throw lost();
      return 'done';
    }, 1000);
    assert.deepEqual([value, calls], ['done', 3]);
  });

  it('gives up once the budget is spent, and never repeats other failures', async () => {
    let calls = 0;
    await assert.rejects(
      retryConnectionLoss(async () => {
        calls++;
        throw lost();
      }, 0),
      /CONNECTION_CLOSED/,
    );
    assert.equal(calls, 1);
    calls = 0;
    await assert.rejects(
      retryConnectionLoss(async () => {
        calls++;
        throw new Error('bad query');
      }, 1000),
      /bad query/,
    );
    assert.equal(calls, 1);
  });
});

describe('PostgreSQL store with connections killed under it', () => {
  let server: TestPostgres;
  let admin: Sql;

  before(async () => {
    server = await startPostgres();
    admin = postgres(server.url, { max: 1, onnotice: () => {} });
  });

  after(async () => {
    await admin.end();
    await server.stop();
  });

  it('completes every append while its backends are terminated again and again', async () => {
    const schema = await freshSchema(admin);
    const store = postgresStore({ url: server.url, schema, maxConnections: 4, connectionRetryMs: 20_000 });
    await store.migrate();
    // Eight rounds of terminating every other backend, while the writers keep appending until they end.
    let kills = 0;
    let killing = true;
    let appended = 0;
    const killer = (async () => {
      for (let round = 0; round < 8; round++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        const rows = await admin`
          select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`;
        kills += rows.length;
      }
      killing = false;
    })();
    try {
      await Promise.all(
        Array.from({ length: 4 }, async (_, writer) => {
          for (let i = 0; i < 20 || killing; i++) {
            const events = Array.from({ length: 5 }, (_, j) => ({ eventId: `w${writer}-${i}-${j}`, type: 'T', data: { i, j }, metadata: {} }));
            const result = await store.append({ streamId: `s${writer}`, events, expectedVersion: 'any' });
            assert.equal(result.events.length + result.duplicates.length, 5);
            assert.ok(result.lastEventNumber > 0);
            appended += 5;
          }
        }),
      );
    } finally {
      await killer;
    }
    assert.ok(kills > 0, 'connections were killed');
    const page = await store.read({ after: 0, limit: 100_000 });
    assert.equal(page.events.length, appended);
    assert.deepEqual(page.events.map((e) => e.eventNumber), Array.from({ length: appended }, (_, i) => i + 1));
    await store.close();
  });

  it('rejects with a StoreError carrying the cause when retries are off and the server is gone', async () => {
    const store = postgresStore({ url: 'postgres://postgres@127.0.0.1:1/none', connectionRetryMs: 0 });
    await assert.rejects(store.headPosition(), (error: unknown) => {
      assert.equal((error as { code?: string }).code, 'STORE');
      assert.ok((error as Error).cause instanceof Error);
      return true;
    });
    await store.close();
  });
});
