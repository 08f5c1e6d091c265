/**
 * Spans from herald's telemetry events: `herald dispatch <stream>` (PRODUCER) around each dispatch, its context
 * written into every event's metadata; `herald handle <handler>` (CONSUMER) per handling attempt, parented to the
 * context the event carries (also from another process). Attributes follow the OpenTelemetry messaging conventions.
 */
import { context, SpanKind, SpanStatusCode, trace, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import type { RecordedEvent } from '../events/types.ts';
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

function recordError(span: Span, error: unknown): void {
  const exception = error instanceof Error ? error : new Error(String(error));
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
}

/** Creates the span listeners over `tracer`. */
export function createTraceListeners(tracer: Tracer): TraceListeners {
  const dispatches = new Map<DispatchStartPayload, Span>();
  /**
   * Per handler, by the event object handed to `handle` (the same in the start, stop and exception payloads of one
   * handling; handlers of one app may share an event object, so the handler's name comes first).
   */
  const handlings = keyedByEvent<Span>();
  /** The attempt the next start of an event is (after a retry). */
  const attempts = keyedByEvent<number>();
  /** The parent context of the last metadata seen: the events of one dispatch (read in a row) share it. */
  let lastParent: { traceparent: unknown; tracestate: unknown; remote: SpanContext | undefined } | undefined;

  function remoteOf(metadata: Readonly<Record<string, unknown>>): SpanContext | undefined {
    const { traceparent, tracestate } = metadata;
    const last = lastParent;
    if (last !== undefined && last.traceparent === traceparent && last.tracestate === tracestate) return last.remote;
    const remote = contextFromMetadata(metadata);
    lastParent = { traceparent, tracestate, remote };
    return remote;
  }

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
            const remote = remoteOf(event.metadata);
      const parent = remote === undefined ? context.active() : trace.setSpanContext(context.active(), remote);
      const attempt = attempts.get(payload) ?? 1;
      attempts.delete(payload);
      handlings.get(payload)?.end();
      handlings.set(payload, tracer.startSpan(`herald handle ${payload.handlerName}`, {
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
            const span = handlings.get(payload);
      if (span === undefined) return;
      handlings.delete(payload);
      span.end();
    },
    handleException(payload) {
            const span = handlings.get(payload);
      if (payload.action === 'retry') attempts.set(payload, payload.attempt + 1);
      if (span === undefined) return;
      handlings.delete(payload);
      span.setAttribute('herald.action', payload.action);
      recordError(span, payload.error);
      span.end();
    },
    endAll() {
      for (const span of [...dispatches.values(), ...handlings.all()]) {
        span.setAttribute('herald.abandoned', true);
        span.end();
      }
      dispatches.clear();
      handlings.clear();
      attempts.clear();
    },
  };
}

/** A map keyed by (handler name, event object). */
interface KeyedByEvent<V> {
  get(key: HandleStartPayload): V | undefined;
  set(key: HandleStartPayload, value: V): void;
  delete(key: HandleStartPayload): void;
  all(): V[];
  clear(): void;
}

function keyedByEvent<V>(): KeyedByEvent<V> {
  const byHandler = new Map<string, Map<RecordedEvent, V>>();
  return {
    get: (key) => byHandler.get(key.handlerName)?.get(key.event),
    set(key, value) {
      let inner = byHandler.get(key.handlerName);
      if (inner === undefined) {
        inner = new Map();
        byHandler.set(key.handlerName, inner);
      }
      inner.set(key.event, value);
    },
    delete(key) {
      byHandler.get(key.handlerName)?.delete(key.event);
    },
    all: () => [...byHandler.values()].flatMap((inner) => [...inner.values()]),
    clear: () => byHandler.clear(),
  };
}
