/** The typed-event options of `createApp`: `events`, `strictEvents` and `upcasters`, validated at once. */
import { describeValue } from '../describe.ts';
import { checkEventCatalog } from '../events/define-events.ts';
import type { TypedDispatch } from '../events/check-typed.ts';
import { createUpcasting, type Upcasters, type Upcasting } from '../events/upcast.ts';
import { HandlerConfigError } from '../errors.ts';

/** Names of the options this module validates. */
export const TYPED_OPTION_NAMES = ['events', 'strictEvents', 'upcasters'] as const;

/** The typed-event options after validation. */
export interface ResolvedTypedOptions {
  readonly typed: TypedDispatch;
  readonly upcasting: Upcasting | undefined;
}

/**
 * Validates `events` (a catalog from `defineEvents` or a validator map), `strictEvents` and `upcasters`.
 * @throws HandlerConfigError naming the field and the value.
 * @example
 * const { typed, upcasting } = resolveTypedOptions({ events: shop, strictEvents: true });
 */
export function resolveTypedOptions(options: { events?: unknown; strictEvents?: unknown; upcasters?: unknown }): ResolvedTypedOptions {
  const catalog = checkEventCatalog(options.events, 'createApp');
  const strict = options.strictEvents ?? false;
  if (typeof strict !== 'boolean') {
    throw new HandlerConfigError(`createApp: option "strictEvents" must be a boolean, got ${describeValue(strict)}`, 'strictEvents');
  }
  if (strict && catalog?.validators === undefined) {
    throw new HandlerConfigError(
      'createApp: option "strictEvents" needs "events" listing its types at run time (defineEvents({ Type: validator })), ' +
        `got ${catalog === undefined ? 'no events' : 'a catalog of types only (defineEvents<...>())'}`,
      'strictEvents',
    );
  }
  return { typed: { catalog, strict }, upcasting: createUpcasting(options.upcasters as Upcasters | undefined) };
}
