import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** The real OpenTelemetry SDK with in-memory exporters, plus a count of spans started but not ended. */
export interface TestTelemetry {
  readonly tracerProvider: BasicTracerProvider;
  readonly meterProvider: MeterProvider;
  /** Ended spans. */
  spans(): ReadableSpan[];
  /** Spans started and not ended yet. */
  open(): number;
  /** Collects the metrics now: name → data points. */
  metrics(): Promise<Map<string, { attributes: Record<string, unknown>; value: unknown }[]>>;
  shutdown(): Promise<void>;
}

let contextEnabled = false;

/** Creates providers over in-memory exporters (and an async-local-storage context manager, once per process). */
export function testTelemetry(): TestTelemetry {
  if (!contextEnabled) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    contextEnabled = true;
  }
  const exporter = new InMemorySpanExporter();
  const live = new Set<Span>();
  const counting: SpanProcessor = {
    onStart: (span) => void live.add(span),
    onEnd: (span) => void live.delete(span as unknown as Span),
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter), counting] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider,
    meterProvider,
    spans: () => exporter.getFinishedSpans(),
    open: () => live.size,
    async metrics() {
      metricExporter.reset();
      await reader.forceFlush();
      const out = new Map<string, { attributes: Record<string, unknown>; value: unknown }[]>();
      for (const resource of metricExporter.getMetrics()) {
        for (const scope of resource.scopeMetrics) {
          for (const metric of scope.metrics) {
            out.set(metric.descriptor.name, metric.dataPoints.map((point) => ({ attributes: point.attributes, value: point.value })));
          }
        }
      }
      return out;
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}
