import type { RecordedEvent } from '../events/types.ts';
import type { Upcasting } from '../events/upcast.ts';
import type { BatchFlushReason } from '../telemetry/types.ts';
import type { Delivery } from './handle-event.ts';
import { placeDelivery, prepareDelivery } from './routing.ts';
import type { HandlerConfig, HandlerContext } from './types.ts';

/**
 * What routing depends on: the app's upcasters, the handler's `partitionBy`, its worker and slot counts, the
 * context `partitionBy` sees.
 */
export interface RoutingTable {
  readonly upcasting: Upcasting | undefined;
  readonly partitionBy: HandlerConfig['partitionBy'] | undefined;
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
export function routingTable(config: HandlerConfig, slotCount: number, appName: string, upcasting?: Upcasting): RoutingTable {
  return {
    upcasting,
    partitionBy: config.partitionBy,
    workerCount: config.concurrency,
    slotCount,
    context: { handlerName: config.name, state: config.state, workerIndex: 0, partition: undefined, app: appName },
  };
}

/**
 * Routes one event (a pure function of the event, the table and `turn`): upcast first (routing.ts), then with
 * `partitionBy` the key's worker and slot, so the same key always lands on the same worker and slot (across
 * restarts and processes); without it, worker `turn` round robin, slot 0. When upcasting or `partitionBy` throws,
 * a key is needed to pick a slot: every process picks the same one by the event's number, and the worker reports
 * the error as a handling failure. The caller moves `turn` on for each routed event of a handler without `partitionBy`.
 */
export function routeEvent(event: RecordedEvent, table: RoutingTable, turn: number): Route {
  const delivery = prepareDelivery(event, table, table.upcasting, table.context);
  const { index, slot } = placeDelivery(delivery, table.partitionBy !== undefined, table.workerCount, table.slotCount, turn);
  return { worker: index, slot, delivery };
}

/** What a batch worker does next: hand over `take` events (and why), or wait up to `waitMs` for more. */
export type BatchPlan =
  | { readonly take: number; readonly flushReason: BatchFlushReason }
  | { readonly waitMs: number };

/**
 * The batching rule (pure): a full batch goes at once (`'size'`); while catching up, or live without a
 * `timeoutMs`, a batch is whatever is queued (`'immediate'`); live with a `timeoutMs`, a batch waits for more
 * until `timeoutMs` after it began waiting (`'timeout'`). `queued` ≥ 1 events wait; `waitedMs`: how long this
 * batch has waited so far.
 */
export function planBatch(queued: number, batchSize: number, timeoutMs: number, live: boolean, waitedMs: number): BatchPlan {
  if (queued >= batchSize) return { take: batchSize, flushReason: 'size' };
  if (!live || timeoutMs <= 0) return { take: queued, flushReason: 'immediate' };
  if (waitedMs >= timeoutMs) return { take: queued, flushReason: 'timeout' };
  return { waitMs: timeoutMs - waitedMs };
}

/**
 * How many of the `take` deliveries from `start` form one batch: an event whose `partitionBy` threw goes alone
 * (its failure is its own), and so does a poison event (parked, not handed over), so a batch stops before such an
 * event, and such an event is a batch of one.
 */
export function batchLength(queue: readonly Delivery[], start: number, take: number): number {
  if (goesAlone(queue[start] as Delivery)) return 1;
  for (let i = 1; i < take; i++) if (goesAlone(queue[start + i] as Delivery)) return i;
  return take;
}

/** An event whose routing failed, or one parked as poison, is a batch of its own. */
function goesAlone(delivery: Delivery): boolean {
  return 'routingError' in delivery || delivery.poison !== undefined;
}
