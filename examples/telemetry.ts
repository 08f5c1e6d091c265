/**
 * Telemetry: typed app.on listeners and Node's diagnostics_channel (`herald:<name>`).
 * A throwing app.on listener is isolated; the runtime carries on.
 * Run with `npx tsx examples/telemetry.ts`.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { createApp, defineHandler, inMemoryStore, retry, telemetryChannel, type HandleStopPayload } from '../src/index.ts';

let failOnce = true;
const projector = defineHandler({
  name: 'Projector',
  handle() {
    if (failOnce) {
      failOnce = false;
      throw new Error('deadlock detected');
    }
  },
  error: () => retry(10),
});

const app = createApp({ store: inMemoryStore(), name: 'shop' });

// app.on: one app's events, typed by name; returns an unsubscribe function.
app.on('handler:state', ({ handlerName, from, to }) => console.log(`handler:state ${handlerName} ${from} -> ${to}`));
app.on('handle:exception', ({ handlerName, attempt, action, error }) =>
  console.log(`handle:exception ${handlerName} attempt ${attempt} -> ${action} (${(error as Error).message})`),
);
const off = app.on('handle:start', () => {
  throw new Error('a broken listener'); // swallowed: never reaches the handler or its error()
});

// diagnostics_channel: every app in the process publishes here (payloads carry `app`).
const durations: number[] = [];
const onStop = (message: unknown) => durations.push((message as HandleStopPayload).durationMs);
diagnosticsChannel.subscribe(telemetryChannel('handle:stop').name, onStop);

await app.start([projector]);
await app.dispatch('order-1', [{ type: 'A', data: {} }, { type: 'B', data: {} }]);
await waitUntil(() => durations.length === 2);
console.log(`${String(telemetryChannel('handle:stop').name)}: ${durations.length} events handled, durations recorded`);

off();
diagnosticsChannel.unsubscribe(telemetryChannel('handle:stop').name, onStop);
await app.stop();

async function waitUntil(predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!predicate()) throw new Error(`example did not settle: ${JSON.stringify(app.status())}`);
}
