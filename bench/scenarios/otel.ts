/**
 * OpenTelemetry overhead: catch-up of a stored log by one no-op handler with `instrument(app)` (real SDK: a span per
 * handling through a BatchSpanProcessor to an exporter that drops them, metrics on a MeterProvider) against the same
 * handler without it, in the same rounds.
 */
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { instrument } from '../../src/otel/index.ts';
import { connect } from '../db.ts';
import { seed, store, timeCatchUp } from '../herald.ts';
import { roundLog } from '../rounds.ts';
import { buildRow, perSecond } from '../stats.ts';
import type { Row, Scenario } from '../types.ts';

const SCENARIO = 'OpenTelemetry overhead';

/** An exporter that drops every span (the cost measured is herald's and the SDK's, not a backend's). */
const dropping: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => {},
};

export const otel: Scenario = {
  name: 'otel',
  title: SCENARIO,
  timeoutMs: 10 * 60_000,
  async run(ctx) {
    const total = ctx.quick ? 3000 : 100_000;
    const timeoutMs = ctx.quick ? 20_000 : 5 * 60_000;
    const db = await ctx.freshDatabase('otel');
    const sql = connect(db.url);
    try {
      const log = store(sql, 'herald');
      await log.migrate();
      ctx.log(`seeding ${total} events`);
      await seed(log, { total, streams: Math.max(10, total / 200), perAppend: 100, parallel: 4 });
      await log.close();
      await sql`vacuum analyze`;
      const figures = roundLog((name, round, value) => ctx.log(`round ${round + 1}: ${name} ${Math.round(value)} ev/s`));
      for (let round = 0; round < ctx.rounds; round++) {
        await figures.run(round, [
          ['off', async () => perSecond(total, await timeCatchUp({ sql, schema: 'herald', name: `off-${round}`, count: total, timeoutMs }))],
          ['on', async () => {
            const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropping, { maxQueueSize: 8192, maxExportBatchSize: 2048 })] });
            const meterProvider = new MeterProvider();
            try {
              return perSecond(total, await timeCatchUp({
                sql, schema: 'herald', name: `on-${round}`, count: total, timeoutMs,
                prepare: (app) => void instrument(app, { tracerProvider, meterProvider }),
              }));
            } finally {
              await tracerProvider.shutdown();
              await meterProvider.shutdown();
            }
          }],
        ]);
      }
      const rows: Row[] = [
        buildRow({
          scenario: SCENARIO, label: `${total.toLocaleString('en')} events, no-op handler, instrumented`, unit: 'ev/s', higherIsBetter: true,
          herald: figures.values('on'), baseline: { name: 'not instrumented', values: figures.values('off') },
          note: 'a CONSUMER span per event (BatchSpanProcessor, dropping exporter) and the handle.duration histogram',
        }),
      ];
      return { rows, remarks: [] };
    } finally {
      await sql.end({ timeout: 5 });
      await db.drop();
    }
  },
};
