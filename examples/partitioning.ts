/**
 * Partitioning: concurrency with partitionBy keeps per-key order; without it events go round-robin.
 * A poison event holds up only the keys hashed to its worker. Strong consistency works with concurrency > 1.
 * Run with `npx tsx examples/partitioning.ts`.
 */
import { createApp, defineHandler, inMemoryStore, retry, skip } from '../src/index.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const order = new Map<string, number[]>();
const workerOf = new Map<string, Set<number>>();
let poisonTries = 0;

const projector = defineHandler({
  name: 'AccountProjector',
  concurrency: 3,
  consistency: 'strong',
  partitionBy: (event) => event.streamId,        // same stream -> same worker, in order
  async handle(event, ctx) {
    if (event.type === 'Poison') {
      if (++poisonTries === 1) console.log(`poison event on worker ${ctx.workerIndex}: retried, then skipped`);
      throw new Error('cannot parse');
    }
    await sleep(Math.random() * 5);             // keys interleave; each key stays in order
    const key = String(ctx.partition);
    order.set(key, [...(order.get(key) ?? []), (event.data as { n: number }).n]);
    workerOf.set(key, (workerOf.get(key) ?? new Set()).add(ctx.workerIndex));
  },
  error: (_err, _event, failure) => (failure.attempt < 3 ? retry(30) : skip()),
});

const spread: number[] = [];
const fanOut = defineHandler({
  name: 'FanOut',
  concurrency: 3,                                // no partitionBy: round-robin, no order between workers
  handle: (_event, ctx) => void spread.push(ctx.workerIndex),
});

const app = createApp({ store: inMemoryStore() });
await app.start([projector, fanOut]);

await app.dispatch('acct-poison', { type: 'Poison', data: { n: 0 } });
for (let n = 1; n <= 5; n++) {
  for (const account of ['acct-a', 'acct-b', 'acct-c']) {
    await app.dispatch(account, { type: 'Deposited', data: { n } });
  }
}
// Strong + concurrency: waits until the low-water mark passes this event.
// The poison event sits below it, so this returns only once that event is skipped.
const last = await app.dispatch('acct-a', { type: 'Deposited', data: { n: 6 } }, { consistency: 'strong' });
console.log(`strong dispatch of #${last.lastEventNumber} returned; cursor ${app.status()[0]?.cursor}`);

for (const [key, ns] of [...order].sort()) {
  console.log(`${key}: worker ${[...(workerOf.get(key) ?? [])].join(',')} handled ${ns.join(' ')}`);
}
const ordered = ['acct-a', 'acct-b', 'acct-c'].every((key) => order.get(key)?.join(' ') === (key === 'acct-a' ? '1 2 3 4 5 6' : '1 2 3 4 5'));
console.log(`per-key order kept: ${ordered}`);
console.log(`dead letters: ${(await app.deadLetters()).map((d) => `#${d.event.eventNumber} ${d.event.streamId}`).join(', ')}`);

await waitUntil(() => spread.length === 17);
console.log(`FanOut round-robin workers: ${spread.join('')}`);
await app.stop();

async function waitUntil(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !predicate(); i++) await sleep(10);
  if (!predicate()) throw new Error(`example did not settle: ${JSON.stringify(app.status())}`);
}
