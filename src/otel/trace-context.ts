/**
 * W3C trace context in event metadata: `metadata.traceparent` (`00-<trace id>-<span id>-<flags>`) and
 * `metadata.tracestate`, read and written without a global propagator (so it works whatever the app registered).
 */
import { createTraceState, isSpanContextValid, type SpanContext } from '@opentelemetry/api';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/** The metadata entries carrying `context`; empty when it is not a valid span context. */
export function traceMetadata(context: SpanContext): Record<string, string> {
  if (!isSpanContextValid(context)) return {};
  const flags = (context.traceFlags & 0xff).toString(16).padStart(2, '0');
  const entries: Record<string, string> = { traceparent: `00-${context.traceId}-${context.spanId}-${flags}` };
  const state = context.traceState?.serialize();
  if (state !== undefined && state !== '') entries.tracestate = state;
  return entries;
}

/** The remote span context an event's metadata carries, if it carries a valid one. */
export function contextFromMetadata(metadata: Readonly<Record<string, unknown>>): SpanContext | undefined {
  const parent = metadata.traceparent;
  if (typeof parent !== 'string') return undefined;
  const match = TRACEPARENT.exec(parent.trim().toLowerCase());
  if (match === null || match[1] === 'ff') return undefined;
  const state = metadata.tracestate;
  const context: SpanContext = {
    traceId: match[2] as string,
    spanId: match[3] as string,
    traceFlags: Number.parseInt(match[4] as string, 16) & 1,
    isRemote: true,
    ...(typeof state === 'string' && state !== '' ? { traceState: createTraceState(state) } : {}),
  };
  return isSpanContextValid(context) ? context : undefined;
}
