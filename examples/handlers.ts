/**
 * Handlers: options, state, init/afterStart, a single-stream subscription, status and reset.
 * Run with `npx tsx examples/handlers.ts`.
 */
import { createApp, defineHandler, inMemoryStore } from '../src/index.ts';

// A counter whose transient state lives in the handler: afterStart sets it, handle returns the next one.
const counter = defineHandler<{ seen: number }>({
  name: 'Counter',
  state: { seen: 0 },
  afterStart: (ctx) => {
    console.log(`afterStart: ${ctx.handlerName} in app ${ctx.app}, state ${JSON.stringify(ctx.state)}`);
    return { state: { seen: 100 } };
  },
  beforeReset: () => console.log('beforeReset: clearing the read model'),
  handle(event, ctx) {
    const seen = ctx.state.seen + 1;
    console.log(`Counter: #${event.eventNumber} ${event.type} on ${event.streamId} (state.seen ${seen})`);
    return { state: { seen } };
  },
});

// One definition, renamed per tenant by init: each name gets its own cursor.
const audit = defineHandler({
  name: 'Audit',
  subscribeTo: 'account-1',                       // only this stream's events
  init: (config) => ({ ...config, name: `${config.name}:acme` }),
  handle: (event, ctx) => console.log(`${ctx.handlerName}: ${event.type} v${event.streamVersion}`),
});

const store = inMemoryStore();
const app = createApp({ store, name: 'bank' });
await app.dispatch('account-1', { type: 'Opened', data: { owner: 'ada' } });

// [handler, overrides]: this child starts after the events already stored.
await app.start([counter, [audit, { startFrom: 'current' }]]);

const result = await app.dispatch('account-1', [
  { type: 'Deposited', data: { amount: 10 }, eventId: 'msg-1' },
  { type: 'Withdrawn', data: { amount: 4 } },
]);
console.log(`dispatch: appended ${result.events.length}, lastEventNumber ${result.lastEventNumber}`);
await app.dispatch('account-2', { type: 'Opened', data: { owner: 'bob' } });

const again = await app.dispatch('account-1', { type: 'Deposited', data: { amount: 10 }, eventId: 'msg-1' });
console.log(`same eventId again: appended ${again.events.length}, duplicates ${JSON.stringify(again.duplicates)}`);

await waitUntil(() => app.status().every((s) => s.cursor === 4 && s.state === 'live'));
for (const s of app.status()) console.log(`status: ${s.name} ${s.state} cursor ${s.cursor} lag ${s.lag} workers ${s.workers}`);

// reset: stop, beforeReset, cursor back to where startFrom first put it, fresh state, afterStart, replay.
await app.reset('Counter');
await waitUntil(() => app.status()[0]?.cursor === 4);
console.log('reset replayed Counter from the origin');

await app.stop();
console.log('stopped; cursors saved');

// A new app on the same store (a restarted process) resumes after the saved cursor: only the new event.
const restarted = createApp({ store, name: 'bank' });
await restarted.start([counter]);
await restarted.dispatch('account-2', { type: 'Closed', data: {} });
await waitUntil(() => restarted.status()[0]?.cursor === 5);
console.log('restarted app resumed after event 4');
await restarted.stop();

async function waitUntil(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!predicate()) throw new Error('example did not settle');
}
