/**
 * Batch handlers: `handleBatch` with `batchSize`, why each batch went (`flushReason`), `batchTimeoutMs` while live,
 * a failed batch skipped to one dead letter per event, and `partitionBy` + `concurrency` keeping each key's order.
 * Run with `npx tsx examples/batch-handlers.ts`. (On PostgreSQL, add `transactional: true` and write each batch
 * with one multi-row INSERT through `ctx.sql`: see docs/handlers.md, "Batch handlers".)
 */
import { createApp, defineHandler, inMemoryStore, skip } from '../src/index.ts';

const app = createApp({ store: inMemoryStore() });
app.on('batch:stop', ({ handlerName, events, flushReason }) => {
  if (handlerName === 'Totals') console.log(`Totals: batch of ${events.length} (${flushReason})`);
});

// 1. Catching up: 250 stored events arrive as full batches, then the rest.
await app.dispatch('orders', Array.from({ length: 250 }, (_, i) => ({ type: 'OrderPlaced', data: { amount: i % 10 } })));
let total = 0;
const totals = defineHandler({
  name: 'Totals',
  subscribeTo: 'orders',
  batchSize: 100,
  batchTimeoutMs: 20,
  consistency: 'strong',
  handleBatch(events) {
    total += events.reduce((sum, event) => sum + (event.data as { amount: number }).amount, 0);
  },
});

// 2. A failing batch: error() sees the whole batch; skip() records one dead letter per event.
const mailer = defineHandler({
  name: 'Mailer',
  batchSize: 4,
  handleBatch(events) {
    if (events.some((event) => event.eventNumber === 6)) throw new Error('SMTP down');
  },
  error(err, events, failure) {
    console.log(`Mailer: batch ${events.map((e) => e.eventNumber).join(',')} failed (${(err as Error).message}), failure.events: ${failure.events.length}`);
    return skip();
  },
});

// 3. partitionBy + concurrency: each worker's batches mix keys, and each key stays in order.
const seen = new Map<string, number[]>();
const ledger = defineHandler({
  name: 'Ledger',
  subscribeTo: 'ledger',
  consistency: 'strong',
  concurrency: 3,
  batchSize: 8,
  partitionBy: (event) => (event.data as { account: string }).account,
  async handleBatch(events) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    for (const event of events) {
      const { account, seq } = event.data as { account: string; seq: number };
      seen.set(account, [...(seen.get(account) ?? []), seq]);
    }
  },
});

await app.start([totals, mailer, ledger]);
await app.dispatch('orders', { type: 'OrderPlaced', data: { amount: 5 } }, { consistency: ['Totals'] });
console.log(`Totals: total = ${total}`);

// While live, with batchTimeoutMs a batch waits up to 20 ms to fill: three quick dispatches make one batch.
await Promise.all([1, 2, 3].map((amount) => app.dispatch('orders', { type: 'OrderPlaced', data: { amount } })));
await app.dispatch('orders', { type: 'OrderPlaced', data: { amount: 0 } }, { consistency: ['Totals'] });
console.log(`Totals: total = ${total}`);

const ledgerEvents = Array.from({ length: 60 }, (_, i) => ({ type: 'Posted', data: { account: `acct-${i % 4}`, seq: Math.floor(i / 4) } }));
await app.dispatch('ledger', ledgerEvents, { consistency: ['Ledger'] });
const inOrder = [...seen.values()].every((seqs) => seqs.every((seq, i) => seq === i));
console.log(`Ledger: per-key order kept: ${inOrder}, keys: ${seen.size}`);

const letters = await app.deadLetters({ handler: 'Mailer' });
console.log(`Mailer: dead letters for events ${letters.map((letter) => letter.event.eventNumber).join(',')}`);
await app.stop();
