/** Validation of a handler's `on` against `handle` and its `events` catalog (part of defineHandler's checks). */
import { describeValue } from '../describe.ts';
import type { EventCatalog, EventShapes } from '../events/define-events.ts';
import { HandlerConfigError } from '../errors.ts';
import { isOnDispatcher, onDispatcher } from './routing.ts';
import type { OnMap } from './types.ts';

/**
 * Whether `value` can be a handler's `on`: a plain object with at least one key, each a function.
 * @example
 * isOnMap({ OrderPlaced() {} }); // true
 */
export function isOnMap(value: unknown): value is OnMap {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return entries.length > 0 && entries.every(([type, fn]) => type !== '' && typeof fn === 'function');
}

/**
 * Checks that a handler config has at most one of `handle`, `handleBatch` and `on`, and that `on` lists only types of its
 * `events` catalog (when the catalog lists its types); then sets `handle` to the function made from `on`.
 * A config that already holds the `handle` made from an `on` (e.g. one `init` returned) gets a fresh one.
 * @throws HandlerConfigError naming `handle`, `on` or `on.<type>`.
 */
export function checkOnHandlers(values: Record<string, unknown>, source: string): void {
  const { on, handle, handleBatch } = values;
  const madeFromOn = isOnDispatcher(handle);
  if (on === undefined) {
    // A handle made from an `on` that is gone (an `init` dropped it) is no handle of the user's. Whether handle or
    // handleBatch is given is checked with the other handling options (define.ts).
    if (madeFromOn) {
      throw new HandlerConfigError(`${source}: option "handle" must be a function, got undefined (or give "on": one function per event type)`, 'handle');
    }
    return;
  }
  if (handleBatch !== undefined) {
    throw new HandlerConfigError(
      `${source}: options "on" and "handleBatch" are exclusive (give one), got both: on ${describeValue(on)}, handleBatch ${describeValue(handleBatch)}`,
      'on',
    );
  }
  if (handle !== undefined && !madeFromOn) {
    throw new HandlerConfigError(
      `${source}: options "on" and "handle" are exclusive (give one), got both: on ${describeValue(on)}, handle ${describeValue(handle)}`,
      'on',
    );
  }
  const known = (values.events as EventCatalog<EventShapes> | undefined)?.validators;
  if (known !== undefined) {
    for (const type of Object.keys(on as OnMap)) {
      if (!known.has(type)) {
        throw new HandlerConfigError(
          `${source}: on.${type}: "${type}" is not a type of the handler's events (known: ${[...known.keys()].join(', ')})`,
          `on.${type}`,
        );
      }
    }
  }
  values.handle = onDispatcher(on as OnMap);
}
