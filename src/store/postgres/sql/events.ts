/** Queries of the event log: append, sequencer, reads. Every value is a parameter; the schema is quoted by the driver. */
import type { ISql } from 'postgres';
import { StoreError } from '../../../errors.ts';

/** An `int8` as postgres.js returns it: a string by default, a bigint or number with custom types. */
export type Int8 = string | number | bigint;

/** What `append_events` reports (see migration 001). */
export interface AppendRow {
  readonly outcome: 'ok' | 'wrong_expected_version';
  /** First version appended (`ok`), or the stream's version (`wrong_expected_version`); null when nothing was appended. */
  readonly version: Int8 | null;
  /** The batch awaiting numbers; null when nothing was appended. */
  readonly batch_id: Int8 | null;
  readonly duplicates: string[];
  readonly created_at: Date;
}

/** Arguments of {@link appendEvents}. */
export interface AppendArgs {
  readonly streamId: string;
  readonly expected: 'any' | 'no_stream' | 'stream_exists' | 'exact';
  readonly expectedVersion: number;
  /** JSON array of `{ id, type, data, metadata }`. */
  readonly events: string;
  /** Channel notified at commit that a batch awaits numbers (appends inside a caller's transaction); null otherwise. */
  readonly notifyChannel: string | null;
}

/** Appends one stream's events in one statement (in autocommit, its own transaction). */
export async function appendEvents(db: ISql, schema: string, args: AppendArgs): Promise<AppendRow> {
  const [row] = await db<AppendRow[]>`
    select outcome, version, batch_id, to_jsonb(duplicates) as duplicates, created_at
    from ${db(schema)}.append_events(${args.streamId}::text, ${args.expected}::text, ${args.expectedVersion}::bigint,
                                     ${args.events}::text::jsonb, ${args.notifyChannel}::text)`;
  if (row === undefined) throw new StoreError('append_events returned no row');
  return row;
}

/** What `append_numbered` reports (see migration 003): the append's row and, once numbered, its batch's first number. */
export interface NumberedAppendRow extends AppendRow {
  /** Null when nothing was appended, or when the run stopped at `max` batches before reaching this one. */
  readonly first_number: Int8 | null;
}

/**
 * Appends one stream's events in one transaction and, once it committed, runs the sequencer in a second one,
 * both in a single call (one round trip). Must run outside a transaction block.
 */
export async function appendNumbered(
  db: ISql, schema: string, args: Omit<AppendArgs, 'notifyChannel'>, max: number, channel: string,
): Promise<NumberedAppendRow> {
  const [row] = await db<NumberedAppendRow[]>`
    call ${db(schema)}.append_numbered(${args.streamId}::text, ${args.expected}::text, ${args.expectedVersion}::bigint,
                                       ${args.events}::text::jsonb, ${max}::integer, ${channel}::text)`;
  if (row === undefined) throw new StoreError('append_numbered returned no row');
  return row;
}

/** What one sequencer run reports. */
export interface SequenceRow {
  readonly numbered: number;
  readonly ids: Int8[] | null;
  readonly numbers: (Int8 | null)[] | null;
}

/** One sequencer transaction: numbers up to `max` committed batches and returns the numbers of `wanted`. */
export async function sequenceBatches(db: ISql, schema: string, max: number, wanted: readonly number[], channel: string): Promise<SequenceRow> {
  const [row] = await db<SequenceRow[]>`
    select numbered, to_jsonb(wanted_ids) as ids, to_jsonb(wanted_numbers) as numbers
    from ${db(schema)}.sequence_batches(${max}::integer, ${`{${wanted.join(',')}}`}::bigint[], ${channel}::text)`;
  if (row === undefined) throw new StoreError('sequence_batches returned no row');
  return row;
}

/**
 * One event of a read, as one JSON array (one `JSON.parse` per row instead of a decode per column):
 * `[event_number, event_id, stream_id, stream_version, type, data, metadata, created_at (epoch milliseconds)]`.
 * The time travels as a number: `new Date(ms)` costs a fraction of parsing an ISO string, and a `Date` holds
 * milliseconds either way.
 */
export type ReadEventJson = readonly [number, string, string, number, string, unknown, Record<string, unknown>, number];

/** One row of a read: the header row (head and pending flag, no event), or one event. */
interface ReadRow {
  readonly head: Int8 | null;
  readonly pending: boolean | null;
  readonly event: ReadEventJson | null;
}

/** A keyset page as {@link readEvents} returns it, all from one statement snapshot. */
export interface ReadPage {
  /** The sequencer's head: the highest number given so far. */
  readonly head: Int8;
  /** Whether committed batches await numbers. */
  readonly pending: boolean;
  /** The page's events in number order. */
  readonly events: ReadEventJson[];
}

/**
 * A keyset page of numbered events after `after`, optionally of one stream and of some types, with the sequencer's head and
 * whether committed batches await numbers, all from the same statement snapshot. Reads `events` by `event_number`
 * (migration 7): the unique number index for the whole log; the primary key for one stream (its versions are in
 * number order); `(type, event_number)` for each wanted type, merged. The head comes as one header row rather than
 * as two more columns of every event row, which the driver would decode a thousand times.
 */
export async function readEvents(
  db: ISql, schema: string, after: number, limit: number, streamId: string | undefined, types?: readonly string[] | undefined,
): Promise<ReadPage> {
  const s = db(schema);
  const typeFilter = types === undefined ? db`` : db`and e.type = any(${[...types]}::text[])`;
  let page;
  if (streamId !== undefined) {
    page = db`select * from ${s}.events e
              where e.stream_id = ${streamId}::text and e.event_number > ${after}::bigint ${typeFilter}
              order by e.stream_version limit ${limit}::integer`;
  } else if (types === undefined) {
    page = db`select * from ${s}.events e where e.event_number > ${after}::bigint order by e.event_number limit ${limit}::integer`;
  } else {
    // One walk of (type, event_number) per wanted type, merged: events of other types are never read. The walk is
    // written as a range of that index in its own order (a row comparison, and `type <= t.type` for the end) rather
    // than `type = t.type ... order by event_number`: with the latter PostgreSQL walks the number index (which follows
    // the table's order) and filters the type, reading every event (7x slower per page on a 200k-event log).
    page = db`select e.* from unnest(${[...types]}::text[]) as t(type)
              cross join lateral (
                select * from ${s}.events e
                where (e.type, e.event_number) > (t.type, ${after}::bigint) and e.type <= t.type
                order by e.type, e.event_number limit ${limit}::integer
              ) e
              order by e.event_number limit ${limit}::integer`;
  }
  const rows = await db<ReadRow[]>`
    select q.head, exists (select 1 from ${s}.batches where last_number is null) as pending, null::json as event
    from ${s}.sequencer q
    union all (
      select null, null,
             json_build_array(p.event_number, p.event_id, p.stream_id, p.stream_version, p.type, p.data, p.metadata,
                              floor(extract(epoch from p.created_at) * 1000)::bigint)
      from (${page}) p
      order by p.event_number
    )`;
  let header: ReadRow | undefined;
  const events: ReadEventJson[] = [];
  let ordered = true;
  let previous = after;
  for (const row of rows) {
    if (row.event === null) {
      header = row;
      continue;
    }
    if (row.event[0] <= previous) ordered = false;
    previous = row.event[0];
    events.push(row.event);
  }
  if (header === undefined || header.head === null) throw new StoreError('read: the sequencer row is missing');
  // The page's rows are the right ones whatever order they come in (its LIMIT applies under its ORDER BY);
  // SQL does not promise that a UNION ALL keeps that order, so an unordered page is sorted here.
  if (!ordered) events.sort((a, b) => a[0] - b[0]);
  return { head: header.head, pending: header.pending === true, events };
}

/** The sequencer's head, and whether committed batches await numbers. */
export async function readHead(db: ISql, schema: string): Promise<{ head: Int8; pending: boolean }> {
  const s = db(schema);
  const [row] = await db<{ head: Int8; pending: boolean }[]>`
    select head, exists (select 1 from ${s}.batches where last_number is null) as pending
    from ${s}.sequencer`;
  if (row === undefined) throw new StoreError('the sequencer row is missing');
  return row;
}

/** The highest number among stored events with these ids, and whether one of them still awaits its number. */
export async function lastNumberOf(db: ISql, schema: string, eventIds: readonly string[]): Promise<{ last: Int8 | null; unnumbered: boolean }> {
  const s = db(schema);
  const [row] = await db<{ last: Int8 | null; unnumbered: boolean | null }[]>`
    select max(e.event_number) as last, bool_or(e.event_number is null) as unnumbered
    from ${s}.events e
    where e.event_id in (select jsonb_array_elements_text(${JSON.stringify(eventIds)}::text::jsonb))`;
  return { last: row?.last ?? null, unnumbered: row?.unnumbered === true };
}
