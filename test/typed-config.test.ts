import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { createApp, defineEvents, defineHandler, HandlerConfigError, InvalidEventError, inMemoryStore, type RecordedEvent } from '../src/index.ts';
import { createUpcasting } from '../src/events/upcast.ts';
import { placeDelivery, prepareDelivery, readTypesOf } from '../src/handler/routing.ts';
import type { HandlerContext } from '../src/handler/types.ts';
import { waitFor } from './support/wait.ts';

const shop = defineEvents({ OrderPlaced: z.object({ total: z.number() }), OrderShipped: undefined });

function configError(fn: () => unknown, field: string, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HandlerConfigError, `a HandlerConfigError, got ${String(error)}`);
    assert.equal(error.field, field);
    assert.match(error.message, message);
    return true;
  });
}

const stored = (type: string, data: unknown = {}, eventNumber = 7): RecordedEvent => ({
  eventId: `id-${eventNumber}`, eventNumber, streamId: 's', streamVersion: 1, type, data, metadata: { m: 1 }, createdAt: new Date(0),
});
const ctx: HandlerContext = { handlerName: 'H', state: undefined, workerIndex: 0, partition: undefined, app: 'a' };

describe('typed events: bad input', () => {
  it('rejects on together with handle, and neither, naming the fields', () => {
    configError(() => defineHandler({ name: 'H', on: { A() {} }, handle() {} } as never), 'on', /"on" and "handle" are exclusive.*got both: on \{/);
    configError(() => defineHandler({ name: 'H' } as never), 'handle', /handler "H": option "handle" must be a function, got undefined \(or give "on"/);
  });

  it('rejects an on key that is not a type of the handler’s events, and an on that is not a map of functions', () => {
    configError(() => defineHandler({ name: 'H', events: shop, on: { OrderLost() {} } } as never), 'on.OrderLost',
      /on\.OrderLost: "OrderLost" is not a type of the handler's events \(known: OrderPlaced, OrderShipped\)/);
    configError(() => defineHandler({ name: 'H', on: { A: 42 } } as never), 'on', /option "on" must be an object of one function per event type.*got \{"A":42\}/);
    configError(() => defineHandler({ name: 'H', on: {} }), 'on', /got \{\}/);
    configError(() => defineHandler({ name: 'H', on: [() => 1] } as never), 'on', /option "on" must be/);
  });

  it('rejects events values that are neither Standard Schema validators nor absent, in defineEvents, defineHandler and createApp', () => {
    configError(() => defineEvents({ A: 42 } as never), 'events.A', /events\.A must be a Standard Schema validator.*got 42/);
    configError(() => defineEvents({ A: { '~standard': { version: 2, validate() {} } } } as never), 'events.A', /Standard Schema/);
    configError(() => defineEvents('A' as never), 'events', /got "A"/);
    configError(() => defineHandler({ name: 'H', events: { A: 'schema' } as never, on: { A() {} } }), 'events.A', /got "schema"/);
    configError(() => defineHandler({ name: 'H', events: 5 as never, handle() {} }), 'events', /option "events" must be a catalog from defineEvents\(\) or undefined, got 5/);
    configError(() => createApp({ events: { A: null } as never }), 'events.A', /got null/);
    configError(() => createApp({ events: 'shop' as never }), 'events', /createApp: option "events" must be a catalog.*got "shop"/);
  });

  it('accepts a plain validator map as events, which then validates dispatches', async () => {
    const app = createApp({ store: inMemoryStore(), events: { Paid: z.object({ amount: z.number() }) } as never });
    await assert.rejects(app.dispatch('p', { type: 'Paid', data: { amount: 'x' } }), InvalidEventError);
    await app.stop();
  });

  it('rejects an upcaster that is not a function, and bad strictEvents', () => {
    configError(() => createApp({ upcasters: { Old: 'New' } as never }), 'upcasters.Old', /upcasters\.Old must be a function \(event\) => event, got "New"/);
    configError(() => createApp({ upcasters: [] as never }), 'upcasters', /upcasters must be an object/);
    configError(() => createApp({ strictEvents: 'yes' as never, events: shop }), 'strictEvents', /must be a boolean, got "yes"/);
    configError(() => createApp({ strictEvents: true }), 'strictEvents', /needs "events".*got no events/);
    configError(() => createApp({ strictEvents: true, events: defineEvents<{ A: number }>() }), 'strictEvents', /a catalog of types only/);
  });

  it('keeps on through overrides and an init that changes the config, and does not let overrides change on', async () => {
    const seen: string[] = [];
    const handler = defineHandler({
      name: 'Base',
      on: { A: (event, c) => void seen.push(`${c.handlerName} ${event.type}`) },
      init: (config) => ({ ...config, name: 'Renamed' }),
    });
    await assert.rejects(createApp().start([[handler, { on: {} } as never]]), (error: HandlerConfigError) =>
      error.field === 'on' && /cannot change "on"/.test(error.message));
    const app = createApp({ store: inMemoryStore() });
    await app.start([[handler, { concurrency: 2 }]]);
    await app.dispatch('s', [{ type: 'B', data: 1 }, { type: 'A', data: 2 }]);
    await app.caughtUp();
    assert.deepEqual(seen, ['Renamed A']);
    await app.stop();
  });
});

describe('routing and upcasting, as pure functions', () => {
  const upcasting = createUpcasting({
    Old: (event) => ({ ...event, eventId: 'forged', type: 'New', data: { ...event.data, upcast: true } }),
    Broken: () => { throw new Error('broken upcaster'); },
    NotAnEvent: () => 42 as never,
  });

  it('reads the on types plus every type with an upcaster, and every type without on', () => {
    assert.deepEqual(readTypesOf({ on: { New() {} } }, upcasting), ['Broken', 'New', 'NotAnEvent', 'Old']);
    assert.deepEqual(readTypesOf({ on: { B() {}, A() {} } }, undefined), ['A', 'B']);
    assert.equal(readTypesOf({}, upcasting), undefined);
  });

  it('upcasts before partitionBy, keeps the stored identity, and records the stored event as the source', () => {
    const keys: string[] = [];
    const delivery = prepareDelivery(stored('Old', { a: 1 }), { partitionBy: (event) => (keys.push(event.type), 'key') }, upcasting, ctx);
    assert.deepEqual(keys, ['New']);
    assert.equal(delivery.partition, 'key');
    assert.equal(delivery.event.eventId, 'id-7', 'an upcaster cannot change the identity');
    assert.deepEqual(delivery.event.data, { a: 1, upcast: true });
    assert.deepEqual(delivery.event.metadata, { m: 1 });
    assert.equal(delivery.source?.type, 'Old');
    const plain = prepareDelivery(stored('Other'), {}, upcasting, ctx);
    assert.equal(plain.source, undefined);
    assert.equal(plain.event.type, 'Other');
  });

  it('turns a throwing upcaster or a bad result into a routing error on the stored event, retried by retryRouting', () => {
    const failed = prepareDelivery(stored('Broken'), {}, upcasting, ctx);
    assert.match(String((failed.routingError as Error).message), /broken upcaster/);
    assert.equal(failed.event.type, 'Broken');
    assert.equal(typeof failed.retryRouting, 'function');
    assert.equal(placeDelivery(failed, false, 3, 1, 0).index, 7 % 3);
    const bad = prepareDelivery(stored('NotAnEvent'), {}, upcasting, ctx);
    assert.ok(bad.routingError instanceof InvalidEventError);
    assert.match((bad.routingError as Error).message, /upcaster of "NotAnEvent" returned 42/);
  });

  it('places keyed deliveries by their key and others round-robin', () => {
    const keyed = prepareDelivery(stored('X'), { partitionBy: () => 'k' }, undefined, ctx);
    assert.deepEqual(placeDelivery(keyed, true, 1, 1, 5), { index: 0, slot: 0 });
    assert.deepEqual(placeDelivery(prepareDelivery(stored('X'), {}, undefined, ctx), false, 4, 1, 5), { index: 1, slot: 0 });
  });
});

describe('app.caughtUp on the in-memory store', () => {
  it('resolves at once with no running handler, and waits for every running one by default', async () => {
    const app = createApp({ store: inMemoryStore() });
    await app.caughtUp();
    const handled: number[] = [];
    await app.start([defineHandler({ name: 'A', handle: (event) => void handled.push(event.eventNumber) })]);
    await app.dispatch('s', [{ type: 'E', data: 1 }, { type: 'E', data: 2 }, { type: 'E', data: 3 }]);
    await app.caughtUp();
    assert.deepEqual(handled, [1, 2, 3]);
    await waitFor(() => app.status()[0]?.lag === 0);
    await app.stop();
  });
});
