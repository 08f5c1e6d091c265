import type { RecordedEvent } from '../events/types.ts';
import type { HandlerState } from '../handler/handler-state.ts';

/** Payload of `handle:start`. */
export interface HandleStartPayload {
  readonly app: string;
  readonly handlerName: string;
  readonly workerIndex: number;
  readonly event: RecordedEvent;
  readonly state: unknown;
}

/** Payload of `handle:stop`. */
export interface HandleStopPayload extends HandleStartPayload {
  readonly durationMs: number;
}

/** Payload of `handle:exception`. */
export interface HandleExceptionPayload extends HandleStopPayload {
  readonly error: unknown;
  readonly attempt: number;
  readonly action: 'retry' | 'skip' | 'stop';
}

/** Payload of `handle:poison`: an event was parked (dead-lettered with a `PoisonEventError`) instead of handed over. */
export interface HandlePoisonPayload {
  readonly app: string;
  readonly handlerName: string;
  readonly workerIndex: number;
  /** The event as stored. */
  readonly event: RecordedEvent;
  /** How many times the process died with it in flight. */
  readonly crashes: number;
  /** The `PoisonEventError` its dead letter records. */
  readonly error: unknown;
}

/** Why a batch was handed to `handleBatch`: it reached `batchSize`, `batchTimeoutMs` passed, or it was what there was. */
export type BatchFlushReason = 'size' | 'timeout' | 'immediate';

/** Payload of `batch:start`. */
export interface BatchStartPayload {
  readonly app: string;
  readonly handlerName: string;
  readonly workerIndex: number;
  /** The batch, in order. */
  readonly events: readonly RecordedEvent[];
  readonly state: unknown;
}

/** Payload of `batch:stop`. */
export interface BatchStopPayload extends BatchStartPayload {
  readonly durationMs: number;
  readonly flushReason: BatchFlushReason;
}

/** Payload of `batch:exception`. */
export interface BatchExceptionPayload extends BatchStopPayload {
  readonly error: unknown;
  readonly attempt: number;
  readonly action: 'retry' | 'skip' | 'stop';
}

/** Payload of `handler:state`. */
export interface HandlerStatePayload {
  readonly app: string;
  readonly handlerName: string;
  readonly from: HandlerState;
  readonly to: HandlerState;
}

/** Payload of `supervisor:restart`. */
export interface SupervisorRestartPayload {
  readonly app: string;
  readonly supervisor: string;
  readonly child: string;
  readonly reason: unknown;
  readonly restarts: number;
}

/** Payload of `supervisor:giveup`: a supervisor exceeded its restart intensity. */
export interface SupervisorGiveUpPayload {
  readonly app: string;
  readonly supervisor: string;
  readonly reason: unknown;
}

/** Payload of `supervisor:stop_error`: a child's `stop()` failed while its supervisor stopped it (the error is swallowed). */
export interface SupervisorStopErrorPayload {
  readonly app: string;
  readonly supervisor: string;
  readonly child: string;
  readonly error: unknown;
}

/** Payload of `store:warning`: a handler's read or cursor save failed and is being retried (e.g. the database restarts). */
export interface StoreWarningPayload {
  readonly app: string;
  readonly message: string;
  readonly detail?: Record<string, unknown>;
}

/** Payload of `slots:acquire`, `slots:release`, `slots:takeover` and `slots:lost`. */
export interface SlotsPayload {
  readonly app: string;
  readonly handlerName: string;
  /** This process (node) id and label. */
  readonly node: string;
  readonly nodeLabel: string;
  readonly slots: readonly number[];
  /** `slots:takeover`: the node whose expired lease was taken over. `slots:lost`: why. */
  readonly from?: string | undefined;
  readonly reason?: string | undefined;
}

/** Payload of `telemetry:listener_error`: a listener of `event` (an `app.on` listener or a channel subscriber) threw. */
export interface ListenerErrorPayload {
  readonly app: string;
  /** The event whose listener threw. */
  readonly event: TelemetryEventName;
  readonly error: unknown;
}

/**
 * Payload of `dispatch:start`, published synchronously when `app.dispatch` is called (so a listener sees the caller's
 * async context). A listener may add string entries to `metadata`: they are written into every event of the dispatch
 * (over the event's own entries of the same name). Instrumentation uses it for `traceparent` / `tracestate`.
 */
export interface DispatchStartPayload {
  readonly app: string;
  readonly streamId: string;
  readonly eventCount: number;
  readonly metadata: Record<string, string>;
}

/** Payload of `dispatch:stop`: the dispatch ended (`error` set when it rejected). */
export interface DispatchStopPayload {
  readonly app: string;
  readonly streamId: string;
  readonly eventCount: number;
  readonly durationMs: number;
  /** What the dispatch rejected with; `undefined` when it succeeded. */
  readonly error: unknown;
  /** The `dispatch:start` payload of the same dispatch (the same object). */
  readonly start: DispatchStartPayload;
}

/** Every telemetry event herald emits, by `app.on` name. The `diagnostics_channel` name is `herald:<name>`. */
export interface TelemetryEvents {
  'handle:start': HandleStartPayload;
  'handle:stop': HandleStopPayload;
  'handle:exception': HandleExceptionPayload;
  /** An event that was in flight each of `crashLimit` times the process died was dead-lettered, not handed over. */
  'handle:poison': HandlePoisonPayload;
  /** A batch handler's `handleBatch` is called. */
  'batch:start': BatchStartPayload;
  /** `handleBatch` resolved: every event of the batch is acknowledged (a transactional batch: once it commits). */
  'batch:stop': BatchStopPayload;
  /** `handleBatch` failed and `error` decided. */
  'batch:exception': BatchExceptionPayload;
  'handler:state': HandlerStatePayload;
  'supervisor:restart': SupervisorRestartPayload;
  'supervisor:giveup': SupervisorGiveUpPayload;
  'supervisor:stop_error': SupervisorStopErrorPayload;
  'store:warning': StoreWarningPayload;
  'dispatch:start': DispatchStartPayload;
  'dispatch:stop': DispatchStopPayload;
  /** This node claimed slots (free ones, or expired ones: then `slots:takeover` follows). */
  'slots:acquire': SlotsPayload;
  /** This node gave slots up (rebalancing, stop). */
  'slots:release': SlotsPayload;
  /** Slots this node claimed had an expired lease of another node (that node died or lost the database). */
  'slots:takeover': SlotsPayload;
  /** This node stopped handling slots it no longer holds (its lease lapsed, or the handler was reset elsewhere). */
  'slots:lost': SlotsPayload;
  /** A telemetry listener threw; the runtime went on (a listener of this event that throws is not reported). */
  'telemetry:listener_error': ListenerErrorPayload;
}

/** A telemetry event name. */
export type TelemetryEventName = keyof TelemetryEvents;
