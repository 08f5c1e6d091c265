/**
 * OpenTelemetry: instrument an app and print its spans and metrics to the console. A dispatch made inside a request's
 * span gets a PRODUCER span whose context travels in each event's metadata (`traceparent`); the handling is a CONSUMER
 * span of the same trace, also when another process handles it.
 * Run with `npx tsx examples/otel.ts`. Needs `@opentelemetry/api` plus the SDK packages you export with (here
 * `@opentelemetry/sdk-trace-base`, `@opentelemetry/sdk-metrics`, `@opentelemetry/context-async-hooks`).
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createApp, defineHandler, inMemoryStore, retry } from '../src/index.ts';
import { instrument } from '../src/otel/index.ts';   // in an app: import { instrument } from 'herald/otel'

// The SDK set-up an app would do once at start (see the OpenTelemetry docs for OTLP exporters).
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] });
const metricReader = new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 60_000 });
const meterProvider = new MeterProvider({ readers: [metricReader] });

const app = createApp({ store: inMemoryStore(), name: 'shop' });
const stop = instrument(app, { tracerProvider, meterProvider });

let attempts = 0;
const projector = defineHandler({
  name: 'OrderProjector',
  handle(event) {
    if (event.type === 'OrderPlaced' && ++attempts === 1) throw new Error('read model busy');
    console.log(`handled ${event.type}; its metadata carries traceparent ${String(event.metadata.traceparent)}`);
  },
  error: () => retry(),
});
await app.start([projector]);

// As an HTTP framework's instrumentation would: the request's span is active while the route dispatches.
const request = tracerProvider.getTracer('http').startSpan('POST /orders');
await context.with(trace.setSpan(context.active(), request), () =>
  app.dispatch('order-1', [{ type: 'OrderPlaced', data: { total: 30 } }, { type: 'OrderPaid', data: {} }], { consistency: ['OrderProjector'] }));
request.end();
console.log(`request trace id ${request.spanContext().traceId}`);

await metricReader.forceFlush();   // prints herald.handle.duration, herald.handle.failures, herald.dispatch.duration, herald.handler.lag
stop();
await app.stop();
await tracerProvider.shutdown();
await meterProvider.shutdown();
console.log('stopped cleanly');
