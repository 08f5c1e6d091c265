/**
 * Consistency: a strong dispatch returns once every strong handler covering the stream acknowledged it;
 * consistency: [names] waits for exactly those; a stopped strong handler makes the wait time out;
 * a dispatch from inside handle never waits for its own handler.
 * Run with `npx tsx examples/consistency.ts`.
 */
import { ConsistencyTimeoutError, createApp, defineHandler, inMemoryStore, stop } from '../src/index.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const balances = new Map<string, number>();
let emailsSent = 0;

const app = createApp({ store: inMemoryStore() });

const balanceProjection = defineHandler({
  name: 'Balances',
  consistency: 'strong',
  async handle(event) {
    await sleep(20);                              // a slow read model write
    const { amount } = event.data as { amount: number };
    balances.set(event.streamId, (balances.get(event.streamId) ?? 0) + amount);
    // A dispatch from inside handle: it waits for the other strong handlers, never for Balances itself.
    if (amount >= 1000) await app.dispatch('alerts', { type: 'LargeDeposit', data: { account: event.streamId } }, { consistency: 'strong' });
  },
});

const mailer = defineHandler({                    // eventual: strong dispatches do not wait for it
  name: 'Mailer',
  async handle() {
    await sleep(20);
    emailsSent++;
  },
});

const ledger = defineHandler({                    // strong, but only for its own stream
  name: 'Ledger',
  consistency: 'strong',
  subscribeTo: 'ledger',
  handle: () => { throw new Error('ledger offline'); },
  error: () => stop('offline'),
});

await app.start([balanceProjection, mailer, [ledger, { restart: 'temporary' }]]);

await app.dispatch('acct-1', { type: 'Deposited', data: { amount: 50 } }, { consistency: 'strong' });
console.log(`strong: balance acct-1 = ${balances.get('acct-1')} (read right after dispatch)`);

await app.dispatch('acct-1', { type: 'Deposited', data: { amount: 2000 } }, { consistency: 'strong' });
console.log(`in-handler dispatch did not deadlock: balance acct-1 = ${balances.get('acct-1')}`);

await app.dispatch('acct-2', { type: 'Deposited', data: { amount: 5 } }, { consistency: ['Mailer'] });
console.log(`consistency ['Mailer']: emails sent = ${emailsSent}`);

// Ledger stops on its first event (temporary: never restarted); strong dispatches to 'ledger' now time out.
await app.dispatch('ledger', { type: 'Entry', data: { amount: 1 } });
try {
  await app.dispatch('ledger', { type: 'Entry', data: { amount: 2 } }, { consistency: 'strong', timeoutMs: 200 });
} catch (err) {
  if (!(err instanceof ConsistencyTimeoutError)) throw err;
  console.log(`timeout: ${err.code}, handlers behind: ${err.handlers.join(', ')}; event ${err.eventNumber} stays stored`);
}

try {
  await app.dispatch('acct-1', { type: 'Deposited', data: { amount: 1 } }, { consistency: ['Balances', 'Ghost'] });
} catch (err) {
  console.log(`unknown name: ${(err as Error).message} (nothing appended)`);
}
await app.stop();
