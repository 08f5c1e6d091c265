import { HandlerConfigError } from '../errors.ts';
import type { ChildSpec, RestartStrategy, RestartType, SupervisorOptions, SupervisorSpec } from './types.ts';

/** Options of {@link supervisor}: the supervisor options plus its children and its own restart type. */
export interface SupervisorDefinition extends SupervisorOptions {
  /** Required: names the supervisor in telemetry and errors. */
  name: string;
  /** Handlers, `[handler, overrides]` pairs and nested supervisors, in start order. */
  children: readonly ChildSpec[];
  /** Restart type of this supervisor as a child of its parent. @default 'permanent' */
  restart?: RestartType;
}

/** A supervisor's resolved options, without children (what the runtime needs). */
export type ResolvedSupervisorOptions = Omit<SupervisorSpec, 'children' | 'kind'>;

const defaults = {
  strategy: 'one_for_one',
  maxRestarts: 3,
  withinMs: 5000,
  restart: 'permanent',
} as const satisfies Required<Omit<SupervisorDefinition, 'name' | 'children'>>;

const strategies: readonly RestartStrategy[] = ['one_for_one', 'one_for_all', 'rest_for_one'];
const restartTypes: readonly RestartType[] = ['permanent', 'transient', 'temporary'];
const optionKeys = ['name', 'strategy', 'maxRestarts', 'withinMs'] as const;
const definitionKeys = [...optionKeys, 'children', 'restart'] as const;

/**
 * Defines a supervisor: a group of children restarted together by `strategy`, which gives up (and fails
 * to its own parent) after more than `maxRestarts` restarts within `withinMs`.
 * Validated at once; children's contents are validated when the app starts.
 * @throws {HandlerConfigError} naming the bad field.
 * @example
 * supervisor({ name: 'projections', strategy: 'one_for_all', children: [orders, [mailer, { restart: 'transient' }]] });
 */
export function supervisor(options: SupervisorDefinition): SupervisorSpec {
  const where = typeof options === 'object' && options !== null && typeof options.name === 'string' ? ` "${options.name}"` : '';
  const resolved = resolve(options, definitionKeys, undefined, `supervisor${where}`);
  const children: unknown = options.children;
  if (!Array.isArray(children)) {
    throw new HandlerConfigError(`supervisor${where}: children must be an array, got ${describe(children)}`, 'children');
  }
  children.forEach((child: unknown, index) => {
    const isPair = Array.isArray(child) && child.length === 2;
    if (!isPair && (typeof child !== 'object' || child === null || Array.isArray(child))) {
      throw new HandlerConfigError(
        `supervisor${where}: children[${index}] must be a handler, a [handler, overrides] pair or a supervisor, got ${describe(child)}`,
        'children',
      );
    }
  });
  const restart: unknown = options.restart === undefined ? defaults.restart : options.restart;
  if (!restartTypes.includes(restart as RestartType)) {
    throw new HandlerConfigError(
      `supervisor${where}: restart must be one of ${restartTypes.join(', ')}, got ${describe(restart)}`,
      'restart',
    );
  }
  return { kind: 'supervisor', ...resolved, restart: restart as RestartType, children: [...(children as ChildSpec[])] };
}

/**
 * Resolves and validates the options of an app's root supervisor (`app.start`'s second argument).
 * @param name the default name, used when `options.name` is absent.
 * @throws {HandlerConfigError} naming the bad field.
 */
export function resolveSupervisorOptions(options: SupervisorOptions | undefined, name: string): ResolvedSupervisorOptions {
  return { ...resolve(options ?? {}, optionKeys, name, 'supervisor options'), restart: 'permanent' };
}

function resolve(
  options: unknown,
  allowed: readonly string[],
  defaultName: string | undefined,
  where: string,
): Omit<ResolvedSupervisorOptions, 'restart'> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new HandlerConfigError(`${where}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new HandlerConfigError(`${where}: unknown option "${key}" (known: ${allowed.join(', ')})`, key);
    }
  }
  const given = options as Record<string, unknown>;
  const name = given.name === undefined ? defaultName : given.name;
  if (typeof name !== 'string' || name.trim() === '') {
    throw new HandlerConfigError(`${where}: name must be a non-empty string, got ${describe(name)}`, 'name');
  }
  const strategy = given.strategy === undefined ? defaults.strategy : given.strategy;
  if (!strategies.includes(strategy as RestartStrategy)) {
    throw new HandlerConfigError(`${where}: strategy must be one of ${strategies.join(', ')}, got ${describe(strategy)}`, 'strategy');
  }
  const maxRestarts = given.maxRestarts === undefined ? defaults.maxRestarts : given.maxRestarts;
  if (typeof maxRestarts !== 'number' || !Number.isInteger(maxRestarts) || maxRestarts < 0) {
    throw new HandlerConfigError(`${where}: maxRestarts must be a non-negative integer, got ${describe(maxRestarts)}`, 'maxRestarts');
  }
  const withinMs = given.withinMs === undefined ? defaults.withinMs : given.withinMs;
  if (typeof withinMs !== 'number' || !Number.isFinite(withinMs) || withinMs <= 0) {
    throw new HandlerConfigError(`${where}: withinMs must be a positive finite number, got ${describe(withinMs)}`, 'withinMs');
  }
  return { name, strategy: strategy as RestartStrategy, maxRestarts, withinMs };
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value === null || typeof value !== 'object') return String(value);
  return 'an object';
}
