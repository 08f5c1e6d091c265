/** The PostgreSQL store migrates itself on its first call, unless `autoMigrate: false` (then a clear StoreError). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import type { Sql } from 'postgres';
import { createApp } from '../src/app/create-app.ts';
import { StoreError } from '../src/errors.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { migrations } from '../src/store/postgres/migrations/index.ts';
import { freshSchema, startPostgres } from './support/postgres.ts';
import type { TestPostgres } from './support/postgres.ts';

let server: TestPostgres;
let sql: Sql;

before(async () => {
  server = await startPostgres();
  sql = postgres(server.url, { max: 10, onnotice: () => {} });
});

after(async () => {
  await sql.end();
  await server.stop();
});

const placed = (n: number) => ({ type: 'OrderPlaced', data: { n } });

async function appliedVersions(schema: string): Promise<number[]> {
  const rows = await sql<{ version: number }[]>`select version from ${sql(schema)}.migrations order by version`;
  return rows.map((row) => row.version);
}

describe('PostgreSQL store auto-migration', () => {
  it('lets a process that only writes dispatch on a fresh schema before any app.start', async () => {
    const schema = await freshSchema(sql);
    const app = createApp({ store: postgresStore({ sql, schema }) });
    const result = await app.dispatch('order-1', placed(1));
    assert.equal(result.events.length, 1);
    assert.deepEqual(await appliedVersions(schema), migrations.map((m) => m.version));
    await app.stop();
  });

  it('shares one migration between concurrent first calls of one store, and is safe across pools at once', async () => {
    const schema = await freshSchema(sql);
    const others = [postgres(server.url, { max: 3, onnotice: () => {} }), postgres(server.url, { max: 3, onnotice: () => {} })];
    try {
      const stores = [postgresStore({ sql, schema }), ...others.map((pool) => postgresStore({ sql: pool, schema }))];
      const calls = stores.flatMap((store, s) =>
        Array.from({ length: 8 }, (_, i) =>
          store.append({ streamId: `s${s}-${i}`, expectedVersion: 'any', events: [{ eventId: `e${s}-${i}`, type: 'T', data: {}, metadata: {} }] }),
        ),
      );
      const results = await Promise.all(calls);
      assert.equal(results.length, 24);
      assert.deepEqual(await appliedVersions(schema), migrations.map((m) => m.version));
      const [count] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(schema)}.events`;
      assert.equal(count?.n, 24);
      for (const store of stores) await store.close();
    } finally {
      for (const pool of others) await pool.end();
    }
  });

  it('reads, lists handlers and opens transactions on a fresh schema too (any first call migrates)', async () => {
    for (const first of [
      (store: ReturnType<typeof postgresStore>) => store.read({ after: 0, limit: 10 }),
      (store: ReturnType<typeof postgresStore>) => store.listHandlers(),
      (store: ReturnType<typeof postgresStore>) => store.transaction(async () => undefined),
    ]) {
      const schema = await freshSchema(sql);
      const store = postgresStore({ sql, schema });
      await first(store);
      assert.deepEqual(await appliedVersions(schema), migrations.map((m) => m.version));
      await store.close();
    }
  });

  it('with autoMigrate: false, rejects a call on an unmigrated schema with a StoreError naming it and saying to migrate, appending nothing', async () => {
    const schema = await freshSchema(sql);
    const store = postgresStore({ sql, schema, autoMigrate: false });
    const app = createApp({ store });
    await assert.rejects(app.dispatch('order-1', placed(1)), (error: unknown) => {
      assert.ok(error instanceof StoreError, String(error));
      assert.equal(error.code, 'STORE');
      assert.match(error.message, new RegExp(`schema "${schema}" is not migrated`));
      assert.match(error.message, /run store\.migrate\(\)/);
      return true;
    });
    const [exists] = await sql<{ found: boolean }[]>`select exists (select 1 from pg_namespace where nspname = ${schema}) as found`;
    assert.equal(exists?.found, false, 'nothing was created');
    await store.migrate();
    assert.equal((await app.dispatch('order-1', placed(1))).events.length, 1);
    await app.stop();
  });

  it('with autoMigrate: false, names the version a partly migrated schema is at', async () => {
    const schema = await freshSchema(sql);
    await postgresStore({ sql, schema }).migrate();
    const versions = migrations.map((m) => m.version).sort((a, b) => a - b);
    const latest = versions.at(-1) as number;
    const previous = versions.at(-2) as number;
    await sql`delete from ${sql(schema)}.migrations where version = ${latest}`;
    const store = postgresStore({ sql, schema, autoMigrate: false });
    await assert.rejects(store.headPosition(), (error: unknown) =>
      error instanceof StoreError && error.message.includes(`schema "${schema}" is at migration ${previous} of ${latest}`),
    );
    await store.close();
  });

  it('with autoMigrate: false, still migrates in app.start', async () => {
    const schema = await freshSchema(sql);
    const app = createApp({ store: postgresStore({ sql, schema, autoMigrate: false }) });
    await app.start([]);
    assert.equal((await app.dispatch('order-1', placed(1))).events.length, 1);
    await app.stop();
  });
});
