/**
 * Child process of the memory scenario (run with `--expose-gc`): catches up `<count>` events of
 * `<url> <schema>` with herald (`herald`: one no-op handler from origin) or with the raw keyset reader
 * (`raw`), and prints one JSON line: RSS and heap after a full GC at start (`cold`), after a warm-up that
 * reads the first 20,000 events (at most a tenth) and lets go of them (`before`), at every tenth of the
 * catch-up, and after it.
 */
import { createApp, defineHandler, postgresStore } from '../../src/index.ts';
import { connect } from '../db.ts';
import { createRawCursorTable, rawKeysetCatchUp } from '../raw.ts';
import { countdown, now } from '../timing.ts';

const [url, schema, mode, countText] = process.argv.slice(2);
const count = Number(countText);
const gc = (globalThis as { gc?: () => void }).gc;
if (url === undefined || schema === undefined || (mode !== 'herald' && mode !== 'raw') || !Number.isSafeInteger(count) || gc === undefined) {
  console.error('usage: node --expose-gc --import tsx memory-catch-up.ts <url> <schema> herald|raw <count>');
  process.exit(2);
}

/** RSS and heap in MB after a full collection. */
function sample(): { rss: number; heap: number } {
  gc?.();
  const usage = process.memoryUsage();
  return { rss: usage.rss / 2 ** 20, heap: usage.heapUsed / 2 ** 20 };
}

const sql = connect(url, 4);
const samples: { at: number; rss: number; heap: number }[] = [];
const tenth = Math.max(1, Math.floor(count / 10));
/** Events read before the baseline sample (20,000, at most a tenth), so that it includes the reader's start-up working set. */
const warmUp = Math.min(20_000, Math.floor(count / 10));
let cold: { rss: number; heap: number };
let before: { rss: number; heap: number };
let ms: number;

if (mode === 'herald') {
  cold = sample();
  // Warm-up: a first app catches up the first events with another handler and stops; what it allocated for
  // good (driver buffers, compiled code, allocator arenas) is in the baseline, what it held for the catch-up
  // is freed by the time of the sample.
  const warmCounter = countdown(warmUp);
  const warm = createApp({ store: postgresStore({ sql, schema }), name: 'memory-warm-up' });
  await warm.start([defineHandler({ name: `memory-warm-up-${process.pid}`, handle: () => warmCounter.hit() })]);
  await warmCounter.done;
  await warm.stop();

  const counter = countdown(count);
  const app = createApp({ store: postgresStore({ sql, schema }), name: 'memory' });
  const handler = defineHandler({
    name: `memory-${process.pid}`,
    handle: () => {
      counter.hit();
      if (counter.count % tenth === 0) samples.push({ at: counter.count, ...sample() });
    },
  });
  before = sample();
  const started = now();
  await app.start([handler]);
  ms = (await counter.done) - started;
  await app.stop();
} else {
  await createRawCursorTable(sql);
  cold = sample();
  await rawKeysetCatchUp(sql, schema, `memory-warm-up-${process.pid}`, 1000, undefined, warmUp);
  before = sample();
  // The raw reader has no per-event hook: sample between pages, at the same tenths.
  let seen = 0;
  const result = await rawKeysetCatchUp(sql, schema, `memory-${process.pid}`, 1000, (rows) => {
    const next = seen + rows;
    if (Math.floor(next / tenth) > Math.floor(seen / tenth)) samples.push({ at: next, ...sample() });
    seen = next;
  });
  ms = result.ms;
}
const after = sample();
await sql.end({ timeout: 5 });
console.log(JSON.stringify({ mode, count, warmUp, ms, cold, before, samples, after }));
process.exit(0);
