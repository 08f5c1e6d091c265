import { HandlerConfigError } from '../errors.ts';
import { applyOverrides, isHandlerDefinition, validateHandlerConfig } from '../handler/define.ts';
import type { HandlerConfig, HandlerDefinition, HandlerOverrides } from '../handler/types.ts';
import type { EventStore } from '../store/types.ts';
import { supervisorFactory, type SupervisorDeps } from '../supervisor/runtime.ts';
import type { ChildFactory, ChildSpec, RestartType, SupervisorSpec } from '../supervisor/types.ts';
import { createHandlerInstance, type HandlerInstance, type InstanceDeps } from './handler-instance.ts';

/** What building a supervision tree needs. */
export interface TreeDeps {
  readonly store: EventStore;
  readonly instanceDeps: InstanceDeps;
  readonly supervisorDeps: SupervisorDeps;
}

/**
 * Turns `app.start`'s children into supervisor child factories, bottom-up: applies overrides, runs each
 * handler's `init`, validates the result and rejects duplicate names across the whole tree.
 */
export async function buildTree(
  children: readonly ChildSpec[],
  deps: TreeDeps,
): Promise<{ factories: ChildFactory[]; instances: HandlerInstance[] }> {
  if (!Array.isArray(children)) throw new HandlerConfigError('app.start expects an array of children', 'children');
  const instances: HandlerInstance[] = [];
  const factories = await buildLevel(children, deps, instances, new Set());
  return { factories, instances };
}

async function buildLevel(
  children: readonly ChildSpec[],
  deps: TreeDeps,
  instances: HandlerInstance[],
  names: Set<string>,
): Promise<ChildFactory[]> {
  const factories: ChildFactory[] = [];
  for (const child of children) {
    if (isSupervisorSpec(child)) {
      if (names.has(child.name)) throw new HandlerConfigError(`duplicate child name "${child.name}"`, 'name');
      names.add(child.name);
      const nested = await buildLevel(child.children, deps, instances, names);
      factories.push(supervisorFactory(child, nested, deps.supervisorDeps));
      continue;
    }
    const { config, restart } = await resolveHandler(child, deps.store);
    if (names.has(config.name)) throw new HandlerConfigError(`duplicate handler name "${config.name}"`, 'name');
    names.add(config.name);
    const instance = createHandlerInstance(config, restart, deps.instanceDeps);
    instances.push(instance);
    factories.push(instance.factory);
  }
  return factories;
}

async function resolveHandler(child: unknown, store: EventStore): Promise<{ config: HandlerConfig; restart: RestartType }> {
  let definition: HandlerDefinition;
  let overrides: HandlerOverrides = {};
  if (Array.isArray(child) && child.length === 2 && isHandlerDefinition(child[0])) {
    definition = child[0];
    overrides = child[1] as HandlerOverrides;
  } else if (isHandlerDefinition(child)) {
    definition = child;
  } else {
    throw new HandlerConfigError(
      'each child must be a handler from defineHandler, a [handler, overrides] pair or a supervisor(...)',
      'children',
    );
  }
  const applied = applyOverrides(definition, overrides);
  let config = applied.config;
  if (config.init !== undefined) {
    let initialized: HandlerConfig;
    try {
      initialized = await config.init(config);
    } catch (error) {
      throw new HandlerConfigError(`init() of "${config.name}" threw: ${error instanceof Error ? error.message : String(error)}`, 'init', error);
    }
    config = validateHandlerConfig(initialized, `init() of "${config.name}"`);
  }
  if (config.transactional && store.transaction === undefined) {
    throw new HandlerConfigError(
      `handler "${config.name}" is transactional, but the ${store.kind} store has no transactions (use postgresStore)`,
      'transactional',
    );
  }
  return { config, restart: applied.restart };
}

function isSupervisorSpec(child: unknown): child is SupervisorSpec {
  return typeof child === 'object' && child !== null && !Array.isArray(child) && (child as { kind?: unknown }).kind === 'supervisor';
}
