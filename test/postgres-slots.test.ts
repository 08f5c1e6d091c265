/**
 * Slots, leases and membership of the PostgreSQL store beyond the shared contract: statements per call, races
 * between processes (several store instances, each with its own pool), notifications across instances, fencing
 * inside a transaction, and the upgrade of a schema created by migration 1 alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import type { Sql } from 'postgres';
import { LeaseLostError } from '../src/errors.ts';
import { postgresStore, type PostgresStore } from '../src/store/postgres/index.ts';
import { migrations } from '../src/store/postgres/migrations/index.ts';
import { applyMigration, ensureMigrationsTable } from '../src/store/postgres/sql/migrations.ts';
import type { NodeIdentity, SlotClaim } from '../src/store/types.ts';
import { freshSchema, startPostgres, type TestPostgres } from './support/postgres.ts';
import { waitFor } from './support/wait.ts';

let server: TestPostgres;
let admin: Sql;

before(async () => {
  server = await startPostgres();
  admin = postgres(server.url, { max: 4, onnotice: () => {} });
});

after(async () => {
  await admin.end();
  await server.stop();
});

const LONG = 60_000;
const node = (n: number): NodeIdentity => ({ id: `01N${String(n).padStart(3, '0')}`, label: `host-${n}:${1000 + n}` });
const registration = { name: 'P', subscribeTo: '$all', consistency: 'eventual', startFrom: 'origin' } as const;

/** `count` store instances (standing for processes) on one fresh schema, migrated, closed after the test. */
async function processes(t: TestContext, count: number, maxConnections = 6): Promise<{ stores: PostgresStore[]; schema: string }> {
  const schema = await freshSchema(admin);
  const stores = Array.from({ length: count }, () => postgresStore({ url: server.url, schema, maxConnections }));
  t.after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await admin`drop schema if exists ${admin(schema)} cascade`;
  });
  await stores[0]?.migrate();
  return { stores, schema };
}

describe('the PostgreSQL slots store', () => {
  it('costs one statement per heartbeat, claim, release, leave, slot-cursor save and load', async (t) => {
    const schema = await freshSchema(admin);
    const statements: string[] = [];
    const sql = postgres(server.url, { max: 1, onnotice: () => {}, debug: (_connection, query) => statements.push(query) });
    const store = postgresStore({ sql, schema });
    t.after(async () => {
      await store.close();
      await sql.end();
      await admin`drop schema if exists ${admin(schema)} cascade`;
    });
    await store.migrate();
    await store.registerHandler({ ...registration, slots: 4 });
    const A = node(1);
    const count = async (call: () => Promise<unknown>): Promise<number> => {
      await call(); // the first run of a statement on a connection also prepares it
      const before = statements.length;
      await call();
      return statements.length - before;
    };
    let claims: SlotClaim[] = [];
    const costs = {
      heartbeat: await count(() => store.heartbeat('P', A, LONG)),
      claimSlots: await count(async () => (claims = await store.claimSlots('P', A, [0, 1, 2, 3], LONG))),
      saveSlotCursors: await count(() =>
        store.saveSlotCursors('P', A.id, claims.map((claim) => ({ slot: claim.slot, epoch: claim.epoch, cursor: { position: 3, acked: [5] } }))),
      ),
      releaseSlots: await count(() => store.releaseSlots('P', A.id, [3])),
      leave: await count(() => store.leave('P', A.id)),
      loadHandler: await count(() => store.loadHandler('P')),
      registerSame: await count(() => store.registerHandler({ ...registration, slots: 4 })),
    };
    assert.deepEqual(costs, {
      heartbeat: 1, claimSlots: 1, saveSlotCursors: 1, releaseSlots: 1, leave: 1, loadHandler: 1,
      registerSame: 5, // begin, insert, update settings, commit, then the record
    });
  });

  it('gives each slot to exactly one of many nodes claiming at the same moment from several processes', async (t) => {
    const { stores } = await processes(t, 3);
    for (let round = 0; round < 5; round++) {
      const name = `P${round}`;
      await stores[0]?.registerHandler({ ...registration, name, slots: 4 });
      const nodes = Array.from({ length: 24 }, (_, n) => node(n));
      const results = await Promise.all(
        nodes.map((who, n) => (stores[n % stores.length] as PostgresStore).claimSlots(name, who, n % 2 === 0 ? [0, 1, 2, 3] : [3, 2, 1, 0], LONG)),
      );
      const winners = new Map<number, string>();
      results.forEach((claims, n) => {
        for (const claim of claims) {
          assert.equal(winners.has(claim.slot), false, `slot ${claim.slot} claimed twice in round ${round}`);
          winners.set(claim.slot, (nodes[n] as NodeIdentity).id);
          assert.equal(claim.epoch, 1);
        }
      });
      assert.equal(winners.size, 4);
      const { owners } = await (stores[1] as PostgresStore).heartbeat(name, node(99), LONG);
      assert.deepEqual(owners, [0, 1, 2, 3].map((slot) => winners.get(slot)));
    }
  });

  it('lets exactly one of many nodes take over a slot whose lease ran out, naming the previous owner', async (t) => {
    const { stores } = await processes(t, 3);
    const [first] = stores as [PostgresStore];
    await first.registerHandler(registration);
    await first.claimSlots('P', node(0), [0], 100);
    await sleep(200);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) => (stores[n % stores.length] as PostgresStore).claimSlots('P', node(n + 1), [0], LONG)),
    );
    const claims = results.flat();
    assert.equal(claims.length, 1);
    assert.deepEqual([claims[0]?.epoch, claims[0]?.takenFrom], [2, node(0).id]);
  });

  it('never hands out one slot epoch twice while nodes heartbeat, claim, save and release concurrently', async (t) => {
    const { stores } = await processes(t, 4, 4);
    const slots = 16;
    await stores[0]?.registerHandler({ ...registration, slots });
    const seen = new Set<string>();
    const errors: unknown[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, n) => {
        const store = stores[n % stores.length] as PostgresStore;
        const me = node(n);
        for (let step = 0; step < 15; step++) {
          try {
            await store.heartbeat('P', me, 300);
            const wanted = Array.from({ length: slots }, (_, slot) => slot).filter((slot) => (slot + step + n) % 3 !== 0);
            const claims = await store.claimSlots('P', me, step % 2 === 0 ? wanted : wanted.reverse(), 300);
            for (const claim of claims) {
              const key = `${claim.slot}@${claim.epoch}`;
              assert.equal(seen.has(key), false, `slot ${claim.slot} handed out twice under epoch ${claim.epoch}`);
              seen.add(key);
            }
            const cursors = claims.map((claim) => ({ slot: claim.slot, epoch: claim.epoch, cursor: { position: step + 1, acked: [] } }));
            await store.saveSlotCursors('P', me.id, cursors).catch((error: unknown) => {
              if (!(error instanceof LeaseLostError)) throw error;
            });
            await store.releaseSlots('P', me.id, claims.filter((claim) => claim.slot % 2 === step % 2).map((claim) => claim.slot));
          } catch (error) {
            errors.push(error);
          }
        }
        await store.leave('P', me.id);
      }),
    );
    assert.deepEqual(errors, []);
    assert.ok(seen.size > 0);
    assert.deepEqual((await stores[0]?.heartbeat('P', node(99), LONG))?.owners, Array.from({ length: slots }, () => undefined));
  });

  it('creates every slot once when several processes register a handler at the same moment', async (t) => {
    const { stores, schema } = await processes(t, 3);
    const records = await Promise.all(
      Array.from({ length: 12 }, (_, n) => (stores[n % stores.length] as PostgresStore).registerHandler({ ...registration, slots: 8 })),
    );
    for (const record of records) assert.deepEqual([record.slots, record.cursor], [8, { position: 0, acked: [] }]);
    const rows = await admin<{ slot: number; epoch: string }[]>`select slot, epoch from ${admin(schema)}.handler_slots order by slot`;
    assert.deepEqual(rows.map((row) => [row.slot, Number(row.epoch)]), Array.from({ length: 8 }, (_, slot) => [slot, 0]));
  });

  it('keeps the slot rows and the slot count in step when processes re-slice to different counts at once', async (t) => {
    const { stores, schema } = await processes(t, 3);
    await stores[0]?.registerHandler({ ...registration, slots: 2 });
    const counts = [3, 5, 8, 3, 5, 8, 13, 1, 13];
    await Promise.all(counts.map((slots, n) => (stores[n % stores.length] as PostgresStore).registerHandler({ ...registration, slots })));
    const [handler] = await admin<{ slots: number }[]>`select slots from ${admin(schema)}.handlers where name = 'P'`;
    const rows = await admin<{ slot: number }[]>`select slot from ${admin(schema)}.handler_slots order by slot`;
    assert.ok(handler !== undefined && counts.includes(handler.slots));
    assert.deepEqual(rows.map((row) => row.slot), Array.from({ length: handler.slots }, (_, slot) => slot));
  });

  it('tells the listeners of another process about joins, releases, leaves and slot-cursor saves', async (t) => {
    const { stores } = await processes(t, 2);
    const [listener, worker] = stores as [PostgresStore, PostgresStore];
    await listener.registerHandler({ ...registration, slots: 2 });
    const membership: string[] = [];
    const cursors: [string, number][] = [];
    listener.onMembershipChanged((name) => membership.push(name));
    listener.onCursorSaved((name, position) => cursors.push([name, position]));
    // The listener's own heartbeat waits for its LISTEN, then is heard like any change.
    await listener.heartbeat('P', node(50), LONG);
    await waitFor(() => membership.length === 1, 'the listening connection');
    membership.length = 0;
    const me = node(1);
    await worker.heartbeat('P', me, LONG);
    await waitFor(() => membership.length === 1, 'the join');
    const claims = await worker.claimSlots('P', me, [0, 1], LONG);
    await worker.saveSlotCursors('P', me.id, claims.map((claim) => ({ slot: claim.slot, epoch: claim.epoch, cursor: { position: 4 + claim.slot, acked: [] } })));
    await waitFor(() => cursors.some(([name, position]) => name === 'P' && position === 4), 'the slot-cursor save');
    await worker.releaseSlots('P', me.id, [1]);
    await waitFor(() => membership.length === 2, 'the release');
    await worker.leave('P', me.id);
    await waitFor(() => membership.length === 3, 'the leave');
    assert.deepEqual(membership, ['P', 'P', 'P']);
  });

  it("rolls a transaction's writes back with its slot-cursor save when the lease was lost", async (t) => {
    const { stores, schema } = await processes(t, 1);
    const [store] = stores as [PostgresStore];
    await store.registerHandler({ ...registration, slots: 2 });
    await admin`create table ${admin(schema)}.effects (n integer)`;
    const me = node(1);
    const [zero, one] = (await store.claimSlots('P', me, [0, 1], LONG)) as [SlotClaim, SlotClaim];
    await store.releaseSlots('P', me.id, [1]);
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.sql`insert into ${tx.sql(schema)}.effects values (1)`;
        await tx.saveSlotCursors('P', me.id, [
          { slot: 0, epoch: zero.epoch, cursor: { position: 5, acked: [] } },
          { slot: 1, epoch: one.epoch, cursor: { position: 5, acked: [] } },
        ]);
      }),
      (error: unknown) => error instanceof LeaseLostError && error.slots.join() === '1',
    );
    assert.equal((await admin`select n from ${admin(schema)}.effects`).length, 0);
    assert.deepEqual((await store.loadHandler('P'))?.cursor, { position: 0, acked: [] });
    await store.transaction(async (tx) => {
      await tx.sql`insert into ${tx.sql(schema)}.effects values (2)`;
      await tx.saveSlotCursors('P', me.id, [{ slot: 0, epoch: zero.epoch, cursor: { position: 5, acked: [] } }]);
    });
    assert.deepEqual((await admin<{ n: number }[]>`select n from ${admin(schema)}.effects`).map((row) => row.n), [2]);
  });

  it('upgrades a schema made by migration 1 alone, moving each cursor into slot 0', async (t) => {
    const schema = await freshSchema(admin);
    t.after(() => admin`drop schema if exists ${admin(schema)} cascade`.then(() => undefined));
    await admin.begin(async (tx) => {
      await ensureMigrationsTable(tx, schema);
      await applyMigration(tx, schema, migrations[0] as (typeof migrations)[number]);
    });
    const s = admin(schema);
    await admin`insert into ${s}.handlers (name, subscribe_to, consistency, initial_position, position, acked, updated_at)
      values ('Old', '$all', 'strong', 2, 5, '{7,9}', '2020-01-02T03:04:05Z'), ('Fresh', 'orders', 'eventual', 0, 0, '{}', now())`;
    const store = postgresStore({ url: server.url, schema, maxConnections: 2 });
    t.after(() => store.close());
    await store.migrate();
    const old = await store.loadHandler('Old');
    assert.deepEqual(
      [old?.slots, old?.cursor, old?.initialPosition, old?.consistency, old?.updatedAt.toISOString()],
      [1, { position: 5, acked: [7, 9] }, 2, 'strong', '2020-01-02T03:04:05.000Z'],
    );
    assert.deepEqual((await store.listHandlers()).map((record) => [record.name, record.slots, record.cursor]), [
      ['Fresh', 1, { position: 0, acked: [] }],
      ['Old', 1, { position: 5, acked: [7, 9] }],
    ]);
    const [claim] = await store.claimSlots('Old', node(1), [0], LONG);
    assert.deepEqual([claim?.epoch, claim?.cursor], [1, { position: 5, acked: [7, 9] }]);
    const columns = await admin<{ column_name: string }[]>`
      select column_name from information_schema.columns where table_schema = ${schema} and table_name = 'handlers' order by column_name`;
    assert.deepEqual(columns.map((row) => row.column_name), ['consistency', 'initial_position', 'name', 'slots', 'subscribe_to', 'updated_at']);
    assert.deepEqual((await admin<{ version: number }[]>`select version from ${s}.migrations order by version`).map((row) => row.version), migrations.map((migration) => migration.version));
  });
});
