import { describeValue } from '../describe.ts';
import { InvalidEventError } from '../errors.ts';
import { isPlainObject, stringProblem, toStorableJson } from './json.ts';
import type { NewEvent } from './types.ts';

/** Longest caller-supplied `eventId`. */
export const MAX_EVENT_ID_LENGTH = 200;

/**
 * Whether `value` is a valid stream id: a non-empty string not starting with `$` (reserved, as in
 * `$all`) that PostgreSQL can store (no `\u0000`, no lone surrogate).
 * @example
 * isValidStreamId('order-1'); // true
 * isValidStreamId('$all');    // false
 */
export function isValidStreamId(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && !value.startsWith('$') && stringProblem(value) === undefined;
}

/**
 * Returns `streamId` when it is a valid stream id (see {@link isValidStreamId}).
 * @throws InvalidEventError naming the bad value.
 * @example
 * const stream = validateStreamId(streamId);
 */
export function validateStreamId(streamId: unknown): string {
  if (isValidStreamId(streamId)) return streamId;
  const why = typeof streamId === 'string' && streamId.startsWith('$') ? " ('$' starts reserved names such as '$all')" : '';
  throw new InvalidEventError(
    `stream id must be a non-empty string not starting with '$'${why}, got ${describeValue(streamId)}`,
  );
}

/**
 * Validates what a caller dispatches (one event, or a non-empty array of them) and normalizes it for
 * storage: `eventId` assigned by `newId()` when absent, `data` and `metadata` checked and copied as
 * {@link toStorableJson} does (so later changes to the caller's objects cannot reach the stored event),
 * `metadata` defaulting to `{}`. Fields other than `type`, `data`, `metadata` and `eventId` are ignored.
 * @throws InvalidEventError naming the event index and the path, e.g. `events[2].data.items[0].price: BigInt is not JSON`.
 * @example
 * normalizeEvents({ type: 'OrderPlaced', data: { total: 42 } }, ulid);
 * // [{ eventId: '01J…', type: 'OrderPlaced', data: { total: 42 }, metadata: {} }]
 */
export function normalizeEvents(events: unknown, newId: () => string): NewEvent[] {
  if (!Array.isArray(events)) return [normalizeEvent(events, 'events[0]', newId)];
  if (events.length === 0) throw new InvalidEventError('events must be one event or a non-empty array of events, got []');
  const normalized: NewEvent[] = [];
  // Indexed on purpose: a hole in a sparse array must be reported, not skipped as map() would.
  for (let i = 0; i < events.length; i++) normalized.push(normalizeEvent(events[i], `events[${i}]`, newId));
  return normalized;
}

function normalizeEvent(event: unknown, label: string, newId: () => string): NewEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new InvalidEventError(`${label} must be an object { type, data, metadata?, eventId? }, got ${describeValue(event)}`);
  }
  const { type, data, metadata, eventId } = event as Record<string, unknown>;
  if (typeof type !== 'string' || type === '' || stringProblem(type) !== undefined) {
    throw new InvalidEventError(`${label}.type must be a non-empty string${problemOf(type)}, got ${describeValue(type)}`);
  }
  if (eventId !== undefined && !isValidEventId(eventId)) {
    throw new InvalidEventError(
      `${label}.eventId must be a non-empty string of at most ${MAX_EVENT_ID_LENGTH} characters${problemOf(eventId)}, got ${describeValue(eventId)}`,
    );
  }
  if (data === undefined) {
    throw new InvalidEventError(`${label}.data is required (any JSON value; use null for no payload)`);
  }
  return {
    eventId: eventId ?? newId(),
    type,
    data: toStorableJson(data, `${label}.data`),
    metadata: normalizeMetadata(metadata, `${label}.metadata`),
  };
}

function normalizeMetadata(metadata: unknown, label: string): Record<string, unknown> {
  if (metadata === undefined) return {};
  if (isPlainObject(metadata)) {
    const copy = toStorableJson(metadata, label);
    if (isPlainObject(copy)) return copy;
  }
  throw new InvalidEventError(`${label} must be a plain object, got ${describeValue(metadata)}`);
}

function isValidEventId(eventId: unknown): eventId is string {
  return (
    typeof eventId === 'string' &&
    eventId !== '' &&
    eventId.length <= MAX_EVENT_ID_LENGTH &&
    stringProblem(eventId) === undefined
  );
}

function problemOf(value: unknown): string {
  const problem = typeof value === 'string' ? stringProblem(value) : undefined;
  return problem === undefined ? '' : ` (${problem})`;
}
