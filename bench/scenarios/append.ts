/**
 * Scenario 2, append: `app.dispatch` throughput with single events and batches of 100, from 1 and 8
 * concurrent callers, against a raw INSERT of the same rows into a table shaped like herald's events (unique event
 * id, primary key on stream and version), and single events against Emmett's `appendToStream` too.
 */
import { monotonicFactory } from 'ulid';
import type { Sql } from 'postgres';
import { createApp } from '../../src/index.ts';
import type { App, EventData } from '../../src/index.ts';
import { connect } from '../db.ts';
import { openEmmett } from '../emmett.ts';
import { payload, stopQuietly, store } from '../herald.ts';
import { createRawEventsTable, rawInsert, type RawEventRow } from '../raw.ts';
import { roundLog } from '../rounds.ts';
import { buildRow, perSecond } from '../stats.ts';
import { ratioAtLeast, target } from '../targets.ts';
import { now, runPool } from '../timing.ts';
import type { Row, Scenario } from '../types.ts';

const SCENARIO = 'Append';
const STREAMS_PER_CALLER = 20;

interface Case {
  readonly key: string;
  readonly perCall: number;
  readonly callers: number;
  readonly events: number;
}

/** Runs `calls` calls over `callers` lanes, each caller writing to its own streams; returns events/s. */
async function drive(c: Case, call: (stream: string, callIndex: number) => Promise<void>): Promise<number> {
  const calls = c.events / c.perCall;
  const perCaller = calls / c.callers;
  const started = now();
  await Promise.all(
    Array.from({ length: c.callers }, (_, caller) =>
      runPool(perCaller, 1, (i) => call(`c${caller}-s${i % STREAMS_PER_CALLER}`, caller * perCaller + i)),
    ),
  );
  return perSecond(c.events, now() - started);
}

function heraldAppend(app: App, c: Case, round: number): Promise<number> {
  return drive(c, async (stream, callIndex) => {
    const events: EventData[] = Array.from({ length: c.perCall }, (_, k) => ({ type: 'OrderPlaced', data: payload(callIndex * c.perCall + k) }));
    await app.dispatch(`${c.key}-r${round}-${stream}`, c.perCall === 1 ? (events[0] as EventData) : events);
  });
}

function rawAppend(sql: Sql, c: Case, round: number): Promise<number> {
  const newId = monotonicFactory();
  const versions = new Map<string, number>();
  return drive(c, async (stream, callIndex) => {
    const streamId = `${c.key}-r${round}-${stream}`;
    const first = versions.get(streamId) ?? 0;
    versions.set(streamId, first + c.perCall);
    const rows: RawEventRow[] = Array.from({ length: c.perCall }, (_, k) => ({
      stream_id: streamId,
      stream_version: first + k + 1,
      event_id: newId(),
      type: 'OrderPlaced',
      data: JSON.stringify(payload(callIndex * c.perCall + k)),
      metadata: '{}',
    }));
    await rawInsert(sql, rows);
  });
}

/** Emmett's `appendToStream` (node-postgres pool) with the same calls; only for single events. */
function emmettAppend(eventStore: Awaited<ReturnType<typeof openEmmett>>, c: Case, round: number): Promise<number> {
  return drive(c, async (stream, callIndex) => {
    await eventStore.appendToStream(`${c.key}-r${round}-${stream}`, [{ type: 'OrderPlaced', data: payload(callIndex) }]);
  });
}

export const append: Scenario = {
  name: 'append',
  title: SCENARIO,
  timeoutMs: 10 * 60_000,
  async run(ctx) {
    const singles = ctx.quick ? 160 : 4000;
    const batched = ctx.quick ? 1600 : 80_000;
    const cases: Case[] = [
      { key: 'single-1', perCall: 1, callers: 1, events: singles },
      { key: 'single-8', perCall: 1, callers: 8, events: singles * 2 },
      { key: 'batch-1', perCall: 100, callers: 1, events: batched },
      { key: 'batch-8', perCall: 100, callers: 8, events: batched },
    ];
    const db = await ctx.freshDatabase('append');
    const emmettDb = await ctx.freshDatabase('append-emmett');
    const emmett = await openEmmett(emmettDb.url);
    // Ten connections: postgres.js's default, enough for 8 callers (+ the sequencer's own statements).
    const sql = connect(db.url, 10);
    const app = createApp({ store: store(sql, 'herald'), name: 'append' });
    try {
      await app.start([]);
      await createRawEventsTable(sql);
      // Warm-up, not recorded: prepared statements, the JIT and the buffer cache of both sides.
      for (const c of cases) {
        const warm = { ...c, key: `warm-${c.key}`, events: Math.max(c.perCall * c.callers, c.events / 10) };
        await rawAppend(sql, warm, 0);
        await heraldAppend(app, warm, 0);
        if (c.perCall === 1) await emmettAppend(emmett, warm, 0);
      }
      const figures = roundLog((name, round, value) => ctx.log(`round ${round + 1}: ${name} ${Math.round(value)} ev/s`));
      for (let round = 0; round < ctx.rounds; round++) {
        for (const c of cases) {
          await figures.run(round, [
            [`raw ${c.key}`, () => rawAppend(sql, c, round)],
            [`herald ${c.key}`, () => heraldAppend(app, c, round)],
            ...(c.perCall === 1 ? ([[`emmett ${c.key}`, () => emmettAppend(emmett, c, round)]] as const) : []),
          ]);
        }
      }
      const label = (c: Case): string =>
        `${c.perCall === 1 ? 'single events' : `batches of ${c.perCall}`}, ${c.callers} caller${c.callers > 1 ? 's' : ''}`;
      const rows: Row[] = cases.flatMap((c) => [
        buildRow({
          scenario: SCENARIO,
          label: label(c),
          unit: 'ev/s',
          higherIsBetter: true,
          herald: figures.values(`herald ${c.key}`),
          baseline: { name: `raw INSERT of ${c.perCall} row${c.perCall > 1 ? 's' : ''}`, values: figures.values(`raw ${c.key}`) },
          target: target(ratioAtLeast(c.perCall > 1 ? 0.9 : 0.6)),
        }),
        ...(c.perCall === 1
          ? [
              buildRow({
                scenario: SCENARIO,
                label: `${label(c)}, vs Emmett`,
                unit: 'ev/s',
                higherIsBetter: true,
                herald: figures.values(`herald ${c.key}`),
                baseline: { name: 'Emmett appendToStream', values: figures.values(`emmett ${c.key}`) },
                target: target(ratioAtLeast(1.5, 'factor')),
              }),
            ]
          : []),
      ]);
      return { rows, remarks: [] };
    } finally {
      await stopQuietly(app);
      await sql.end({ timeout: 5 });
      await emmett.close();
      await db.drop();
      await emmettDb.drop();
    }
  },
};
