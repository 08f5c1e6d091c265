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

/** Every telemetry event herald emits, by `app.on` name. The `diagnostics_channel` name is `herald:<name>`. */
export interface TelemetryEvents {
  'handle:start': HandleStartPayload;
  'handle:stop': HandleStopPayload;
  'handle:exception': HandleExceptionPayload;
  'handler:state': HandlerStatePayload;
  'supervisor:restart': SupervisorRestartPayload;
  'supervisor:giveup': SupervisorGiveUpPayload;
  'supervisor:stop_error': SupervisorStopErrorPayload;
  'store:warning': StoreWarningPayload;
  /** This node claimed slots (free ones, or expired ones: then `slots:takeover` follows). */
  'slots:acquire': SlotsPayload;
  /** This node gave slots up (rebalancing, stop). */
  'slots:release': SlotsPayload;
  /** Slots this node claimed had an expired lease of another node (that node died or lost the database). */
  'slots:takeover': SlotsPayload;
  /** This node stopped handling slots it no longer holds (its lease lapsed, or the handler was reset elsewhere). */
  'slots:lost': SlotsPayload;
}

/** A telemetry event name. */
export type TelemetryEventName = keyof TelemetryEvents;
