/** Dispatch-time validation of typed events: each known type's `data` through its Standard Schema validator. */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { describeValue } from '../describe.ts';
import { InvalidEventError } from '../errors.ts';
import type { EventCatalog, EventShapes } from './define-events.ts';

/** How dispatch treats types: the app's catalog, and whether a type it does not know is rejected. */
export interface TypedDispatch {
  readonly catalog: EventCatalog<EventShapes> | undefined;
  /** `createApp({ strictEvents })`. */
  readonly strict: boolean;
}

/**
 * Runs the validator of every event whose type the catalog knows (awaiting async ones) and returns the events
 * with `data` replaced by each validator's output; events of other types pass unchanged, or are rejected when
 * `strict`. Malformed events (not an object, no string type) pass through for `normalizeEvents` to report.
 * Synchronous validators are called synchronously: no promise per event unless one returns one.
 * @throws InvalidEventError with the validator's `issues`, or with the validator's exception as `cause`.
 * @example
 * const checked = await validateTypedEvents(events, { catalog: shop, strict: false });
 */
export async function validateTypedEvents(events: unknown, typed: TypedDispatch): Promise<unknown> {
  const validators = typed.catalog?.validators;
  if (validators === undefined) return events;
  if (!Array.isArray(events)) return validateOne(events, 'events[0]', validators, typed.strict);
  const checked: unknown[] = [];
  for (let i = 0; i < events.length; i++) checked.push(await validateOne(events[i], `events[${i}]`, validators, typed.strict));
  return checked;
}

async function validateOne(
  event: unknown,
  label: string,
  validators: ReadonlyMap<string, StandardSchemaV1 | undefined>,
  strict: boolean,
): Promise<unknown> {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return event;
  const { type, data } = event as { type?: unknown; data?: unknown };
  if (typeof type !== 'string' || type === '') return event;
  if (!validators.has(type)) {
    if (!strict) return event;
    throw new InvalidEventError(
      `${label}.type ${describeValue(type)} is not a type of the app's events (strictEvents is on; known: ${[...validators.keys()].join(', ')})`,
    );
  }
  const validator = validators.get(type);
  if (validator === undefined) return event;
  let result: StandardSchemaV1.Result<unknown>;
  try {
    const pending = validator['~standard'].validate(data);
    result = pending instanceof Promise ? await pending : pending;
  } catch (error) {
    throw new InvalidEventError(
      `${label}.data: the validator of "${type}" threw: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  if (result.issues) {
    throw new InvalidEventError(`${label}.data is not a valid "${type}": ${describeIssues(result.issues)}`, { issues: result.issues });
  }
  return { ...event, data: result.value };
}

/** `total: Expected number, received string; orderId: Required` (the first few issues). */
function describeIssues(issues: readonly StandardSchemaV1.Issue[]): string {
  const shown = issues.slice(0, 3).map((issue) => {
    const path = (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.');
    return path === '' ? issue.message : `${path}: ${issue.message}`;
  });
  return issues.length > 3 ? `${shown.join('; ')}; and ${issues.length - 3} more` : shown.join('; ');
}
