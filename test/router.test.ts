/** The router: a pure function from an event to its worker and slot. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordedEvent } from '../src/events/types.ts';
import { slotForKey, workerForKey } from '../src/handler/partition.ts';
import type { Delivery } from '../src/handler/handle-event.ts';
import { batchLength, planBatch, routeEvent, type RoutingTable } from '../src/handler/router.ts';

function event(eventNumber: number, key: string): RecordedEvent {
  return {
    eventId: `e${eventNumber}`, eventNumber, streamId: key, streamVersion: 1, type: 'T', data: { key }, metadata: {}, createdAt: new Date(0),
  } as unknown as RecordedEvent;
}

const context = { handlerName: 'H', state: undefined, workerIndex: 0, partition: undefined, app: 'a' };

describe('routeEvent', () => {
  it('without partitionBy: worker by turn, round robin, slot 0', () => {
    const table: RoutingTable = { upcasting: undefined, partitionBy: undefined, workerCount: 3, slotCount: 1, context };
    assert.deepEqual([0, 1, 2, 3, 4].map((turn) => routeEvent(event(turn + 1, 'k'), table, turn).worker), [0, 1, 2, 0, 1]);
    assert.equal(routeEvent(event(1, 'k'), table, 7).slot, 0);
  });

  it('with partitionBy: the key picks the worker and the slot, whatever the turn', () => {
    const table: RoutingTable = { upcasting: undefined, partitionBy: (e) => String((e.data as { key: string }).key), workerCount: 4, slotCount: 64, context };
    for (const key of ['a', 'b', 'order-17']) {
      const first = routeEvent(event(1, key), table, 0);
      const later = routeEvent(event(99, key), table, 5);
      assert.deepEqual([first.worker, first.slot], [workerForKey(key, 4), slotForKey(key, 64)]);
      assert.deepEqual([later.worker, later.slot], [first.worker, first.slot]);
      assert.equal(first.delivery.partition, key);
    }
  });

  it('when partitionBy throws: worker and slot by event number, and the error travels with the delivery', () => {
    const boom = new Error('no key');
    const table: RoutingTable = {
      upcasting: undefined,
      partitionBy: () => {
        throw boom;
      },
      workerCount: 3,
      slotCount: 8,
      context,
    };
    const route = routeEvent(event(10, 'k'), table, 0);
    assert.deepEqual([route.worker, route.slot], [10 % 3, 10 % 8]);
    assert.equal(route.delivery.routingError, boom);
    assert.equal(route.delivery.partition, undefined);
  });
});

describe('planBatch', () => {
  it('hands over a full batch at once, whatever the state', () => {
    assert.deepEqual(planBatch(250, 100, 50, true, 0), { take: 100, flushReason: 'size' });
    assert.deepEqual(planBatch(100, 100, 0, false, 0), { take: 100, flushReason: 'size' });
  });

  it('while catching up, or live without a timeout, hands over whatever is queued', () => {
    assert.deepEqual(planBatch(7, 100, 50, false, 0), { take: 7, flushReason: 'immediate' });
    assert.deepEqual(planBatch(7, 100, 0, true, 0), { take: 7, flushReason: 'immediate' });
  });

  it('live with a timeout, waits for the rest of it, then hands over what there is', () => {
    assert.deepEqual(planBatch(3, 100, 50, true, 0), { waitMs: 50 });
    assert.deepEqual(planBatch(3, 100, 50, true, 20), { waitMs: 30 });
    assert.deepEqual(planBatch(3, 100, 50, true, 50), { take: 3, flushReason: 'timeout' });
  });
});

describe('batchLength', () => {
  const ok = (n: number): Delivery => ({ event: event(n, 'k'), partition: 'k' });
  const broken = (n: number): Delivery => ({ event: event(n, 'k'), partition: undefined, routingError: new Error('no key') });

  it('cuts a batch before an event whose partitionBy threw, which goes alone', () => {
    assert.equal(batchLength([ok(1), ok(2), ok(3)], 0, 3), 3);
    assert.equal(batchLength([ok(1), ok(2), broken(3), ok(4)], 0, 4), 2);
    assert.equal(batchLength([ok(1), ok(2), broken(3), ok(4)], 2, 2), 1);
  });
});
