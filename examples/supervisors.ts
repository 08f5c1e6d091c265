/**
 * Supervisors: strategies, restart types, nesting, and giving up (app.done rejects with SupervisorError).
 * Run with `npx tsx examples/supervisors.ts`.
 */
import { SupervisorError, createApp, defineHandler, inMemoryStore, stop, supervisor } from '../src/index.ts';

const crashOnce = (name: string) => {
  let crashed = false;
  return defineHandler({
    name,
    handle(event) {
      if (!crashed && event.type === 'Crash') {
        crashed = true;
        throw new Error(`${name} crashed`);
      }
    },
  });
};
const quiet = (name: string) => defineHandler({ name, handle() {} });

// one_for_all: when Orders crashes, its sibling Totals is stopped and both start again.
// The temporary Report is never restarted: it is dropped from the group.
const projections = supervisor({
  name: 'projections',
  strategy: 'one_for_all',
  children: [crashOnce('Orders'), quiet('Totals'), [quiet('Report'), { restart: 'temporary' }]],
});

// A transient child that stops with reason 'normal' stays down; an abnormal stop would restart it.
const importer = defineHandler({
  name: 'Importer',
  handle: (event) => (event.type === 'ImportDone' ? Promise.reject(new Error('done')) : undefined),
  error: () => stop('normal'),
});

const app = createApp({ store: inMemoryStore(), name: 'shop' });
app.on('supervisor:restart', ({ supervisor: sup, child, restarts }) => console.log(`restart: ${sup} restarted ${child} (#${restarts})`));
app.on('handler:state', ({ handlerName, to }) => {
  if (to === 'stopped' || to === 'failed') console.log(`state: ${handlerName} -> ${to}`);
});
await app.start([projections, [importer, { restart: 'transient' }]], { strategy: 'one_for_one', maxRestarts: 3, withinMs: 5000 });

await app.dispatch('orders', { type: 'Crash', data: {} });
await app.dispatch('imports', { type: 'ImportDone', data: {} });
await waitUntil(() => app.status().find((s) => s.name === 'Importer')?.state === 'stopped' && app.status()[0]?.state === 'live');
for (const s of app.status()) console.log(`status: ${s.name} ${s.state}, restarts ${s.restarts}`);
await app.stop();

// Giving up: a poison event with the default error (stop) crashes its handler on every restart.
// After more than maxRestarts restarts within withinMs the root gives up and app.done rejects.
const doomed = createApp({ store: inMemoryStore(), name: 'doomed' });
doomed.on('supervisor:giveup', ({ supervisor: sup }) => console.log(`giveup: ${sup} exceeded its restart intensity`));
await doomed.start([defineHandler({ name: 'Poisoned', handle: () => { throw new Error('poison event'); } })], { maxRestarts: 2 });
await doomed.dispatch('s', { type: 'Bad', data: {} });
const outcome = await doomed.done.then(() => 'resolved', (err: unknown) => err);
if (!(outcome instanceof SupervisorError)) throw new Error('expected a SupervisorError');
console.log(`app.done rejected: ${outcome.code}, cause: ${(outcome.cause as Error).message}`);
console.log(`status after give-up: ${doomed.status().map((s) => `${s.name} ${s.state}`).join(', ')}`);
await doomed.stop();

async function waitUntil(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!predicate()) throw new Error(`example did not settle: ${JSON.stringify(app.status())}`);
}
