/**
 * Error handling: retry with a context, retry after a delay, backoff then skip to a dead letter,
 * replaying that dead letter, a timeout, and the default (stop) restarted by the supervisor.
 * Run with `npx tsx examples/error-handling.ts`.
 */
import { HandlerTimeoutError, backoff, createApp, defineHandler, inMemoryStore, retry, skip } from '../src/index.ts';

// 1. retry(context) and retry(delayMs, context): failure.attempt counts, failure.context carries over.
let flaky = 0;
const mailer = defineHandler({
  name: 'Mailer',
  handle(event) {
    if (++flaky <= 2) throw new Error(`SMTP down (${flaky})`);
    console.log(`Mailer: sent for #${event.eventNumber} after ${flaky - 1} failures`);
  },
  error(err, _event, failure) {
    console.log(`Mailer: attempt ${failure.attempt} failed: ${(err as Error).message}, context ${JSON.stringify(failure.context)}`);
    return failure.attempt === 1 ? retry({ firstError: (err as Error).message }) : retry(20, failure.context);
  },
});

// 2. backoff: exponential delays, then skip() records a dead letter and moves on.
let brokenPrinter = true;
const invoices = defineHandler({
  name: 'Invoices',
  handle(event) {
    if (brokenPrinter) throw new Error('printer on fire');
    console.log(`Invoices: printed #${event.eventNumber}`);
  },
  error: backoff({ maxAttempts: 3, baseMs: 5, maxMs: 20, then: 'skip' }),
});

// 3. timeoutMs: a handle that takes too long reaches error() as a HandlerTimeoutError.
let slowOnce = true;
const slow = defineHandler({
  name: 'Slow',
  timeoutMs: 50,
  async handle() {
    if (slowOnce) {
      slowOnce = false;
      await new Promise((resolve) => setTimeout(resolve, 200)); // keeps running: a timeout cannot cancel it
    }
  },
  error: (err) => {
    console.log(`Slow: ${err instanceof HandlerTimeoutError ? `${err.code} after ${err.timeoutMs} ms` : String(err)}`);
    return err instanceof HandlerTimeoutError ? retry() : skip();
  },
});

// 4. No error callback: the default is stop(error); the supervisor restarts the handler from its cursor.
let crashes = 0;
const fragile = defineHandler({
  name: 'Fragile',
  handle() {
    if (crashes++ === 0) throw new Error('first run crashes');
    console.log('Fragile: handled after its restart');
  },
});

const app = createApp({ store: inMemoryStore() });
app.on('supervisor:restart', ({ child, reason }) => console.log(`supervisor: restarted ${child} (${(reason as Error).message})`));
await app.start([mailer, invoices, slow, fragile]);
await app.dispatch('order-1', { type: 'OrderPlaced', data: { total: 42 } });

await waitUntil(() => app.status().every((s) => s.cursor === 1 && s.state === 'live'));
const [dead] = await app.deadLetters({ handler: 'Invoices' });
if (dead === undefined) throw new Error('expected a dead letter');
console.log(`dead letter: ${dead.handlerName} event #${dead.event.eventNumber}, ${dead.attempts} attempts, "${dead.error.message}"`);

brokenPrinter = false;
console.log(`replayDeadLetter: ${await app.replayDeadLetter(dead.id)}`);
console.log(`dead letters left: ${(await app.deadLetters()).length}`);
console.log(`pruned: ${await app.prune({ deadLettersOlderThan: new Date() })}`);
for (const s of app.status()) console.log(`status: ${s.name} restarts ${s.restarts} lastError ${s.lastError?.message ?? '-'}`);

await app.stop();

async function waitUntil(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!predicate()) throw new Error(`example did not settle: ${JSON.stringify(app.status())}`);
}
