import { after, before } from 'node:test';
import postgres, { type Sql } from 'postgres';
import { inMemoryStore, postgresStore } from '../src/index.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { typedSuite } from './support/typed-suite.ts';

typedSuite('in-memory', async () => {
  const store = inMemoryStore();
  return { store, reopen: () => store, cleanup: () => store.close() };
});

let pg: TestPostgres;
let admin: Sql;

before(async () => {
  pg = await startPostgres();
  admin = postgres(pg.url, { max: 2, onnotice: () => {} });
});
after(async () => {
  await admin?.end();
  await pg?.stop();
});

typedSuite('PostgreSQL', async () => {
  const schema = await freshSchema(admin);
  const opened: ReturnType<typeof postgresStore>[] = [];
  const open = () => {
    const store = postgresStore({ url: pg.url, schema, maxConnections: 4 });
    opened.push(store);
    return store;
  };
  return {
    store: open(),
    reopen: open,
    cleanup: async () => {
      for (const store of opened) await store.close();
      await admin`drop schema if exists ${admin(schema)} cascade`;
    },
  };
});
