/**
 * Spans from herald's telemetry events: `herald dispatch <stream>` (PRODUCER) around each dispatch, its context
 * written into every event's metadata; `herald handle <handler>` (CONSUMER) per handling attempt, parented to the
 * context the event carries (also from another process). Attributes follow the OpenTelemetry messaging conventions.
 */
import { context, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { HandleExceptionPayload, HandleStartPayload, HandleStopPayload, DispatchStartPayload } from '../telemetry/types.ts';
import { contextFromMetadata, traceMetadata } from './trace-context.ts';

/** The span side of an instrumentation: one listener per telemetry event, and a way to end what is open. */
export interface TraceListeners {
  dispatchStart(payload: DispatchStartPayload): void;
  dispatchStop(payload: { readonly start: DispatchStartPayload; readonly error: unknown }): void;
  handleStart(payload: HandleStartPayload): void;
  handleStop(payload: HandleStopPayload): void;
  handleException(payload: HandleExceptionPayload): void;
  /** Ends every span still open (the app stopped, or the instrumentation was removed). */
  endAll(): void;
}

const SYSTEM = 'herald';
const keyOf = (payload: HandleStartPayload): string => `${payload.handlerName}\u0000${payload.workerIndex}\u0000${payload.event.eventNumber}`;

function recordError(span: Span, error: unknown): void {
  const exception = error instanceof Error ? error : new Error(String(error));
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
}

/** Creates the span listeners over `tracer`. */
export function createTraceListeners(tracer: Tracer): TraceListeners {
  const dispatches = new Map<DispatchStartPayload, Span>();
  const handlings = new Map<string, Span>();
  /** The attempt the next start of an event is (after a retry). */
  const attempts = new Map<string, number>();

  return {
    dispatchStart(payload) {
      const span = tracer.startSpan(`herald dispatch ${payload.streamId}`, {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': SYSTEM,
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'dispatch',
          'messaging.destination.name': payload.streamId,
          'messaging.batch.message_count': payload.eventCount,
        },
      }, context.active());
      dispatches.set(payload, span);
      Object.assign(payload.metadata, traceMetadata(span.spanContext()));
    },
    dispatchStop({ start, error }) {
      const span = dispatches.get(start);
      if (span === undefined) return;
      dispatches.delete(start);
      if (error !== undefined) recordError(span, error);
      span.end();
    },
    handleStart(payload) {
      const { event } = payload;
      const key = keyOf(payload);
      const remote = contextFromMetadata(event.metadata);
      const parent = remote === undefined ? context.active() : trace.setSpanContext(context.active(), remote);
      const attempt = attempts.get(key) ?? 1;
      attempts.delete(key);
      handlings.get(key)?.end();
      handlings.set(key, tracer.startSpan(`herald handle ${payload.handlerName}`, {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': SYSTEM,
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'handle',
          'messaging.destination.name': event.streamId,
          'messaging.consumer.group.name': payload.handlerName,
          'messaging.message.id': event.eventId,
          'herald.handler': payload.handlerName,
          'herald.event.type': event.type,
          'herald.event.number': event.eventNumber,
          'herald.attempt': attempt,
        },
      }, parent));
    },
    handleStop(payload) {
      const key = keyOf(payload);
      const span = handlings.get(key);
      if (span === undefined) return;
      handlings.delete(key);
      span.end();
    },
    handleException(payload) {
      const key = keyOf(payload);
      const span = handlings.get(key);
      if (payload.action === 'retry') attempts.set(key, payload.attempt + 1);
      if (span === undefined) return;
      handlings.delete(key);
      span.setAttribute('herald.action', payload.action);
      recordError(span, payload.error);
      span.end();
    },
    endAll() {
      for (const span of [...dispatches.values(), ...handlings.values()]) {
        span.setAttribute('herald.abandoned', true);
        span.end();
      }
      dispatches.clear();
      handlings.clear();
      attempts.clear();
    },
  };
}
