import type { HandlerDefinition, HandlerOverrides } from '../handler/types.ts';
import type { RestartType } from './restart-type.ts';

/** Which children restart when one exits abnormally. */
export type RestartStrategy = 'one_for_one' | 'one_for_all' | 'rest_for_one';

export type { RestartType } from './restart-type.ts';

/** Options of a supervisor (and of `app.start`'s root supervisor). */
export interface SupervisorOptions {
  /** @default 'root' for the app's root, required for nested supervisors */
  name?: string;
  /** @default 'one_for_one' */
  strategy?: RestartStrategy;
  /** Restarts allowed within `withinMs` before the supervisor gives up. @default 3 */
  maxRestarts?: number;
  /** @default 5000 */
  withinMs?: number;
}

/** A child of a supervisor: a handler, a handler with overrides, or a nested supervisor. */
export type ChildSpec = HandlerDefinition | readonly [HandlerDefinition, HandlerOverrides] | SupervisorSpec;

/** A supervisor made by `supervisor(...)`. */
export interface SupervisorSpec {
  readonly kind: 'supervisor';
  readonly name: string;
  readonly strategy: RestartStrategy;
  readonly maxRestarts: number;
  readonly withinMs: number;
  /** Restart type of this supervisor as a child of its parent. @default 'permanent' */
  readonly restart: RestartType;
  readonly children: readonly ChildSpec[];
}

/** How a child ended on its own: `normal` (e.g. `stop('normal')`) or abnormal with a reason. */
export type ChildExit = { readonly kind: 'normal' } | { readonly kind: 'abnormal'; readonly reason: unknown };

/**
 * A running child as its supervisor sees it. Created by a {@link ChildFactory}; it reports its own exit
 * through the callback given at creation (never for a stop its supervisor asked for).
 */
export interface ChildProcess {
  /** Starts the child; rejects if it cannot start (counted as an abnormal exit). */
  start(): Promise<void>;
  /** Stops the child on its supervisor's request; resolves once it has stopped. */
  stop(): Promise<void>;
}

/** Builds a child each time the supervisor (re)starts it. */
export interface ChildFactory {
  /** Unique among its siblings. */
  readonly name: string;
  readonly restart: RestartType;
  create(onExit: (exit: ChildExit) => void): ChildProcess;
}
