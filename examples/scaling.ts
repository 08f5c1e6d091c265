/**
 * Scaling out: two apps on one store stand for two processes on one database (with PostgreSQL, run this same code
 * in two processes). A partitioned handler's slots are split between them, each key stays on one process and in
 * order, and when one app stops the other takes its slots over where they were acknowledged.
 * Run with `npx tsx examples/scaling.ts`.
 */
import { createApp, defineHandler, inMemoryStore, type App, type RecordedEvent } from '../src/index.ts';

const store = inMemoryStore();
const handledBy = new Map<string, string[]>();   // key -> labels of the processes that handled its events, in order

function projector(label: string) {
  return defineHandler({
    name: 'Projector',
    concurrency: 4,
    slots: 8,                                     // default 64; 8 keeps the printout short
    partitionBy: (event: RecordedEvent) => event.streamId,
    handle(event) {
      handledBy.set(event.streamId, [...(handledBy.get(event.streamId) ?? []), label]);
    },
  });
}

async function startProcess(label: string): Promise<App> {
  const app = createApp({ store, node: { label, leaseMs: 1000 } });
  app.on('slots:acquire', ({ nodeLabel, slots }) => console.log(`${nodeLabel} acquired slots ${slots.join(',')}`));
  await app.start([projector(label)]);
  return app;
}

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
};
const owned = (app: App) => app.status()[0]?.slots.owned ?? [];

const a = await startProcess('process-a');
const b = await startProcess('process-b');
await until(() => owned(a).length === 4 && owned(b).length === 4);
console.log(`split: process-a owns ${owned(a).join(',')}, process-b owns ${owned(b).join(',')}`);

const accounts = Array.from({ length: 6 }, (_, i) => `account-${i}`);
for (const account of accounts) await a.dispatch(account, { type: 'Opened', data: null });
await until(() => [...handledBy.values()].flat().length === 6);

await a.stop();                                   // a graceful stop hands process-a's slots over at once
await until(() => owned(b).length === 8);
console.log(`after process-a stopped, process-b owns ${owned(b).length} slots`);
for (const account of accounts) await b.dispatch(account, { type: 'Deposited', data: { amount: 10 } });
await until(() => [...handledBy.values()].flat().length === 12);

for (const account of accounts) console.log(`${account}: ${handledBy.get(account)?.join(' -> ')}`);
const once = [...handledBy.values()].every((labels) => labels.length === 2);
console.log(`every event handled exactly once: ${once}`);
await b.stop();
