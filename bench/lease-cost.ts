/**
 * What a node's leases cost the database while idle: one process (an app) running `LEASE_HANDLERS` idle handlers
 * (default 10), for `LEASE_SECONDS` (default 20) per setting, at herald's default lease (4 s, heartbeat 1 s), at the
 * former default (10 s, heartbeat 2.5 s) and with leases but a fallback poll slowed to once a minute (what the
 * heartbeats alone cost). Counted as transactions committed in the database (`pg_stat_database`): each heartbeat
 * and each idle poll is one autocommit statement. The sampler's own two reads per sample are subtracted.
 *
 *   npx tsx bench/lease-cost.ts
 */
import postgres from 'postgres';
import { createApp, defineHandler } from '../src/index.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { freshSchema, startPostgres } from '../test/support/postgres.ts';

const handlers = Number(process.env['LEASE_HANDLERS'] ?? 10);
const seconds = Number(process.env['LEASE_SECONDS'] ?? 20);
const server = await startPostgres();
const sql = postgres(server.url, { max: 1, onnotice: () => {} });

async function committed(): Promise<number> {
  const [row] = await sql<{ n: string }[]>`select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`;
  return Number(row?.n);
}

async function measure(label: string, node: { leaseMs?: number }, pollMs: number): Promise<void> {
  const schema = await freshSchema(sql);
  const app = createApp({ store: postgresStore({ url: server.url, schema }), node, pollMs });
  await app.start(Array.from({ length: handlers }, (_, i) => defineHandler({ name: `H${i}`, handle: () => {} })));
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const before = await committed();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = await committed();
  await app.stop();
  // Each stats read is its own transaction: one before (counted in `after`) and `after` itself (not yet counted).
  const perSecond = (after - before - 1) / seconds;
  console.log(`${label.padEnd(44)} ${perSecond.toFixed(1).padStart(6)} statements/s per node (${(perSecond / handlers).toFixed(2)} per handler)`);
}

console.log(`${handlers} idle handlers in one process, ${seconds} s per setting (stats are refreshed lazily: a few % noise)`);
await measure('default lease 4 s, heartbeat 1 s, poll 1 s', {}, 1000);
await measure('former lease 10 s, heartbeat 2.5 s, poll 1 s', { leaseMs: 10_000 }, 1000);
await measure('default lease 4 s, heartbeat 1 s, poll 60 s', {}, 60_000);
await measure('former lease 10 s, heartbeat 2.5 s, poll 60 s', { leaseMs: 10_000 }, 60_000);
await sql.end();
await server.stop();
