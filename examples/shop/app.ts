/**
 * The shop's herald side: two handlers and the operations the HTTP routes call.
 *
 * - OrderProjection (`transactional: true`, `consistency: 'strong'`): keeps the orders table; its writes and its
 *   cursor commit in one transaction, so each event lands exactly once, and a strong dispatch returns only once the
 *   row is there (read-your-writes).
 * - OrderMailer (eventual, `backoff`): sends the confirmation mail, retries a failing send with exponential backoff,
 *   and after 4 attempts skips the event to the dead letters so the orders behind it are not held up.
 */
import { randomUUID } from 'node:crypto';
import type { Sql } from 'postgres';
import { ConsistencyTimeoutError, backoff, createApp, defineHandler, postgresStore } from '../../src/index.ts';
import type { App, DeadLetter, HandlerStatus, RecordedEvent } from '../../src/index.ts';
import type { MailProvider } from './mail.ts';
import { orderStream, totalCents, type ConfirmationSent, type OrderPlaced, type OrderRequest } from './orders.ts';
import { findOrder, migrateReadModel, projectConfirmationSent, projectOrderPlaced, type OrderView } from './read-model.ts';

/** Options of {@link createShop}. */
export interface ShopOptions {
  /** The postgres.js pool, shared by herald's store and the read model (the shop never ends it). */
  readonly sql: Sql;
  readonly mail: MailProvider;
  /** Schema of the read model. @default 'shop' */
  readonly schema?: string;
  /** Schema of herald's tables (events, cursors, dead letters). @default 'herald' */
  readonly heraldSchema?: string;
  readonly log?: (line: string) => void;
}

/** What `placeOrder` returns: the order as read back, or only its id when the projection has not caught up in time. */
export type PlacedOrder = { readonly id: string; readonly order: OrderView } | { readonly id: string; readonly order: undefined };

/** A dead letter as `GET /dead-letters` shows it. */
export interface DeadLetterView {
  readonly id: string;
  readonly handler: string;
  readonly eventType: string;
  readonly streamId: string;
  readonly eventNumber: number;
  readonly error: string;
  readonly attempts: number;
  readonly deadAt: string;
}

/** The shop service, independent of HTTP. */
export interface Shop {
  /** Creates the read model's table and starts the handlers (herald migrates its own schema on start). */
  start(): Promise<void>;
  placeOrder(request: OrderRequest): Promise<PlacedOrder>;
  findOrder(id: string): Promise<OrderView | undefined>;
  deadLetters(): Promise<DeadLetterView[]>;
  /** Hands a dead letter's event to its handler again; `undefined` for an unknown id. */
  replayDeadLetter(id: string): Promise<'handled' | 'skipped' | 'stopped' | undefined>;
  status(): HandlerStatus[];
  /** Drains in-flight events and saves the cursors. */
  stop(): Promise<void>;
  /** Resolves after `stop()`; rejects if the handlers' supervisor gave up (the process should then exit). */
  readonly done: Promise<void>;
}

function orderProjection(schema: string) {
  return defineHandler({
    name: 'OrderProjection',
    consistency: 'strong',
    transactional: true,
    async handle(event: RecordedEvent, ctx) {
      if (ctx.sql === undefined) throw new Error('OrderProjection needs the PostgreSQL store (ctx.sql)');
      if (event.type === 'OrderPlaced') await projectOrderPlaced(ctx.sql, schema, event.data as OrderPlaced, event.createdAt);
      if (event.type === 'ConfirmationSent') await projectConfirmationSent(ctx.sql, schema, event.data as ConfirmationSent, event.createdAt);
    },
  });
}

function orderMailer(mail: MailProvider, app: () => App) {
  return defineHandler({
    name: 'OrderMailer',
    timeoutMs: 10_000,
    // Failures 1-3 are retried after 100-200, 200-400, 400-800 ms (jittered); the 4th records a dead letter and moves on.
    error: backoff({ maxAttempts: 4, baseMs: 200, maxMs: 5_000, then: 'skip' }),
    async handle(event: RecordedEvent) {
      if (event.type !== 'OrderPlaced') return;
      const order = event.data as OrderPlaced;
      const messageId = await mail.send({
        to: order.email,
        subject: `Order ${order.orderId} confirmed`,
        text: `Thank you! Total: ${(order.totalCents / 100).toFixed(2)}`,
        idempotencyKey: event.eventId,
      });
      // The event id makes this append idempotent: a redelivered OrderPlaced cannot confirm twice.
      const sent: ConfirmationSent = { orderId: order.orderId, messageId };
      await app().dispatch(event.streamId, { type: 'ConfirmationSent', data: sent, eventId: `confirmation-${event.eventId}` });
    },
  });
}

function deadLetterView(dead: DeadLetter): DeadLetterView {
  return {
    id: dead.id,
    handler: dead.handlerName,
    eventType: dead.event.type,
    streamId: dead.event.streamId,
    eventNumber: dead.event.eventNumber,
    error: dead.error.message,
    attempts: dead.attempts,
    deadAt: dead.deadAt.toISOString(),
  };
}

/** Builds the shop on a postgres.js pool. */
export function createShop(options: ShopOptions): Shop {
  const { sql, mail } = options;
  const schema = options.schema ?? 'shop';
  const log = options.log ?? console.log;
  const app = createApp({ name: 'shop', store: postgresStore({ sql, schema: options.heraldSchema ?? 'herald' }) });
  app.on('handle:exception', ({ handlerName, attempt, action, error }) => {
    log(`${handlerName}: attempt ${attempt} failed (${error instanceof Error ? error.message : String(error)}): ${action}`);
  });

  return {
    async start() {
      await migrateReadModel(sql, schema);
      await app.start([orderProjection(schema), orderMailer(mail, () => app)]);
    },
    async placeOrder(request) {
      const id = randomUUID();
      const placed: OrderPlaced = { orderId: id, ...request, totalCents: totalCents(request.items) };
      try {
        // Strong: returns once every strong handler (OrderProjection) has committed this event.
        await app.dispatch(orderStream(id), { type: 'OrderPlaced', data: placed }, { consistency: 'strong', timeoutMs: 5_000 });
      } catch (error) {
        // The event is stored either way; only the read model is late.
        if (error instanceof ConsistencyTimeoutError) return { id, order: undefined };
        throw error;
      }
      return { id, order: await findOrder(sql, schema, id) ?? fail(`order ${id} missing after a strong dispatch`) };
    },
    findOrder: (id) => findOrder(sql, schema, id),
    deadLetters: async () => (await app.deadLetters()).map(deadLetterView),
    async replayDeadLetter(id) {
      if (!(await app.deadLetters()).some((dead) => dead.id === id)) return undefined;
      return app.replayDeadLetter(id);
    },
    status: () => app.status(),
    stop: () => app.stop(),
    done: app.done,
  };
}

function fail(message: string): never {
  throw new Error(message);
}
