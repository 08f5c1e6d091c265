/** The shared store and slot contracts, run against the PostgreSQL store on a throwaway server (fresh schema per test). */
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import type { Sql } from 'postgres';
import { postgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres } from './support/postgres.ts';
import type { TestPostgres } from './support/postgres.ts';
import { inFlightContract } from './support/in-flight-contract.ts';
import { slotContract } from './support/slot-contract.ts';
import { storeContract } from './support/store-contract.ts';

let server: TestPostgres;
let admin: Sql;

before(async () => {
  server = await startPostgres();
  admin = postgres(server.url, { max: 2, onnotice: () => {} });
});

after(async () => {
  await admin.end();
  await server.stop();
});

async function openStore() {
  const schema = await freshSchema(admin);
  const store = postgresStore({ url: server.url, schema, maxConnections: 4 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await admin`drop schema if exists ${admin(schema)} cascade`;
    },
  };
}

storeContract('PostgreSQL', openStore);

inFlightContract('PostgreSQL', openStore);

// Leases follow the database's clock: letting time pass is a real wait.
slotContract('PostgreSQL', async () => ({ ...(await openStore()), advance: (ms) => sleep(ms) }));
