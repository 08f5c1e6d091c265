/**
 * Compile-time behaviour of typed events: `tsc --noEmit` (npm run typecheck, CI) compiles this file, so every
 * `@ts-expect-error` below must be an error, and every other line must type-check. At run time it only builds
 * the definitions (no dispatch reaches a store).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as v from 'valibot';
import { z } from 'zod';
import { createApp, defineEvents, defineHandler, HandlerConfigError, inMemoryStore, type TypedEvent } from '../src/index.ts';

const shop = defineEvents({
  OrderPlaced: z.object({ orderId: z.string(), total: z.number(), currency: z.string().default('EUR') }),
  OrderShipped: v.object({ orderId: v.string() }),
});
const typesOnly = defineEvents<{ Deposited: { account: string; amount: number } }>();

describe('typed events, as the type-checker sees them', () => {
  it('narrows event.data per type in on', () => {
    const handler = defineHandler({
      name: 'Totals',
      events: shop,
      state: { total: 0 },
      on: {
        OrderPlaced(event, ctx) {
          const total: number = event.data.total;
          const currency: string = event.data.currency; // the schema's output: the default is filled in
          const type: 'OrderPlaced' = event.type;
          // @ts-expect-error data of OrderPlaced has no `items`
          void event.data.items;
          // @ts-expect-error total is a number, not a string
          const wrong: string = event.data.total;
          void [total, currency, type, wrong];
          return { state: { total: ctx.state.total + total } };
        },
        OrderShipped(event) {
          const orderId: string = event.data.orderId;
          // @ts-expect-error OrderShipped has no total
          void event.data.total;
          void orderId;
        },
      },
    });
    assert.equal(handler.config.name, 'Totals');

    defineHandler({
      name: 'TypesOnly',
      events: typesOnly,
      on: { Deposited: (event) => void (event.data.amount satisfies number) },
    });
  });

  it('rejects an on key that is not a type of events, and on together with handle', () => {
    assert.throws(() =>
      // @ts-expect-error OrderPlace is not a type of shop
      defineHandler({ name: 'Typo', events: shop, on: { OrderPlace() {} } }), HandlerConfigError);
    assert.throws(() =>
      // @ts-expect-error on and handle are exclusive
      defineHandler({ name: 'Both', on: { A() {} }, handle() {} }), HandlerConfigError);
    // @ts-expect-error neither handle nor on
    assert.throws(() => defineHandler({ name: 'Neither' }), HandlerConfigError);
  });

  it('types dispatch by the app’s events', () => {
    const app = createApp({ store: inMemoryStore(), events: shop });
    const dispatches = [
      () => app.dispatch('o-1', { type: 'OrderPlaced', data: { orderId: '1', total: 3 } }), // currency may be left out (input type)
      () => app.dispatch('o-1', [{ type: 'OrderShipped', data: { orderId: '1' } }]),
      // @ts-expect-error total must be a number
      () => app.dispatch('o-1', { type: 'OrderPlaced', data: { orderId: '1', total: '3' } }),
      // @ts-expect-error an unknown type
      () => app.dispatch('o-1', { type: 'OrderLost', data: {} }),
      // @ts-expect-error orderId is missing
      () => app.dispatch('o-1', { type: 'OrderShipped', data: {} }),
    ];
    assert.equal(dispatches.length, 5);
    const untyped = createApp({ store: inMemoryStore() });
    const anything = () => untyped.dispatch('s', { type: 'Whatever', data: { any: 1 } });
    assert.equal(typeof anything, 'function');
  });

  it('takes the state type as the first type argument, as for handle', () => {
    defineHandler<{ n: number }>({
      name: 'Stateful',
      state: { n: 0 },
      on: {
        A(_event, ctx) {
          const n: number = ctx.state.n;
          // @ts-expect-error the state has no m
          void ctx.state.m;
          return { state: { n: n + 1 } };
        },
      },
    });
  });

  it('gives untyped on functions the event with unknown data', () => {
    defineHandler({
      name: 'Loose',
      on: {
        Anything(event) {
          const data: unknown = event.data;
          // @ts-expect-error data is unknown without events
          void event.data.field;
          void data;
        },
      },
    });
    const typed: TypedEvent<{ A: { input: { n: number }; output: { n: number } } }, 'A'> | undefined = undefined;
    void typed;
  });
});
