import { describeValue } from '../describe.ts';
import { HandlerConfigError } from '../errors.ts';
import { checkEventCatalog, isEventCatalog, type AnyEvents, type EventShapes } from '../events/define-events.ts';
import { isValidStreamId } from '../events/validate.ts';
import type { RestartType } from '../supervisor/types.ts';
import { MAX_DELAY_MS } from './actions.ts';
import { checkOnHandlers, isOnMap } from './on-config.ts';
import { suggestName } from './suggest.ts';
import { MAX_SLOTS } from '../store/validate.ts';
import type { BatchHandlerOptions, HandlerConfig, HandlerDefinition, HandlerOptions, HandlerOverrides, OnHandlerOptions } from './types.ts';

/** Defaults of the optional handler options (see {@link HandlerOptions} for each one). */
const defaults = {
  startFrom: 'origin',
  subscribeTo: '$all',
  concurrency: 1,
  consistency: 'eventual',
  state: undefined,
  timeoutMs: undefined,
  transactional: false,
  crashLimit: 3,
} as const satisfies Partial<HandlerOptions>;

/** Returns what a valid value looks like when `value` is not one, else `undefined`. */
type Check = (value: unknown) => string | undefined;

const expect = (ok: boolean, expectation: string): string | undefined => (ok ? undefined : expectation);
const optionalFunction: Check = (v) => expect(v === undefined || typeof v === 'function', 'a function');

const checks = {
  name: (v) => expect(typeof v === 'string' && v.trim() !== '' && !v.includes('\u0000'), 'a non-empty string'),
  startFrom: (v) =>
    expect(v === 'origin' || v === 'current' || (Number.isSafeInteger(v) && (v as number) >= 0),
      "'origin', 'current' or a non-negative safe integer (an event number)"),
  subscribeTo: (v) => expect(v === '$all' || isValidStreamId(v), "'$all' or a stream id (a non-empty string not starting with '$')"),
  concurrency: (v) => expect(Number.isSafeInteger(v) && (v as number) >= 1, 'a positive safe integer'),
  consistency: (v) => expect(v === 'eventual' || v === 'strong', "'eventual' or 'strong'"),
  state: () => undefined,
  timeoutMs: (v) =>
    expect(v === undefined || (typeof v === 'number' && v > 0 && v <= MAX_DELAY_MS),
      `undefined or a positive number of milliseconds up to ${MAX_DELAY_MS}`),
  transactional: (v) => expect(typeof v === 'boolean', 'a boolean'),
  crashLimit: (v) => expect(Number.isSafeInteger(v) && (v as number) >= 0, 'a non-negative integer (0 turns it off)'),
  slots: (v) => expect(v === undefined || (Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MAX_SLOTS), `undefined or an integer from 1 to ${MAX_SLOTS}`),
  handle: optionalFunction,
  handleBatch: optionalFunction,
  batchSize: (v) => expect(v === undefined || (Number.isSafeInteger(v) && (v as number) >= 1), 'an integer ≥ 1'),
  batchTimeoutMs: (v) =>
    expect(v === undefined || (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_DELAY_MS),
      `a number of milliseconds from 0 to ${MAX_DELAY_MS}`),
  events: (v) => expect(v === undefined || isEventCatalog(v) || (typeof v === 'object' && v !== null && !Array.isArray(v)), 'a catalog from defineEvents() or undefined'),
  on: (v) => expect(v === undefined || isOnMap(v), 'an object of one function per event type, e.g. { OrderPlaced(event, ctx) {} }'),
  partitionBy: optionalFunction,
  init: optionalFunction,
  afterStart: optionalFunction,
  beforeReset: optionalFunction,
  error: optionalFunction,
} satisfies Record<keyof HandlerOptions, Check>;

type OptionName = keyof typeof checks;
const OPTION_NAMES = Object.keys(checks) as OptionName[];
const CALLBACKS = ['partitionBy', 'init', 'afterStart', 'beforeReset', 'error'] as const;
/** Options whose `undefined` is a value of its own rather than "not given". */
const UNDEFINED_ALLOWED: ReadonlySet<string> = new Set(['state', 'timeoutMs']);
const OVERRIDABLE: ReadonlySet<string> = new Set([
  'startFrom', 'subscribeTo', 'concurrency', 'consistency', 'state', 'timeoutMs', 'transactional', 'crashLimit',
]);
const RESTART_TYPES: readonly unknown[] = ['permanent', 'transient', 'temporary'] satisfies RestartType[];

/**
 * Defines a handler: merges the defaults, validates every option at once and returns a frozen
 * definition to pass to `app.start` or `supervisor({ children })`.
 * An option given as `undefined` counts as not given (the default applies).
 * @throws HandlerConfigError naming the option and the bad value (also for an unknown option).
 * @example
 * const projector = defineHandler({ name: 'OrderProjector', concurrency: 4, async handle(event) { await project(event) } });
 */
export function defineHandler<S = unknown>(options: HandlerOptions<S>): HandlerDefinition<S>;
/**
 * Defines a handler that handles events by type: `on: { OrderPlaced(event, ctx) {} }` instead of `handle`.
 * With `events` (a catalog from `defineEvents`), each function's `event.data` is typed for its type and `on`
 * may list only the catalog's types. The handler reads only those types (and types with an upcaster).
 * @throws HandlerConfigError for `on` with `handle`, an `on` key the catalog does not know, or any bad option.
 * @example
 * defineHandler({ name: 'Totals', events: shop, on: { OrderPlaced(event) { add(event.data.total) } } });
 */
export function defineHandler<S = unknown, E extends EventShapes = AnyEvents>(options: OnHandlerOptions<E, S>): HandlerDefinition<S>;
export function defineHandler<S = unknown>(options: HandlerOptions<S> | OnHandlerOptions<EventShapes, S>): HandlerDefinition<S> {
  const config = buildConfig<S>(options, (name) => (name === undefined ? 'defineHandler()' : `handler "${name}"`));
  return Object.freeze({ kind: 'handler', config });
}

/**
 * Runs the checks of {@link defineHandler} on a whole config, e.g. the one a user's `init(config)`
 * returned. Missing optional fields take their defaults. `source` starts each error message.
 * @throws HandlerConfigError for a non-object, an unknown key or a bad value.
 * @example
 * config = validateHandlerConfig(await config.init(config), `init() of "${config.name}"`);
 */
export function validateHandlerConfig<S>(config: HandlerConfig<S>, source: string): HandlerConfig<S> {
  return buildConfig<S>(config, () => source);
}

/**
 * Applies a child's `[handler, overrides]`: any option but `name`, `handle` and the callbacks, plus
 * `restart` (default `'permanent'`). An override given as `undefined` keeps the definition's value,
 * except `state` and `timeoutMs`, where `undefined` is a value.
 * @throws HandlerConfigError for a non-definition, a forbidden or unknown key, or a bad value.
 * @example
 * const { config, restart } = applyOverrides(mailer, { concurrency: 4, restart: 'transient' });
 */
export function applyOverrides(
  definition: HandlerDefinition,
  overrides: HandlerOverrides,
): { config: HandlerConfig; restart: RestartType } {
  if (!isHandlerDefinition(definition)) {
    throw new HandlerConfigError(`expected a handler from defineHandler(), got ${describeValue(definition)}`);
  }
  const source = `overrides of handler "${definition.config.name}"`;
  const given: unknown = overrides ?? {};
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new HandlerConfigError(`${source} must be an object, got ${describeValue(given)}`);
  }
  const changes: Record<string, unknown> = {};
  let restart: RestartType = 'permanent';
  for (const [key, value] of Object.entries(given)) {
    if (key === 'restart') {
      if (value === undefined) continue;
      if (!RESTART_TYPES.includes(value)) fail(source, key, "'permanent', 'transient' or 'temporary'", value);
      restart = value as RestartType;
    } else if (OVERRIDABLE.has(key)) {
      if (value === undefined && !UNDEFINED_ALLOWED.has(key)) continue;
      const problem = checks[key as OptionName](value);
      if (problem !== undefined) fail(source, key, problem, value);
      changes[key] = value;
    } else {
      const allowed = `${[...OVERRIDABLE].join(', ')} and restart`;
      throw new HandlerConfigError(
        OPTION_NAMES.includes(key as OptionName)
          ? `${source} cannot change "${key}" (only ${allowed} can be overridden)`
          : `${source}: unknown option "${key}"${hint(key, [...OVERRIDABLE, 'restart'])} (known: ${allowed})`,
        key,
      );
    }
  }
  const config = buildConfig<unknown>({ ...definition.config, ...changes }, () => source);
  return { config, restart };
}

/**
 * Whether `value` looks like a handler definition (`{ kind: 'handler', config }` with a name and a
 * `handle` or `handleBatch` function). Its config is validated again when it is started.
 * @example
 * isHandlerDefinition(defineHandler({ name: 'A', handle() {} })); // true
 */
export function isHandlerDefinition(value: unknown): value is HandlerDefinition {
  if (typeof value !== 'object' || value === null) return false;
  const { kind, config } = value as { kind?: unknown; config?: unknown };
  if (kind !== 'handler' || typeof config !== 'object' || config === null) return false;
  const { name, handle, handleBatch } = config as { name?: unknown; handle?: unknown; handleBatch?: unknown };
  // A handler with `on` has the handle made from it (see routing.ts).
  return typeof name === 'string' && (typeof handle === 'function' || typeof handleBatch === 'function');
}

function buildConfig<S>(options: unknown, sourceOf: (name: string | undefined) => string): HandlerConfig<S> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new HandlerConfigError(`${sourceOf(undefined)}: options must be an object, got ${describeValue(options)}`);
  }
  const given = options as Record<string, unknown>;
  const nameProblem = checks.name(given.name);
  if (nameProblem !== undefined) fail(sourceOf(undefined), 'name', nameProblem, given.name);
  const source = sourceOf(given.name as string);
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(checks, key)) {
      throw new HandlerConfigError(
        `${source}: unknown option "${key}"${hint(key, OPTION_NAMES)} (known options: ${OPTION_NAMES.join(', ')})`,
        key,
      );
    }
  }
  const values: Record<string, unknown> = {};
  for (const key of OPTION_NAMES) {
    const value = given[key] === undefined && key in defaults ? defaults[key as keyof typeof defaults] : given[key];
    const problem = checks[key](value);
    if (problem !== undefined) fail(source, key, problem, value);
    values[key] = value;
  }
  values.events = checkEventCatalog(values.events, source);
  checkOnHandlers(values, source);
  for (const key of [...CALLBACKS, 'events', 'on'] as const) if (values[key] === undefined) delete values[key];
  if (values.slots === undefined) delete values.slots;
  checkHandlingShape(source, values);
  if (values.slots !== undefined && (values.slots as number) > 1 && values.partitionBy === undefined) {
    fail(source, 'slots', 'used together with partitionBy (without it a handler is one slot)', values.slots);
  }
  // Every field was checked above, so the record now has the shape of a config.
  return Object.freeze(values) as unknown as HandlerConfig<S>;
}

/** Batch options apply to `handleBatch` only. */
const BATCH_OPTIONS = ['batchSize', 'batchTimeoutMs'] as const;

/** Defaults of a batch handler's options. */
const batchDefaults = { batchSize: 100, batchTimeoutMs: 0 } as const satisfies Partial<BatchHandlerOptions>;

/**
 * Exactly one way of handling: `handle` or `handleBatch` (and the batch options only with `handleBatch`).
 * Fills the batch defaults; removes what is not set, so a config has only the keys that apply.
 */
function checkHandlingShape(source: string, values: Record<string, unknown>): void {
  const { handle, handleBatch } = values;
  if (handle !== undefined && handleBatch !== undefined) {
    fail(source, 'handleBatch', 'left out when handle is given (a handler has handle or handleBatch, not both)', handleBatch);
  }
  if (handle === undefined && handleBatch === undefined) {
    throw new HandlerConfigError(`${source}: option "handle" must be a function, got undefined (or give "on": one function per event type, or "handleBatch")`, 'handle');
  }
  if (handleBatch === undefined) {
    for (const key of BATCH_OPTIONS) {
      if (values[key] !== undefined) fail(source, key, 'used together with handleBatch (it applies to batch handlers only)', values[key]);
    }
    for (const key of ['handleBatch', ...BATCH_OPTIONS]) delete values[key];
    return;
  }
  delete values.handle;
  for (const key of BATCH_OPTIONS) values[key] ??= batchDefaults[key];
}

function fail(source: string, field: string, expectation: string, value: unknown): never {
  throw new HandlerConfigError(`${source}: option "${field}" must be ${expectation}, got ${describeValue(value)}`, field);
}

function hint(key: string, known: readonly string[]): string {
  const suggestion = suggestName(key, known);
  return suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
}

/** Slots a handler without their own `slots` option gets when it has `partitionBy`. */
export const DEFAULT_SLOTS = 64;

/**
 * How many slots a handler's events are split into: 1 without `partitionBy` (one consumer at a time),
 * else its `slots` option or {@link DEFAULT_SLOTS}.
 */
export function slotCountOf(config: HandlerConfig): number {
  return config.partitionBy === undefined ? 1 : (config.slots ?? DEFAULT_SLOTS);
}
