/** herald as the scenarios drive it: seeding a log, and timing a handler from origin to the last event. */
import { monotonicFactory } from 'ulid';
import type { Sql } from 'postgres';
import { createApp, defineHandler, postgresStore } from '../src/index.ts';
import type { App, AppendRequest, EventHandlerOptions, EventStore, HandlerContext, PostgresStore, RecordedEvent } from '../src/index.ts';
import { countdown, now, runPool, withTimeout } from './timing.ts';

/** A small event payload, the same shape in every scenario and baseline. */
export function payload(i: number): { orderId: string; amount: number; sku: string } {
  return { orderId: `order-${i}`, amount: i % 1000, sku: `SKU-${i % 97}` };
}

/** A PostgreSQL store on a given pool (the pool outlives the store: `close()` never ends it). */
export function store(sql: Sql, schema: string): PostgresStore {
  return postgresStore({ sql, schema });
}

/** How a log is seeded: `total` events over `streams` streams, `perAppend` events per append, `parallel` appenders. */
export interface SeedOptions {
  readonly total: number;
  readonly streams: number;
  readonly perAppend: number;
  readonly parallel: number;
}

/** Appends `total` events through the store's own append (the public path), interleaving streams. */
export async function seed(target: EventStore, options: SeedOptions): Promise<void> {
  const newId = monotonicFactory();
  const calls = Math.ceil(options.total / options.perAppend);
  await runPool(calls, options.parallel, async (call) => {
    const size = Math.min(options.perAppend, options.total - call * options.perAppend);
    const events: AppendRequest['events'][number][] = Array.from({ length: size }, (_, k) => ({
      eventId: newId(),
      type: 'OrderPlaced',
      data: payload(call * options.perAppend + k),
      metadata: {},
    }));
    await target.append({ streamId: `stream-${call % options.streams}`, events, expectedVersion: 'any' });
  });
}

/** A handler definition with everything but `name` and `handle`. */
export type HandlerShape = Omit<EventHandlerOptions<unknown>, 'name' | 'handle'>;

/** Options of {@link timeCatchUp}. */
export interface CatchUpOptions {
  readonly sql: Sql;
  readonly schema: string;
  readonly name: string;
  /** Events the handler must see before the clock stops. */
  readonly count: number;
  readonly handler?: HandlerShape | undefined;
  readonly handle?: ((event: RecordedEvent, ctx: HandlerContext) => unknown) | undefined;
  readonly timeoutMs: number;
  /** Called with the app before it starts (e.g. to instrument it). */
  readonly prepare?: ((app: App) => void) | undefined;
}

/**
 * Starts a fresh app with one handler from origin and returns the milliseconds from `app.start` to the
 * `count`-th handled event. The app is stopped afterwards (cursor flushed), outside the timing.
 */
export async function timeCatchUp(options: CatchUpOptions): Promise<number> {
  const counter = countdown(options.count);
  const handle = options.handle;
  const app = createApp({ store: store(options.sql, options.schema), name: options.name });
  const handler = defineHandler({
    startFrom: 'origin',
    ...options.handler,
    name: options.name,
    handle:
      handle === undefined
        ? () => counter.hit()
        : async (event: RecordedEvent, ctx: HandlerContext) => {
            await handle(event, ctx);
            counter.hit();
          },
  });
  options.prepare?.(app);
  const started = now();
  try {
    await app.start([handler]);
    const finished = await withTimeout(counter.done, options.timeoutMs, `catch-up ${options.name}`);
    return finished - started;
  } finally {
    await stopQuietly(app);
  }
}

/** Stops an app, bounded, never throwing (a bench run must always get to its cleanup). */
export async function stopQuietly(app: App): Promise<void> {
  await withTimeout(app.stop({ timeoutMs: 5000 }), 15_000, 'app.stop').catch(() => undefined);
}
