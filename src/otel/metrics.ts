/**
 * Metrics from herald's telemetry events: `herald.handle.duration` (histogram, ms), `herald.handle.failures`
 * (counter, with `herald.action`), `herald.dispatch.duration` (histogram, ms) and `herald.handler.lag` (gauge,
 * events, observed from `app.status()` when the reader collects), each with `herald.handler` where it applies.
 */
import type { Meter } from '@opentelemetry/api';
import type { App } from '../app/types.ts';
import type { DispatchStopPayload, HandleExceptionPayload, HandleStopPayload } from '../telemetry/types.ts';

/** The metric side of an instrumentation. */
export interface MetricListeners {
  handleStop(payload: HandleStopPayload): void;
  handleException(payload: HandleExceptionPayload): void;
  dispatchStop(payload: DispatchStopPayload): void;
  /** Stops observing the lag gauge. */
  close(): void;
}

/** Creates the instruments on `meter`; the lag gauge reads `app.status()`. */
export function createMetricListeners(meter: Meter, app: App): MetricListeners {
  const handleDuration = meter.createHistogram('herald.handle.duration', { unit: 'ms', description: 'Time handle took per attempt' });
  const failures = meter.createCounter('herald.handle.failures', { unit: '{failure}', description: 'Failed handling attempts, by the action error() chose' });
  const dispatchDuration = meter.createHistogram('herald.dispatch.duration', { unit: 'ms', description: 'Time app.dispatch took (strong waits included)' });
  const lag = meter.createObservableGauge('herald.handler.lag', { unit: '{event}', description: 'Events stored after the handler\'s cursor' });
  const observe = (result: { observe(value: number, attributes: Record<string, string>): void }): void => {
    for (const status of app.status()) result.observe(status.lag, { 'herald.handler': status.name });
  };
  lag.addCallback(observe);
  return {
    handleStop(payload) {
      handleDuration.record(payload.durationMs, { 'herald.handler': payload.handlerName });
    },
    handleException(payload) {
      handleDuration.record(payload.durationMs, { 'herald.handler': payload.handlerName });
      failures.add(1, { 'herald.handler': payload.handlerName, 'herald.action': payload.action });
    },
    dispatchStop(payload) {
      dispatchDuration.record(payload.durationMs, { 'messaging.destination.name': payload.streamId, ...(payload.error === undefined ? {} : { 'error.type': errorType(payload.error) }) });
    },
    close() {
      lag.removeCallback(observe);
    },
  };
}

function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') return (error as { code: string }).code;
  return error instanceof Error ? error.name : 'unknown';
}
