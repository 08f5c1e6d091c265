/**
 * Routing by event type and upcasting, for the pump: which types a handler reads (its `on` types and every type
 * with an upcaster), the `handle` that calls `on[event.type]`, and the delivery of one stored event (upcast,
 * then `partitionBy`), all pure functions of their inputs.
 */
import type { RecordedEvent } from '../events/types.ts';
import type { Upcasting } from '../events/upcast.ts';
import type { Delivery } from './handle-event.ts';
import { slotForKey, workerForKey } from './partition.ts';
import type { HandlerConfig, HandlerContext, OnMap } from './types.ts';

/** The `handle` functions made from an `on` map, so a config holding both can be told from a user error. */
const dispatchers = new WeakSet<object>();

/**
 * The `handle` of a handler with `on`: calls the function for the event's type; an event of another type
 * (one an upcaster turned into a type the handler does not list) is acknowledged without a call.
 * @example
 * const handle = onDispatcher({ OrderPlaced: (event) => project(event) });
 */
export function onDispatcher<S>(on: OnMap<S>): (event: RecordedEvent, ctx: HandlerContext<S>) => unknown {
  const byType = new Map(Object.entries(on));
  const handle = (event: RecordedEvent, ctx: HandlerContext<S>): unknown => byType.get(event.type)?.(event, ctx);
  dispatchers.add(handle);
  return handle;
}

/** Whether `handle` was made by {@link onDispatcher} (rather than given by the user). */
export function isOnDispatcher(handle: unknown): boolean {
  return typeof handle === 'function' && dispatchers.has(handle);
}

/**
 * The types a handler's read asks the store for: `undefined` (every type) without `on`; else its `on` types plus
 * every type that has an upcaster, since an upcaster may rename a stored type into a wanted one.
 * @example
 * readTypesOf(config, upcasting); // ['OrderPlaced', 'OrderShipped', 'OrderCreated']
 */
export function readTypesOf(config: Pick<HandlerConfig, 'on'>, upcasting: Upcasting | undefined): string[] | undefined {
  if (config.on === undefined) return undefined;
  const types = new Set(Object.keys(config.on));
  for (const type of upcasting?.types ?? []) types.add(type);
  return [...types].sort();
}

/**
 * One stored event made ready for a worker: upcast, then keyed by `partitionBy`. When either throws, the delivery
 * carries the error (`routingError`), the stored event, and `retryRouting` to run both again on a retry.
 * `source` is the stored event whenever upcasting changed it (dead letters record the stored event).
 */
export function prepareDelivery(
  stored: RecordedEvent,
  config: { readonly partitionBy?: HandlerConfig['partitionBy'] | undefined },
  upcasting: Upcasting | undefined,
  ctx: HandlerContext,
): Delivery {
  let event = stored;
  try {
    if (upcasting !== undefined) event = upcasting.upcast(stored);
    const partition = config.partitionBy === undefined ? undefined : config.partitionBy(event, ctx);
    return event === stored ? { event, partition } : { event, partition, source: stored };
  } catch (routingError) {
    const retryRouting = (retryCtx: HandlerContext): Delivery => prepareDelivery(stored, config, upcasting, retryCtx);
    return { event: stored, partition: undefined, routingError, retryRouting };
  }
}

/**
 * The worker and slot of a delivery: by its key with `partitionBy` (a stable hash), round-robin without; a
 * delivery whose routing failed goes by its event number, so every process picks the same slot.
 */
export function placeDelivery(
  delivery: Delivery,
  keyed: boolean,
  workerCount: number,
  slotCount: number,
  roundRobin: number,
): { index: number; slot: number } {
  const { eventNumber } = delivery.event;
  if ('routingError' in delivery) return { index: eventNumber % workerCount, slot: eventNumber % slotCount };
  if (!keyed) return { index: workerCount === 1 ? 0 : roundRobin % workerCount, slot: 0 };
  const key = delivery.partition as NonNullable<Delivery['partition']>;
  return { index: workerCount === 1 ? 0 : workerForKey(key, workerCount), slot: slotCount > 1 ? slotForKey(key, slotCount) : 0 };
}
