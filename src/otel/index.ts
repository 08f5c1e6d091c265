/**
 * `herald/otel`: OpenTelemetry traces and metrics for a herald app, built on its telemetry events (nothing is
 * published, so nothing is paid, until `instrument` subscribes). Needs `@opentelemetry/api` (an optional peer
 * dependency of herald) and an SDK configured by the app. See docs/operations.md.
 */
import { metrics, trace, type MeterProvider, type TracerProvider } from '@opentelemetry/api';
import type { App } from '../app/types.ts';
import { createMetricListeners } from './metrics.ts';
import { createTraceListeners } from './traces.ts';

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Where spans go. @default the global tracer provider */
  readonly tracerProvider?: TracerProvider | undefined;
  /** Where metrics go. @default the global meter provider */
  readonly meterProvider?: MeterProvider | undefined;
}

/** Removes the instrumentation (ending any span still open). Idempotent. */
export type StopInstrumentation = () => void;

const SCOPE = 'herald';
const VERSION = '0.1.0';
const instrumented = new WeakMap<App, StopInstrumentation>();

/**
 * Instruments `app`: a PRODUCER span per dispatch whose context goes into each event's `metadata.traceparent` /
 * `tracestate`, a CONSUMER span per handling attempt parented to it (in whichever process handles it), and the
 * metrics `herald.handler.lag`, `herald.handle.duration`, `herald.handle.failures`, `herald.dispatch.duration`.
 * A second call on the same app returns the first call's stop function and changes nothing. When the app stops,
 * spans still open are ended (marked `herald.abandoned`).
 * @example
 * import { instrument } from 'herald/otel';
 * const stop = instrument(app, { tracerProvider, meterProvider });
 */
export function instrument(app: App, options: InstrumentOptions = {}): StopInstrumentation {
  const existing = instrumented.get(app);
  if (existing !== undefined) return existing;
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE, VERSION);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE, VERSION);
  const spans = createTraceListeners(tracer);
  const measures = createMetricListeners(meter, app);
  const unsubscribe = [
    app.on('dispatch:start', (payload) => spans.dispatchStart(payload)),
    app.on('dispatch:stop', (payload) => {
      spans.dispatchStop(payload);
      measures.dispatchStop(payload);
    }),
    app.on('handle:start', (payload) => spans.handleStart(payload)),
    app.on('handle:stop', (payload) => {
      spans.handleStop(payload);
      measures.handleStop(payload);
    }),
    app.on('handle:exception', (payload) => {
      spans.handleException(payload);
      measures.handleException(payload);
    }),
  ];
  let stopped = false;
  const stop: StopInstrumentation = () => {
    if (stopped) return;
    stopped = true;
    for (const off of unsubscribe) off();
    measures.close();
    spans.endAll();
  };
  // A stopped app leaves no span open: those abandoned by its drain end here.
  app.done.then(() => spans.endAll(), () => spans.endAll());
  instrumented.set(app, stop);
  return stop;
}
