/**
 * The herald demo: an order system on the embedded in-memory store.
 * Run with `npm start`. It shows a projection read with strong consistency, a flaky mailer that retries,
 * a poison event that is skipped to the dead letters, and a supervisor restarting a handler that stopped.
 *
 * `npm start -- --postgres` runs the same demo on an embedded PostgreSQL whose data is kept in `.herald-demo/`
 * (or `HERALD_DEMO_DIR`; `DATABASE_URL` when set): run it again and every handler resumes after the events it
 * handled in the previous run. Delete the directory to start over.
 */
import { startPostgres, type DevPostgres } from '../scripts/dev-postgres.ts';
import { backoff, createApp, defineHandler, inMemoryStore, postgresStore, retry, stop, supervisor } from '../src/index.ts';
import type { EventStore } from '../src/index.ts';

const log = (who: string, message: string) => console.log(`${who.padEnd(14)} ${message}`);

// A read model kept up to date by a strong handler: a strong dispatch returns only once it is updated.
const totals = new Map<string, number>();
const projector = defineHandler({
  name: 'OrderTotals',
  consistency: 'strong',
  handle(event) {
    if (event.type !== 'OrderPlaced') return;
    const { total } = event.data as { total?: number };
    if (typeof total !== 'number') return log('OrderTotals', `${event.streamId} has no total: not projected`);
    totals.set(event.streamId, total);
    log('OrderTotals', `${event.streamId} total = ${total}`);
  },
});

// A mailer whose provider fails the first time: error() answers retry with a delay and a context.
let mailerCalls = 0;
const mailer = defineHandler({
  name: 'Mailer',
  handle(event) {
    if (event.type !== 'OrderPlaced') return;
    mailerCalls++;
    if (mailerCalls === 1) throw new Error('SMTP timeout');
    log('Mailer', `sent confirmation for ${event.streamId}`);
  },
  error(err, event, failure) {
    log('Mailer', `attempt ${failure.attempt} failed (${(err as Error).message}); retrying in 50 ms`);
    return retry(50, { lastError: (err as Error).message });
  },
});

// An invoice generator that cannot handle one malformed order: backoff, then skip to the dead letters.
const invoices = defineHandler({
  name: 'Invoices',
  concurrency: 2,
  partitionBy: (event) => event.streamId,
  handle(event, ctx) {
    const { total } = event.data as { total?: number };
    if (typeof total !== 'number') throw new Error('order without total');
    if (event.type === 'OrderPlaced') log('Invoices', `worker ${ctx.workerIndex} invoiced ${event.streamId}`);
  },
  error: backoff({ maxAttempts: 3, baseMs: 5, maxMs: 20, then: 'skip' }),
});

// A fraud check that crashes on its first suspicious order: stop() hands it to its supervisor, which restarts it.
let fraudCrashed = false;
const fraud = defineHandler({
  name: 'FraudCheck',
  handle(event) {
    const { total } = event.data as { total?: number };
    if ((total ?? 0) > 1000 && !fraudCrashed) {
      fraudCrashed = true;
      throw new Error('fraud model not loaded');
    }
    log('FraudCheck', `checked ${event.streamId}`);
  },
  error: (err) => stop(err),
});

const durable = process.argv.includes('--postgres');
let server: DevPostgres | undefined;
let store: EventStore = inMemoryStore();
if (durable) {
  const dataDir = process.env['HERALD_DEMO_DIR'] ?? '.herald-demo';
  server = await startPostgres({ dataDir });
  store = postgresStore({ url: server.url, schema: 'herald_demo' });
  log('postgres', `${server.origin}; data kept in ${server.external ? 'DATABASE_URL' : dataDir} (delete it to start over)`);
}

const app = createApp({ store, name: 'shop' });
app.on('supervisor:restart', ({ supervisor: sup, child, restarts }) =>
  log('supervisor', `${sup} restarted ${child} (restart #${restarts})`),
);
app.on('handle:exception', ({ handlerName, action, attempt }) => {
  if (action === 'skip') log(handlerName, `gave up after ${attempt} attempts: skipped to dead letters`);
});

await app.start([projector, supervisor({ name: 'side-effects', children: [mailer, invoices, fraud] })]);
const resumedAt = Math.min(...app.status().map((s) => s.cursor));
if (resumedAt > 0) log('app', `resumed from saved cursors: every handler continues after event ${resumedAt}, handled in an earlier run`);

await app.dispatch('order-1', { type: 'OrderPlaced', data: { total: 30 } }, { consistency: 'strong' });
log('dispatch', `strong dispatch returned; read model says order-1 = ${totals.get('order-1')}`);

await app.dispatch('order-2', { type: 'OrderPlaced', data: { total: 2500 } }, { consistency: 'strong' });
const { lastEventNumber } = await app.dispatch('order-3', { type: 'OrderPlaced', data: { note: 'no total' } });

// Let the eventual handlers finish: retries, backoff and the restart all happen in the background.
await waitUntil(() => app.status().every((s) => s.cursor === lastEventNumber && s.state === 'live'));

const dead = (await app.deadLetters()).at(-1);
log('dead letters', `${dead?.handlerName} skipped event ${dead?.event.eventNumber}: ${dead?.error.message}`);
for (const s of app.status()) log('status', `${s.name}: ${s.state}, cursor ${s.cursor}, restarts ${s.restarts}`);

await app.stop();
await server?.stop();
log('app', 'stopped cleanly');

async function waitUntil(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!predicate()) throw new Error('demo did not settle');
}
