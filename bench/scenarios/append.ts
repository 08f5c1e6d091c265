/**
 * Scenario 2, append: `app.dispatch` throughput with single events and batches of 100, from 1 and 8
 * concurrent callers, against a raw multi-row INSERT of the same rows into a table shaped like herald's.
 */
import { monotonicFactory } from 'ulid';
import type { Sql } from 'postgres';
import { createApp } from '../../src/index.ts';
import type { App, EventData } from '../../src/index.ts';
import { connect } from '../db.ts';
import { payload, stopQuietly, store } from '../herald.ts';
import { createRawEventsTable, rawInsert, type RawEventRow } from '../raw.ts';
import { roundLog } from '../rounds.ts';
import { buildRow, perSecond } from '../stats.ts';
import { atLeast, ratioAtLeast, target } from '../targets.ts';
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
    // Ten connections: postgres.js's default, enough for 8 callers (+ the sequencer's own statements).
    const sql = connect(db.url, 10);
    const app = createApp({ store: store(sql, 'herald'), name: 'append' });
    try {
      await app.start([]);
      await createRawEventsTable(sql, 'herald');
      // Warm-up, not recorded: prepared statements, the JIT and the buffer cache of both sides.
      for (const c of cases) {
        const warm = { ...c, key: `warm-${c.key}`, events: Math.max(c.perCall * c.callers, c.events / 10) };
        await rawAppend(sql, warm, 0);
        await heraldAppend(app, warm, 0);
      }
      const figures = roundLog((name, round, value) => ctx.log(`round ${round + 1}: ${name} ${Math.round(value)} ev/s`));
      for (let round = 0; round < ctx.rounds; round++) {
        for (const c of cases) {
          await figures.run(round, [
            [`raw ${c.key}`, () => rawAppend(sql, c, round)],
            [`herald ${c.key}`, () => heraldAppend(app, c, round)],
          ]);
        }
      }
      const rows: Row[] = cases.map((c) =>
        buildRow({
          scenario: SCENARIO,
          label: `${c.perCall === 1 ? 'single events' : `batches of ${c.perCall}`}, ${c.callers} caller${c.callers > 1 ? 's' : ''}`,
          unit: 'ev/s',
          higherIsBetter: true,
          herald: figures.values(`herald ${c.key}`),
          baseline: { name: `raw INSERT of ${c.perCall} row${c.perCall > 1 ? 's' : ''}`, values: figures.values(`raw ${c.key}`) },
          target: c.perCall > 1 ? target(atLeast(50_000, 'ev/s'), ratioAtLeast(0.75)) : undefined,
        }),
      );
      return { rows, remarks: [] };
    } finally {
      await stopQuietly(app);
      await sql.end({ timeout: 5 });
      await db.drop();
    }
  },
};
