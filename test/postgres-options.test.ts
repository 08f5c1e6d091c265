/** Options of `postgresStore`: validated at once, before any connection is made. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import postgres from 'postgres';
import { HandlerConfigError } from '../src/errors.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import type { PostgresStoreOptions } from '../src/store/postgres/index.ts';
import { channelOf } from '../src/store/postgres/options.ts';

const url = 'postgres://nobody@127.0.0.1:1/none';

function rejects(options: unknown, field?: string): void {
  assert.throws(
    () => postgresStore(options as PostgresStoreOptions),
    (error: unknown) => error instanceof HandlerConfigError && (field === undefined || error.field === field),
  );
}

describe('postgresStore options', () => {
  it("opens lazily from a url, as kind 'postgres' on schema 'herald' by default", async () => {
    const store = postgresStore({ url });
    assert.equal(store.kind, 'postgres');
    assert.equal(store.schema, 'herald');
    assert.equal(typeof store.transaction, 'function');
    await store.close();
    await store.close();
  });

  it('uses a given postgres.js instance as it is', async () => {
    const sql = postgres(url);
    const store = postgresStore({ sql, schema: 'Tenant One' });
    assert.equal(store.sql, sql);
    assert.equal(store.schema, 'Tenant One');
    await store.close();
    await sql.end();
  });

  it('needs exactly one of sql and url', () => {
    rejects({}, 'sql');
    rejects({ sql: postgres(url), url }, 'sql');
    rejects({ url: '' }, 'url');
    rejects({ sql: {} }, 'sql');
    rejects(undefined);
  });

  it('rejects a schema that is empty, longer than 63 bytes or contains a dot', () => {
    rejects({ url, schema: '' }, 'schema');
    rejects({ url, schema: 'é'.repeat(32) }, 'schema');
    rejects({ url, schema: 'a.b' }, 'schema');
    rejects({ url, schema: 42 }, 'schema');
    assert.equal(postgresStore({ url, schema: 'x'.repeat(63) }).schema, 'x'.repeat(63));
  });

  it('rejects unknown options and bad tuning values, naming the field', () => {
    rejects({ url, shcema: 'x' }, 'shcema');
    rejects({ url, maxConnections: 0 }, 'maxConnections');
    rejects({ url, sequencerBatchSize: 1.5 }, 'sequencerBatchSize');
    rejects({ url, connectionRetryMs: -1 }, 'connectionRetryMs');
    rejects({ url, autoMigrate: 'yes' }, 'autoMigrate');
    assert.equal(postgresStore({ url, connectionRetryMs: 0 }).kind, 'postgres');
  });

  it('rejects a postgres.js instance that transforms column names or values', async () => {
    const camel = postgres(url, { transform: postgres.camel });
    rejects({ sql: camel }, 'sql');
    await camel.end();
  });

  it('rejects a bad pooled or listenUrl, and a pooled sql instance that prepares statements', async () => {
    rejects({ url, pooled: 'yes' }, 'pooled');
    rejects({ url, listenUrl: '' }, 'listenUrl');
    rejects({ url, listenUrl: 42 }, 'listenUrl');
    const preparing = postgres(url);
    assert.throws(
      () => postgresStore({ sql: preparing, pooled: true }),
      (error: unknown) => error instanceof HandlerConfigError && error.field === 'sql' && /prepare: false and max_pipeline: 1/.test(error.message),
    );
    const pipelining = postgres(url, { prepare: false });
    assert.throws(() => postgresStore({ sql: pipelining, pooled: true }), (error: unknown) => error instanceof HandlerConfigError && error.field === 'sql');
    await pipelining.end();
    const unprepared = postgres(url, { prepare: false, max_pipeline: 1 });
    const store = postgresStore({ sql: unprepared, pooled: true, listenUrl: url });
    await store.close();
    await preparing.end();
    await unprepared.end();
  });

  it('opens its own pool without prepared statements when pooled', async () => {
    const store = postgresStore({ url, pooled: true });
    assert.equal(store.sql.options.prepare, false);
    assert.equal(store.sql.options.max_pipeline, 1);
    await store.close();
    const direct = postgresStore({ url });
    assert.equal(direct.sql.options.prepare, true);
    await direct.close();
  });

  it('gives every schema its own notification channel that fits an identifier', () => {
    assert.equal(channelOf('herald'), 'herald.herald');
    const long = channelOf('x'.repeat(63));
    assert.ok(Buffer.byteLength(long) <= 63);
    assert.notEqual(long, channelOf(`${'x'.repeat(62)}y`));
  });
});
