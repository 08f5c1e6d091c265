/**
 * Typed events and upcasters: defineEvents with zod, validation at dispatch, `on` handlers that read only
 * their types, an old event type renamed by an upcaster, and app.caughtUp.
 * Run with `npx tsx examples/typed-events.ts`.
 */
import { z } from 'zod';
import { createApp, defineEvents, defineHandler, inMemoryStore, InvalidEventError } from '../src/index.ts';

const shop = defineEvents({
  OrderPlaced: z.object({ orderId: z.string(), total: z.number(), currency: z.string().default('EUR') }),
  OrderShipped: z.object({ orderId: z.string() }),
  CartViewed: undefined, // a known type, not validated
});

const store = inMemoryStore();

// Last year's app wrote `OrderCreated` events without a currency (no catalog, no validation).
const legacy = createApp({ store });
await legacy.dispatch('order-0', { type: 'OrderCreated', data: { orderId: '0', total: 10 } });
await legacy.stop();

const app = createApp({
  store,
  events: shop,
  upcasters: {
    OrderCreated: (event) => ({ ...event, type: 'OrderPlaced' }),                         // an old type renamed
    OrderPlaced: (event) => ({ ...event, data: { currency: 'EUR', ...event.data } }),     // a field old events lack
  },
});

const revenue = new Map<string, number>();
const totals = defineHandler({
  name: 'Revenue',
  events: shop,
  on: {
    OrderPlaced(event) {
      // event.data is { orderId: string; total: number; currency: string }
      revenue.set(event.data.currency, (revenue.get(event.data.currency) ?? 0) + event.data.total);
      console.log(`Revenue: #${event.eventNumber} ${event.type} ${event.data.orderId} ${event.data.total} ${event.data.currency}`);
    },
  },
});
await app.start([totals]);

await app.dispatch('order-1', [
  { type: 'CartViewed', data: { sku: 'A' } },
  { type: 'OrderPlaced', data: { orderId: '1', total: 30 } },         // currency: filled in by the schema's default
  { type: 'OrderShipped', data: { orderId: '1' } },
  { type: 'OrderPlaced', data: { orderId: '2', total: 5, currency: 'USD' } },
]);

try {
  // @ts-expect-error total must be a number: the type-checker refuses this dispatch too
  await app.dispatch('order-3', { type: 'OrderPlaced', data: { orderId: '3', total: 'ten' } });
} catch (error) {
  if (!(error instanceof InvalidEventError)) throw error;
  console.log(`rejected: ${error.code}, issues ${JSON.stringify(error.issues?.map((issue) => [issue.path, issue.message]))}`);
}

await app.caughtUp({ handlers: ['Revenue'], timeoutMs: 2000 });
console.log(`revenue: ${JSON.stringify(Object.fromEntries(revenue))}`);
const [status] = app.status();
console.log(`Revenue cursor ${status?.cursor}, lag ${status?.lag} (the CartViewed and OrderShipped events were never read)`);
await app.stop();
