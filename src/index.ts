/**
 * herald: supervised, durable event handlers on PostgreSQL, modeled on Elixir's Commanded.
 *
 * @example
 * import { createApp, defineHandler, inMemoryStore } from 'herald';
 *
 * const projector = defineHandler({
 *   name: 'OrderProjector',
 *   consistency: 'strong',
 *   async handle(event) { console.log(event.type, event.data); },
 * });
 * const app = createApp({ store: inMemoryStore() });
 * await app.start([projector]);
 * await app.dispatch('order-1', { type: 'OrderPlaced', data: { total: 42 } }, { consistency: 'strong' });
 * await app.stop();
 *
 * @packageDocumentation
 */

/**
 * Creates an app: handlers under a root supervisor, dispatch, status and telemetry over one store.
 * @example
 * const app = createApp({ store: inMemoryStore(), name: 'shop' });
 */
export { createApp } from './app/create-app.ts';
/** Types of the app: options, dispatch options and result, handler status. */
export type { App, AppOptions, CaughtUpOptions, DispatchOptions, DispatchResult, HandlerStatus, NodeOptions } from './app/types.ts';

/**
 * Defines an app's event types, each with an optional Standard Schema validator (zod 4, valibot, ...), or types
 * alone; `createApp({ events })` validates dispatches with it and `defineHandler({ events, on })` is typed by it.
 * @example
 * const shop = defineEvents({ OrderPlaced: z.object({ orderId: z.string(), total: z.number() }) });
 */
export { defineEvents } from './events/define-events.ts';
/** Typed-event types: the catalog, the shapes, the event an `on` function receives, what dispatch accepts. */
export type { AnyEvents, DispatchEvent, EventCatalog, EventShape, EventShapes, EventValidators, TypedEvent } from './events/define-events.ts';
/** Upcaster types: `createApp({ upcasters })`. */
export type { UpcastEvent, Upcaster, Upcasters } from './events/upcast.ts';
/**
 * Every state `app.status()` reports, in lifecycle order (`HandlerState` is their union).
 * @example
 * const running = app.status().filter((h) => h.state === 'live' || h.state === 'catching_up');
 */
export { handlerStates } from './handler/handler-state.ts';
export type { HandlerState } from './handler/handler-state.ts';
/** Slot ownership as `status()` shows it. */
export type { SlotOwnership } from './handler/slots.ts';

/**
 * Defines a named handler; validates the options at once (`HandlerConfigError`).
 * @example
 * const mailer = defineHandler({ name: 'Mailer', startFrom: 'current', async handle(event) { await send(event) } });
 */
export { defineHandler } from './handler/define.ts';
/**
 * Error actions returned by a handler's `error` callback: `retry(context?)`, `retry(delayMs, context?)`, `skip()`, `stop(reason?)`.
 * @example
 * error(err, event, failure) { return failure.attempt < 3 ? retry(100 * failure.attempt) : skip(); }
 */
export { retry, skip, stop } from './handler/actions.ts';
/**
 * A ready `error` callback with capped exponential backoff and jitter, then `'skip'` or `'stop'`.
 * @example
 * defineHandler({ name: 'Sync', handle, error: backoff({ maxAttempts: 5, baseMs: 100, maxMs: 5000, then: 'skip' }) });
 */
export { backoff } from './handler/backoff.ts';
/** Options of {@link backoff}. */
export type { BackoffOptions } from './handler/backoff.ts';
/** Handler types: options, config, contexts, error actions. */
export type {
  BatchFailureContext,
  BatchHandlerOptions,
  ErrorAction,
  EventHandlerOptions,
  FailureContext,
  HandlerOptionsBase,
  HandlerConfig,
  HandlerConsistency,
  HandlerContext,
  HandlerDefinition,
  HandlerOptions,
  HandlerOverrides,
  OnHandlerOptions,
  OnHandlers,
  PartitionKey,
  StartContext,
  StartFrom,
  StopAction,
} from './handler/types.ts';

/**
 * Groups children under a restart strategy and intensity.
 * @example
 * supervisor({ name: 'projections', strategy: 'one_for_all', children: [a, b] });
 */
export { supervisor } from './supervisor/spec.ts';
/** Supervisor types. */
export type { ChildSpec, RestartStrategy, RestartType, SupervisorOptions, SupervisorSpec } from './supervisor/types.ts';

/**
 * The embedded in-memory store: the default for demos and unit tests.
 * @example
 * const app = createApp({ store: inMemoryStore() });
 */
export { inMemoryStore } from './store/memory.ts';
export type { InMemoryStoreOptions } from './store/memory.ts';
/**
 * The PostgreSQL store: gap-safe log, batched cursors, LISTEN/NOTIFY wake-ups, outbox and inbox, transactions.
 * @example
 * const store = postgresStore({ url: process.env.DATABASE_URL, schema: 'herald' });
 * const app = createApp({ store });
 */
export { postgresStore } from './store/postgres/index.ts';
/** Options and shape of the PostgreSQL store. */
export type { PostgresStore, PostgresStoreOptions } from './store/postgres/index.ts';
/** Store types, for writing or wrapping a store. */
export type {
  AppendRequest,
  AppendResult,
  CursorState,
  DeadLetter,
  EventStore,
  HandlerMembership,
  HandlerRecord,
  HandlerRegistration,
  InFlightNote,
  LabelHolder,
  NodeIdentity,
  ReadRequest,
  ReadResult,
  SlotClaim,
  SlotCursor,
  Suspect,
} from './store/types.ts';

/** Event types. */
export type { EventData, ExpectedVersion, RecordedEvent } from './events/types.ts';

/**
 * herald's errors: one base class with a stable `code`, one subclass per code.
 * @example
 * if (err instanceof WrongExpectedVersionError) { ... }
 */
export {
  ConsistencyTimeoutError,
  HandlerConfigError,
  HandlerStoppedError,
  HandlerTimeoutError,
  HeraldError,
  InvalidEventError,
  LeaseLostError,
  PoisonEventError,
  StoreError,
  SupervisorError,
  WrongExpectedVersionError,
} from './errors.ts';
/** The stable codes of herald's errors, and a validator's issue as `InvalidEventError.issues` holds it. */
export type { EventIssue, HeraldErrorCode } from './errors.ts';

/**
 * Injected time: the system clock and a manual clock for tests.
 * @example
 * const clock = manualClock(); const app = createApp({ clock }); clock.advance(1000);
 */
export { manualClock, systemClock } from './clock.ts';
/** Clock types. */
export type { Clock, ManualClock } from './clock.ts';

/**
 * The `diagnostics_channel` herald publishes a telemetry event on (`herald:<name>`).
 * @example
 * diagnosticsChannel.subscribe(telemetryChannel('handle:exception').name, (payload) => log(payload));
 */
export { telemetryChannel } from './telemetry/emitter.ts';
export type { TelemetryListener } from './telemetry/emitter.ts';

/**
 * The status page as a `(req, res)` handler for `node:http`, Express or Fastify: handlers, lag, slots, dead letters,
 * with replay, delete and reset behind a bearer token (see docs/operations.md).
 * @example
 * import { createServer } from 'node:http';
 * createServer(statusPage({ store, token: process.env.HERALD_TOKEN! })).listen(4680, '127.0.0.1');
 */
export { statusPage } from './ops/status-page.ts';

export type { StatusPageHandler, StatusPageOptions, PageHandlerReport } from './ops/status-page.ts';

/** What `herald status --json` and the status page's `GET /api/status` report. */
export type { HandlerReport, MemberStatus, StatusReport } from './ops/status.ts';

/** Control requests: a reset or replay carried out by the processes running a handler. */
export type { ControlRequest, HandlerOperations, StoreControl } from './store/types.ts';

/** Telemetry payload types, by event name. */
export type {
  DispatchStartPayload,
  DispatchStopPayload,
  HandleExceptionPayload,
  HandlePoisonPayload,
  HandleStartPayload,
  HandleStopPayload,
  BatchExceptionPayload,
  BatchFlushReason,
  BatchStartPayload,
  BatchStopPayload,
  ListenerErrorPayload,
  HandlerStatePayload,
  SupervisorGiveUpPayload,
  SupervisorRestartPayload,
  SupervisorStopErrorPayload,
  SlotsPayload,
  StoreWarningPayload,
  TelemetryEventName,
  TelemetryEvents,
} from './telemetry/types.ts';
