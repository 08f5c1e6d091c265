/**
 * Upcasters: functions that turn a stored event of an old shape into the event handlers see, applied to every
 * delivery before routing. The stored event never changes.
 */
import { describeValue } from '../describe.ts';
import { HandlerConfigError, InvalidEventError } from '../errors.ts';
import type { RecordedEvent } from './types.ts';

/** The most upcasters one delivery goes through (a longer chain, e.g. a cycle, is a handling failure). */
export const MAX_UPCAST_STEPS = 10;

/**
 * What an upcaster returns: the event with a new `type`, `data` or `metadata` (spread the input and change
 * fields). `eventId`, `eventNumber`, `streamId`, `streamVersion` and `createdAt` are always the stored event's.
 */
export interface UpcastEvent {
  readonly type: string;
  readonly data: unknown;
  readonly metadata?: Record<string, unknown> | undefined;
}

/**
 * Maps a stored event of its type to what handlers see. `data` is typed as a JSON object (what dispatch stores
 * for object payloads) so that `{ ...event.data }` compiles; narrow it yourself if your events carry other JSON.
 */
export type Upcaster = (event: RecordedEvent<{ readonly [key: string]: unknown }>) => UpcastEvent;

/** `createApp({ upcasters })`: one upcaster per stored event type. */
export type Upcasters = { readonly [type: string]: Upcaster };

/** An app's upcasters, ready for the runtime. */
export interface Upcasting {
  /** Types that have an upcaster (a type filter reads them too: they may become a wanted type). */
  readonly types: ReadonlySet<string>;
  /**
   * Runs the chain of upcasters starting at the event's type; returns the event itself when it has none.
   * @throws what an upcaster throws, or InvalidEventError for a bad result or a chain over {@link MAX_UPCAST_STEPS}.
   */
  upcast(event: RecordedEvent): RecordedEvent;
}

/**
 * Validates `createApp`'s `upcasters` and composes them; `undefined` when there are none.
 * @throws HandlerConfigError naming `upcasters.<type>` when a value is not a function.
 * @example
 * const upcasting = createUpcasting({ OrderCreated: (event) => ({ ...event, type: 'OrderPlaced' }) });
 */
export function createUpcasting(upcasters: Upcasters | undefined): Upcasting | undefined {
  if (upcasters === undefined) return undefined;
  if (typeof upcasters !== 'object' || upcasters === null || Array.isArray(upcasters)) {
    throw new HandlerConfigError(`upcasters must be an object mapping event types to functions, got ${describeValue(upcasters)}`, 'upcasters');
  }
  const byType = new Map<string, Upcaster>();
  for (const [type, upcaster] of Object.entries(upcasters)) {
    if (typeof upcaster !== 'function') {
      throw new HandlerConfigError(`upcasters.${type} must be a function (event) => event, got ${describeValue(upcaster)}`, `upcasters.${type}`);
    }
    byType.set(type, upcaster as Upcaster);
  }
  if (byType.size === 0) return undefined;
  return { types: new Set(byType.keys()), upcast: (event) => upcastChain(event, byType) };
}

function upcastChain(stored: RecordedEvent, byType: ReadonlyMap<string, Upcaster>): RecordedEvent {
  let event = stored;
  const path: string[] = [stored.type];
  for (let upcaster = byType.get(event.type); upcaster !== undefined; upcaster = byType.get(event.type)) {
    if (path.length > MAX_UPCAST_STEPS) {
      throw new InvalidEventError(`event ${stored.eventNumber}: more than ${MAX_UPCAST_STEPS} upcasting steps (${path.join(' -> ')} -> ...)`);
    }
    const from = event.type;
    event = applyOne(upcaster, event as RecordedEvent<{ readonly [key: string]: unknown }>, stored);
    // An upcaster that keeps its type (filling in fields) ends the chain; a renamed type's own upcaster runs next.
    if (event.type === from) break;
    path.push(event.type);
  }
  return event;
}

function applyOne(upcaster: Upcaster, event: RecordedEvent<{ readonly [key: string]: unknown }>, stored: RecordedEvent): RecordedEvent {
  const result: unknown = upcaster(event);
  if (typeof result !== 'object' || result === null) {
    throw new InvalidEventError(`the upcaster of "${event.type}" returned ${describeValue(result)} for event ${stored.eventNumber}, not an event`);
  }
  const { type, data, metadata } = result as Partial<UpcastEvent>;
  if (typeof type !== 'string' || type === '') {
    throw new InvalidEventError(`the upcaster of "${event.type}" returned a type ${describeValue(type)} for event ${stored.eventNumber}, not a non-empty string`);
  }
  return {
    eventId: stored.eventId,
    eventNumber: stored.eventNumber,
    streamId: stored.streamId,
    streamVersion: stored.streamVersion,
    type,
    data,
    metadata: typeof metadata === 'object' && metadata !== null ? metadata : event.metadata,
    createdAt: stored.createdAt,
  };
}
