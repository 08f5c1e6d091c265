/** Raw postgres.js baselines: what an application would write by hand, on the same server and tables. */
import type { Sql } from 'postgres';
import { now } from './timing.ts';

/** Creates the baseline's cursor table (one row per reader). */
export async function createRawCursorTable(sql: Sql): Promise<void> {
  await sql`create table if not exists bench_raw_cursor (name text primary key, stream_id text not null, stream_version bigint not null)`;
}

/** Row shape the raw reader asks for: the same columns herald reads. */
interface RawRow {
  stream_id: string;
  stream_version: string;
  event_id: string;
  type: string;
  data: unknown;
  metadata: unknown;
  created_at: Date;
}

/**
 * Reads every row of `schema.events` in keyset order (its primary key) in pages of `batchSize`, touching each
 * row, with one cursor UPDATE per page; returns the milliseconds taken and the rows read. `onPage` is told
 * each page's size (the memory scenario samples there).
 */
export async function rawKeysetCatchUp(
  sql: Sql, schema: string, name: string, batchSize: number, onPage?: (rows: number) => void, maxRows = Number.POSITIVE_INFINITY,
): Promise<{ ms: number; rows: number }> {
  await sql`insert into bench_raw_cursor (name, stream_id, stream_version) values (${name}, '', 0)`;
  const started = now();
  let streamId = '';
  let version = 0;
  let rows = 0;
  let checksum = 0;
  for (;;) {
    const page = await sql<RawRow[]>`
      select stream_id, stream_version, event_id, type, data, metadata, created_at
      from ${sql(schema)}.events
      where (stream_id, stream_version) > (${streamId}, ${version}::bigint)
      order by stream_id, stream_version
      limit ${batchSize}`;
    for (const row of page) checksum += row.type.length;
    rows += page.length;
    onPage?.(page.length);
    const last = page[page.length - 1];
    if (last !== undefined) {
      streamId = last.stream_id;
      version = Number(last.stream_version);
      await sql`update bench_raw_cursor set stream_id = ${streamId}, stream_version = ${version} where name = ${name}`;
    }
    if (page.length < batchSize || rows >= maxRows) break;
  }
  if (checksum < 0) throw new Error('unreachable');
  return { ms: now() - started, rows };
}

/**
 * A table shaped like herald's `events` for raw insert baselines: its columns, the primary key on stream and version
 * and the unique event id, nothing else.
 */
export async function createRawEventsTable(sql: Sql): Promise<void> {
  // The baseline shape, written out rather than copied (`like ... including all`) from herald's table, whose
  // extra columns and indexes (the number and type indexes of migrations 4 and 7) would make the baseline move with
  // herald's schema.
  await sql`create table raw_events (
    stream_id text not null, stream_version bigint not null, event_id text not null, type text not null,
    data jsonb not null, metadata jsonb not null, created_at timestamptz not null default now(),
    primary key (stream_id, stream_version), unique (event_id))`;
}

/** One event row as the raw baseline inserts it. */
export interface RawEventRow {
  stream_id: string;
  stream_version: number;
  event_id: string;
  type: string;
  data: string;
  metadata: string;
}

/** A multi-row INSERT of `rows` into `raw_events` (JSON columns sent as text, cast by the server). */
export async function rawInsert(sql: Sql, rows: readonly RawEventRow[]): Promise<void> {
  await sql`insert into raw_events ${sql(rows as RawEventRow[], 'stream_id', 'stream_version', 'event_id', 'type', 'data', 'metadata')}`;
}
