/**
 * Typed events: a catalog of event types, each with an optional Standard Schema validator
 * (zod 4, valibot, arktype, or any object with `~standard`). herald depends on the spec's types only.
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { describeValue } from '../describe.ts';
import { HandlerConfigError } from '../errors.ts';
import type { EventData, RecordedEvent } from './types.ts';

/** What one event type carries: the `data` dispatch accepts (`input`) and the `data` handlers see (`output`). */
export interface EventShape<I = unknown, O = I> {
  readonly input: I;
  readonly output: O;
}

/** Event types and their shapes, e.g. `{ OrderPlaced: EventShape<{ total: number }> }`. */
export type EventShapes = { readonly [type: string]: EventShape };

/** The shapes of an app or handler without a catalog: any type, any data. */
export type AnyEvents = { readonly [type: string]: EventShape<unknown> };

/** A validator map as given to {@link defineEvents}: a Standard Schema per type, or `undefined` (known, not validated). */
export type EventValidators = { readonly [type: string]: StandardSchemaV1 | undefined };

/** The shape a validator describes (`unknown` data when there is none). */
export type ShapeOf<V> = V extends StandardSchemaV1
  ? EventShape<StandardSchemaV1.InferInput<V>, StandardSchemaV1.InferOutput<V>>
  : EventShape<unknown>;

/** A catalog of event types made by {@link defineEvents}; pass it as `events` to `createApp` and `defineHandler`. */
export interface EventCatalog<E extends EventShapes = AnyEvents> {
  readonly kind: 'events';
  /** Each known type's validator (`undefined`: known, not validated); `undefined` for a catalog of types only. */
  readonly validators: ReadonlyMap<string, StandardSchemaV1 | undefined> | undefined;
  /** Carries the shapes for the type-checker only; never set. */
  readonly '~shapes'?: E;
}

/** The event a handler's `on.<type>` receives: `type` and `data` narrowed to that type. */
export type TypedEvent<E extends EventShapes, K extends keyof E & string> = RecordedEvent<E[K]['output']> & { readonly type: K };

/** What `dispatch` accepts for an app whose catalog is `E`: any event without a catalog, else one of its shapes. */
export type DispatchEvent<E extends EventShapes> = string extends keyof E
  ? EventData
  : { [K in keyof E & string]: Omit<EventData<E[K]['input']>, 'type'> & { type: K } }[keyof E & string];

/**
 * Defines the event types of an app: a map from type to a Standard Schema validator (or `undefined` for a
 * type that is known but not validated), or, with a type parameter alone, types without run-time validation.
 * Dispatch validates `data` with the type's validator and stores its output; handlers' `on` is typed by it.
 * @throws HandlerConfigError when a value is neither a Standard Schema validator nor `undefined`.
 * @example
 * const shop = defineEvents({ OrderPlaced: z.object({ orderId: z.string(), total: z.number() }) });
 * const typesOnly = defineEvents<{ OrderPlaced: { orderId: string; total: number } }>();
 */
export function defineEvents<M extends { readonly [type: string]: unknown }>(): EventCatalog<{ [K in keyof M & string]: EventShape<M[K]> }>;
export function defineEvents<V extends EventValidators>(validators: V): EventCatalog<{ [K in keyof V & string]: ShapeOf<V[K]> }>;
export function defineEvents(validators?: unknown): EventCatalog<EventShapes> {
  if (validators === undefined) return Object.freeze({ kind: 'events', validators: undefined });
  if (typeof validators !== 'object' || validators === null || Array.isArray(validators)) {
    throw new HandlerConfigError(`defineEvents: expected a map from event type to a Standard Schema validator, got ${describeValue(validators)}`, 'events');
  }
  const map = new Map<string, StandardSchemaV1 | undefined>();
  for (const [type, validator] of Object.entries(validators)) {
    if (type === '') throw new HandlerConfigError('defineEvents: an event type must be a non-empty string, got ""', 'events');
    if (validator !== undefined && !isStandardSchema(validator)) {
      throw new HandlerConfigError(
        `defineEvents: events.${type} must be a Standard Schema validator (an object with "~standard".validate) or undefined, got ${describeValue(validator)}`,
        `events.${type}`,
      );
    }
    map.set(type, validator);
  }
  return Object.freeze({ kind: 'events', validators: map });
}

/**
 * Whether `value` implements Standard Schema v1 (`value['~standard'].validate` is a function, version 1).
 * @example
 * isStandardSchema(z.string()); // true
 */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const props = (value as { '~standard'?: unknown })['~standard'];
  if (typeof props !== 'object' || props === null) return false;
  const { validate, version } = props as { validate?: unknown; version?: unknown };
  return typeof validate === 'function' && version === 1;
}

/**
 * Whether `value` is a catalog made by {@link defineEvents}.
 * @example
 * isEventCatalog(defineEvents<{ A: null }>()); // true
 */
export function isEventCatalog(value: unknown): value is EventCatalog<EventShapes> {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, validators } = value as { kind?: unknown; validators?: unknown };
  return kind === 'events' && (validators === undefined || validators instanceof Map);
}

/**
 * Checks an `events` option (of `createApp` or `defineHandler`): absent, a catalog from {@link defineEvents}, or a
 * validator map (turned into a catalog).
 * @throws HandlerConfigError naming `source` and the value.
 */
export function checkEventCatalog(value: unknown, source: string): EventCatalog<EventShapes> | undefined {
  if (value === undefined || isEventCatalog(value)) return value;
  // A plain validator map is accepted as defineEvents would (which names a bad value's type).
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !('kind' in value)) return defineEvents(value as EventValidators);
  throw new HandlerConfigError(
    `${source}: option "events" must be a catalog from defineEvents({ Type: validator }) or undefined, got ${describeValue(value)}`,
    'events',
  );
}
