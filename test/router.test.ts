/** The router: a pure function from an event to its worker and slot. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordedEvent } from '../src/events/types.ts';
import { slotForKey, workerForKey } from '../src/handler/partition.ts';
import { routeEvent, type RoutingTable } from '../src/handler/router.ts';

function event(eventNumber: number, key: string): RecordedEvent {
  return {
    eventId: `e${eventNumber}`, eventNumber, streamId: key, streamVersion: 1, type: 'T', data: { key }, metadata: {}, createdAt: new Date(0),
  } as unknown as RecordedEvent;
}

const context = { handlerName: 'H', state: undefined, workerIndex: 0, partition: undefined, app: 'a' };

describe('routeEvent', () => {
  it('without partitionBy: worker by turn, round robin, slot 0', () => {
    const table: RoutingTable = { partitionBy: undefined, workerCount: 3, slotCount: 1, context };
    assert.deepEqual([0, 1, 2, 3, 4].map((turn) => routeEvent(event(turn + 1, 'k'), table, turn).worker), [0, 1, 2, 0, 1]);
    assert.equal(routeEvent(event(1, 'k'), table, 7).slot, 0);
  });

  it('with partitionBy: the key picks the worker and the slot, whatever the turn', () => {
    const table: RoutingTable = { partitionBy: (e) => String((e.data as { key: string }).key), workerCount: 4, slotCount: 64, context };
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
