import { HandlerConfigError, SupervisorError } from '../errors.ts';
import { createSupervisorProcess, type SupervisorDeps } from './machine.ts';
import type { ResolvedSupervisorOptions } from './spec.ts';
import type { ChildFactory } from './types.ts';

export type { SupervisorDeps } from './machine.ts';

/** The app's root supervisor. */
export interface RootSupervisor {
  /** Starts the children in order; rejects with a {@link SupervisorError} if the root gives up while starting. */
  start(): Promise<void>;
  /** Stops the children in reverse order; idempotent. */
  stop(): Promise<void>;
  /** Resolves after `stop()`; rejects with a {@link SupervisorError} (`cause`: the last failure reason) when the root gives up. */
  readonly done: Promise<void>;
}

/**
 * Turns a supervisor and its children's factories into a factory, so that it can be the child of another
 * supervisor. Each `create` runs a fresh supervisor (empty restart history, while the per-child restart
 * counts reported in telemetry stay totals); when it gives up, it stops its children and reports an abnormal exit with the last failure reason, so that its parent's strategy applies.
 * @throws {HandlerConfigError} when two children share a name.
 * @example
 * const projections = supervisorFactory(spec, [ordersFactory, mailerFactory], { clock, telemetry, app: 'shop' });
 */
export function supervisorFactory(
  spec: ResolvedSupervisorOptions,
  children: readonly ChildFactory[],
  deps: SupervisorDeps,
): ChildFactory {
  const names = new Set<string>();
  for (const child of children) {
    if (names.has(child.name)) throw new HandlerConfigError(`supervisor "${spec.name}" has two children named "${child.name}"`, 'name');
    names.add(child.name);
  }
  const options: ResolvedSupervisorOptions = {
    name: spec.name, strategy: spec.strategy, maxRestarts: spec.maxRestarts, withinMs: spec.withinMs, restart: spec.restart,
  };
  const factories = [...children];
  const restartCounts = new Map<string, number>();
  return {
    name: options.name,
    restart: options.restart,
    create: (onExit) => createSupervisorProcess(options, factories, deps, onExit, restartCounts),
  };
}

/**
 * Creates the app's root supervisor (not started yet: call `start()`). Its `done` reports how it ended.
 * @example
 * const root = startRootSupervisor(resolveSupervisorOptions(options, 'root'), factories, deps);
 * root.done.catch((err) => console.error(err.cause));
 * await root.start();
 */
export function startRootSupervisor(
  spec: ResolvedSupervisorOptions,
  children: readonly ChildFactory[],
  deps: SupervisorDeps,
): RootSupervisor {
  let resolveDone: () => void = () => {};
  let rejectDone: (error: SupervisorError) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // Nobody has to await `done`: a rejection nobody observes must not crash the process.
  done.catch(() => {});
  const fail = (reason: unknown): SupervisorError => {
    const error = new SupervisorError(spec.name, reason);
    rejectDone(error);
    return error;
  };
  const process = supervisorFactory(spec, children, deps).create((exit) => {
    fail(exit.kind === 'abnormal' ? exit.reason : 'normal');
  });
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  return {
    done,
    start() {
      starting ??= process.start().catch((reason: unknown) => {
        throw fail(reason);
      });
      return starting;
    },
    stop() {
      stopping ??= process.stop().then(resolveDone);
      return stopping;
    },
  };
}
