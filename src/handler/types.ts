import type { TransactionSql } from 'postgres';
import type { AnyEvents, EventCatalog, EventShapes, TypedEvent } from '../events/define-events.ts';
import type { RecordedEvent } from '../events/types.ts';
import type { RestartType } from '../supervisor/restart-type.ts';

/** Where a handler's cursor starts the first time it is created: `'origin'`, `'current'`, or "after event N". */
export type StartFrom = 'origin' | 'current' | number;

/** `'strong'` handlers are waited for by strong dispatches. */
export type HandlerConsistency = 'eventual' | 'strong';

/** A partition key returned by `partitionBy`: same key, same worker, in order. */
export type PartitionKey = string | number;

/** What a handler's `handle` (and `partitionBy`) receives besides the event. */
export interface HandlerContext<S = unknown> {
  /** The handler's (possibly `init`-renamed) name. */
  readonly handlerName: string;
  /** This worker's transient state (each worker starts from the handler's `state`). */
  readonly state: S;
  /** 0-based index of the worker handling the event. */
  readonly workerIndex: number;
  /** The key `partitionBy` returned, or `undefined`. */
  readonly partition: PartitionKey | undefined;
  /** The app's name. */
  readonly app: string;
  /** PostgreSQL store with `transactional: true`: the transaction the cursor advance commits in. */
  readonly sql?: TransactionSql | undefined;
}

/** What `afterStart` receives. */
export interface StartContext<S = unknown> {
  readonly handlerName: string;
  readonly app: string;
  readonly state: S;
}

/** Details of a failure, passed to `error`. */
export interface FailureContext<S = unknown> {
  /** Failures of this event so far, starting at 1. */
  readonly attempt: number;
  /** The context given to the last `retry`, `{}` on the first failure of each event. */
  readonly context: Record<string, unknown>;
  readonly error: unknown;
  readonly handlerName: string;
  readonly state: S;
  readonly event: RecordedEvent;
}

/** Details of a batch handler's failure, passed to its `error`: the failed batch in `events` (`event`: its first). */
export interface BatchFailureContext<S = unknown> extends FailureContext<S> {
  /** The batch `handleBatch` failed on, in order. */
  readonly events: readonly RecordedEvent[];
}

/** What `error` returns: built with {@link retry}, {@link skip} or {@link stop}. */
export type ErrorAction =
  | { readonly action: 'retry'; readonly delayMs: number; readonly context: Record<string, unknown> }
  | { readonly action: 'skip' }
  | { readonly action: 'stop'; readonly reason: unknown };

/** A `stop(reason)` value, also accepted from `afterStart`. */
export type StopAction = Extract<ErrorAction, { action: 'stop' }>;

/** What `handle` may return: `{ state }` replaces the worker's state; anything else is ignored. */
export type HandleResult<S> = { state: S } | void | undefined | unknown;

/** The options every handler takes, whether it handles one event per call or a batch. */
export interface HandlerOptionsBase<S = unknown> {
  /** Unique per app; keys the persisted cursor. Never rename once deployed. */
  name: string;
  /** @default 'origin' */
  startFrom?: StartFrom;
  /** `'$all'` or one stream id. @default '$all' */
  subscribeTo?: string;
  /** Number of workers. @default 1 */
  concurrency?: number;
  /** @default 'eventual' */
  consistency?: HandlerConsistency;
  /** Initial transient state of each worker, lost on restart. */
  state?: S;
  /** A `handle` running longer fails with `HandlerTimeoutError`. @default undefined (no limit) */
  timeoutMs?: number | undefined;
  /** PostgreSQL store: `ctx.sql`, effects and cursor commit together. @default false */
  transactional?: boolean;
  /**
   * An event in flight each of this many times the handler's process died (`process.exit`, out of memory, a native
   * fault), without the cursor moving past it, is dead-lettered with a `PoisonEventError` instead of handed over
   * again; 0 turns this off (see docs/error-handling.md, "Events that crash the process"). A non-negative integer.
   * @default 3
   */
  crashLimit?: number | undefined;
  /** Same key, same worker, in order. Throwing routes to `error` like a failing `handle`. */
  partitionBy?: (event: RecordedEvent, ctx: HandlerContext<S>) => PartitionKey;
  /**
   * With `partitionBy`: how many slots the keys are hashed into; each slot is owned by one process at a time
   * and keeps its own cursor (see docs/scaling.md). Changing it later needs every process of the handler stopped.
   * @default 64 with partitionBy (without it the handler is one slot)
   */
  slots?: number | undefined;
  /** Once when `app.start` starts the handler; may return a changed config (e.g. a per-tenant name). */
  init?: (config: HandlerConfig<S>) => HandlerConfig<S> | Promise<HandlerConfig<S>>;
  /** Once per start, before any event; may return `{ state }` or `stop(reason)`. */
  afterStart?: (ctx: StartContext<S>) => { state: S } | StopAction | void | Promise<{ state: S } | StopAction | void>;
  /** Before `app.reset` moves the cursor back. */
  beforeReset?: () => void | Promise<void>;
}

/** Options of a handler that handles one event per call (`handle`). */
export interface EventHandlerOptions<S = unknown> extends HandlerOptionsBase<S> {
  /** Handles one event. Return `{ state: next }` to change the worker's state. Exclusive with `on`. */
  handle: (event: RecordedEvent, ctx: HandlerContext<S>) => unknown;
  /** The event catalog from `defineEvents` that types `on` (and whose types `on` keys must be). */
  events?: EventCatalog<EventShapes> | undefined;
  /** Not with `handle`: see {@link OnHandlerOptions}. */
  on?: undefined;
  /** Decides what a failure means. Default: `stop(error)`. */
  error?: (error: unknown, event: RecordedEvent, failure: FailureContext<S>) => ErrorAction | Promise<ErrorAction>;
  handleBatch?: never;
  batchSize?: never;
  batchTimeoutMs?: never;
}

/** Options of a batch handler (`handleBatch`): see docs/handlers.md, "Batch handlers". */
export interface BatchHandlerOptions<S = unknown> extends HandlerOptionsBase<S> {
  /**
   * Handles consecutive events of one worker, in order (with `partitionBy`: each key in order). When it resolves,
   * every event of the batch is acknowledged. Return `{ state: next }` to change the worker's state.
   */
  handleBatch: (events: readonly RecordedEvent[], ctx: HandlerContext<S>) => unknown;
  /** Most events per `handleBatch` call: an integer ≥ 1. @default 100 */
  batchSize?: number | undefined;
  /** While live, wait up to this long for a batch to fill (0: a batch is whatever arrived). @default 0 */
  batchTimeoutMs?: number | undefined;
  /** Decides what a failed batch means: `retry` (the same batch), `skip()` (one dead letter per event) or `stop`. Default: `stop(error)`. */
  error?: (error: unknown, events: readonly RecordedEvent[], failure: BatchFailureContext<S>) => ErrorAction | Promise<ErrorAction>;
  /** The handler's event catalog, if any (a batch handler receives every type: no `on`). */
  events?: EventCatalog<EventShapes> | undefined;
  handle?: never;
  on?: never;
}

/** Handler options, as given to {@link defineHandler}: `handle` (one event per call) or `handleBatch`. */
export type HandlerOptions<S = unknown> = EventHandlerOptions<S> | BatchHandlerOptions<S>;

/**
 * The functions of a handler's `on`, one per event type: each receives the event with `type` and `data`
 * narrowed to that type (typed by the handler's `events`; without `events`, any type with `unknown` data).
 */
export type OnHandlers<E extends EventShapes, S = unknown> = string extends keyof E
  ? { readonly [type: string]: ((event: RecordedEvent, ctx: HandlerContext<S>) => unknown) | undefined }
  : { readonly [K in keyof E & string]?: (event: TypedEvent<E, K>, ctx: HandlerContext<S>) => unknown };

/**
 * Options of a handler that handles events by type (`on`) instead of `handle`: it receives only events of those
 * types (after upcasting), read with a type filter; every other option works as with `handle`.
 */
export type OnHandlerOptions<E extends EventShapes = AnyEvents, S = unknown> = Omit<EventHandlerOptions<S>, 'handle' | 'on' | 'events'> & {
  /** The event catalog from `defineEvents`: types `on` and names the types it may list. */
  events?: EventCatalog<E> | undefined;
  /** One function per event type; return `{ state: next }` to change the worker's state. */
  on: OnHandlers<E, S>;
  /** Not with `on`. */
  handle?: undefined;
};

/**
 * A handler's `on` as the runtime sees it. Its functions are typed as methods (bivariant in `ctx`), as the other
 * callbacks of a config are, so that a handler of a specific state type stands where one of `unknown` state does.
 */
export type OnMap<S = unknown> = { readonly [type: string]: OnFunction<S> | undefined };

/** One function of an {@link OnMap}. */
export type OnFunction<S = unknown> = { handle(event: RecordedEvent, ctx: HandlerContext<S>): unknown }['handle'];

/**
 * A validated handler configuration with defaults applied. Callbacks are declared as methods so that a
 * handler with a specific state type can stand wherever a handler of `unknown` state is expected.
 */
export interface HandlerConfig<S = unknown> {
  readonly name: string;
  readonly startFrom: StartFrom;
  readonly subscribeTo: string;
  readonly concurrency: number;
  readonly consistency: HandlerConsistency;
  readonly state: S | undefined;
  readonly timeoutMs: number | undefined;
  readonly transactional: boolean;
  /** Crashes with an event in flight before it is parked; 0: off. */
  readonly crashLimit: number;
  /** As given; see `slotCountOf` for the count in effect. */
  readonly slots?: number | undefined;
  partitionBy?(event: RecordedEvent, ctx: HandlerContext<S>): PartitionKey;
  init?(config: HandlerConfig<S>): HandlerConfig<S> | Promise<HandlerConfig<S>>;
  afterStart?(ctx: StartContext<S>): { state: S } | StopAction | void | Promise<{ state: S } | StopAction | void>;
  beforeReset?(): void | Promise<void>;
  /** Set for a handler of one event per call (with `on`, a function that calls `on[event.type]`). */
  handle?(event: RecordedEvent, ctx: HandlerContext<S>): unknown;
  /** Set for a batch handler (then `batchSize` and `batchTimeoutMs` are set too). */
  handleBatch?(events: readonly RecordedEvent[], ctx: HandlerContext<S>): unknown;
  readonly batchSize?: number | undefined;
  readonly batchTimeoutMs?: number | undefined;
  /** The handler's event catalog, if given. */
  readonly events?: EventCatalog<EventShapes> | undefined;
  /** The handler's `on`, if it has one: it then reads only these types (and those with an upcaster). */
  readonly on?: OnMap<S> | undefined;
  /** Called as `(error, event, failure)` for `handle`, `(error, events, batchFailure)` for `handleBatch`. */
  error?(
    error: unknown,
    subject: RecordedEvent & readonly RecordedEvent[],
    failure: FailureContext<S> & BatchFailureContext<S>,
  ): ErrorAction | Promise<ErrorAction>;
}

/** A handler made by {@link defineHandler}: pass it to `app.start` or `supervisor({ children })`. */
export interface HandlerDefinition<S = unknown> {
  readonly kind: 'handler';
  readonly config: HandlerConfig<S>;
}

/** Options a `[handler, overrides]` child may change, plus its restart type. */
export interface HandlerOverrides {
  startFrom?: StartFrom;
  subscribeTo?: string;
  concurrency?: number;
  consistency?: HandlerConsistency;
  state?: unknown;
  timeoutMs?: number | undefined;
  transactional?: boolean;
  crashLimit?: number | undefined;
  /** @default 'permanent' */
  restart?: RestartType;
}
