import type { RecordedEvent } from '../events/types.ts';
import type { Delivery } from './handle-event.ts';
import { slotForKey, workerForKey } from './partition.ts';
import type { HandlerConfig, HandlerContext } from './types.ts';

/** What routing depends on: the handler's `partitionBy`, its worker and slot counts, the context `partitionBy` sees. */
export interface RoutingTable {
  readonly partitionBy: HandlerConfig['partitionBy'];
  readonly workerCount: number;
  readonly slotCount: number;
  /** Handed to `partitionBy` (worker 0, the handler's initial state). */
  readonly context: HandlerContext;
}

/** Where one event goes: a worker, the slot whose cursor it counts towards, and what the worker receives. */
export interface Route {
  readonly worker: number;
  readonly slot: number;
  readonly delivery: Delivery;
}

/** The routing table of a handler run. */
export function routingTable(config: HandlerConfig, slotCount: number, appName: string): RoutingTable {
  return {
    partitionBy: config.partitionBy,
    workerCount: config.concurrency,
    slotCount,
    context: { handlerName: config.name, state: config.state, workerIndex: 0, partition: undefined, app: appName },
  };
}

/**
 * Routes one event (a pure function of the event, the table and `turn`): with `partitionBy`, the key's worker
 * and slot, so the same key always lands on the same worker and slot (across restarts and processes); without
 * it, worker `turn` round robin, slot 0. When `partitionBy` throws, a key is needed to pick a slot: every process
 * picks the same one by the event's number, and the worker reports the error as a handling failure.
 * The caller moves `turn` on for each routed event of a handler without `partitionBy`.
 */
export function routeEvent(event: RecordedEvent, table: RoutingTable, turn: number): Route {
  const { workerCount, slotCount } = table;
  if (table.partitionBy === undefined) {
    return { worker: workerCount === 1 ? 0 : turn % workerCount, slot: 0, delivery: { event, partition: undefined } };
  }
  try {
    const partition = table.partitionBy(event, table.context);
    return {
      worker: workerCount === 1 ? 0 : workerForKey(partition, workerCount),
      slot: slotCount > 1 ? slotForKey(partition, slotCount) : 0,
      delivery: { event, partition },
    };
  } catch (routingError) {
    return {
      worker: event.eventNumber % workerCount,
      slot: event.eventNumber % slotCount,
      delivery: { event, partition: undefined, routingError },
    };
  }
}
