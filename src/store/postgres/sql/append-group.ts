/**
 * The append that numbers itself (migration 7): one statement, in autocommit, for one or more appends to distinct
 * streams. Its parts run in an order fixed by data flow, not by the order of the `WITH` list (which PostgreSQL does
 * not promise): the stream rows are claimed first (their row locks, which may wait on another transaction), the
 * sequencer row is updated only from the sum over every claimed row (so after all the stream locks are held), and
 * the events are inserted with numbers computed from that update's result. The sequencer row lock is thus held
 * only from the end of the statement to its commit, and transactions that number this way become visible in number
 * order (PostgreSQL ends a transaction's visibility before it releases its locks).
 */
import type { ISql } from 'postgres';
import { StoreError } from '../../../errors.ts';
import type { Int8 } from './events.ts';

/** One append of a group. */
export interface GroupCall {
  readonly streamId: string;
  readonly expected: 'any' | 'no_stream' | 'stream_exists' | 'exact';
  readonly expectedVersion: number;
  /** JSON array of `{ id, type, data, metadata }`, at least one. */
  readonly events: string;
}

/** The outcome of one call of a group: numbered and stored, or not claimed (`version` null). */
export interface GroupRow {
  readonly call: number;
  /** First version appended; null when the stream's expectation did not hold (the caller appends the slow way). */
  readonly version: Int8 | null;
  readonly first_number: Int8 | null;
  readonly created_at: Date;
}

/**
 * SQLSTATE raised (`append_behind`) when a stream may hold events awaiting numbers (`streams.pending`), or when a
 * stream created by the statement was expected to exist.
 */
export const BEHIND = 'HR001';

/**
 * Appends every call (distinct streams) and numbers the events, in one statement and one commit. Calls whose
 * expectation does not hold come back with `version` null and change nothing. Fails as a whole (nothing stored)
 * when an event id is stored already (unique violation) or with {@link BEHIND}.
 */
export async function appendGroup(db: ISql, schema: string, calls: readonly GroupCall[], channel: string): Promise<GroupRow[]> {
  const s = db(schema);
  const input = `[${calls.map((c) => `{"s":${JSON.stringify(c.streamId)},"k":"${c.expected}","v":${c.expectedVersion},"e":${c.events}}`).join(',')}]`;
  const rows = await db<GroupRow[]>`
    /* herald append_group */ with input as materialized (
      select c.o::integer as call, c.x->>'s' as stream_id, c.x->>'k' as kind, (c.x->>'v')::bigint as expected,
             jsonb_array_length(c.x->'e') as n, c.x->'e' as events
      from jsonb_array_elements(${input}::text::jsonb) with ordinality as c(x, o)
    ), claim as (
      -- One upsert for every expectation: the conflict check always probes the primary key, whatever plan is cached.
      insert into ${s}.streams as t (stream_id, version)
      select i.stream_id, i.n from input i order by i.stream_id
      on conflict (stream_id) do update set version = t.version + excluded.version
      where (select case i.kind when 'any' then true when 'stream_exists' then t.version > 0
                                when 'no_stream' then t.version = 0 else t.version = i.expected end
             from input i where i.stream_id = excluded.stream_id)
      returning t.stream_id, t.version, t.pending, t.xmax = 0 as created
    ), claimed as materialized (
      select i.call, i.stream_id, i.n, i.events, c.version - i.n as prev, c.pending,
             c.created and (i.kind = 'stream_exists' or (i.kind = 'exact' and i.expected > 0)) as wrongly_created,
             sum(i.n) over (order by i.call) - i.n as offset_
      from input i join claim c on c.stream_id = i.stream_id
    ), checked as (
      -- A stream that may hold unnumbered events, or one created against its expectation, fails the whole statement.
      select sum(c.n) as total, min(c.stream_id) filter (where c.pending or c.wrongly_created) as behind
      from claimed c
    ), moved as (
      update ${s}.sequencer q set head = q.head + k.total
      from checked k
      where k.total is not null and case when k.behind is null then true else ${s}.append_behind(k.behind) end
      returning q.head - k.total as base
    ), inserted as (
      insert into ${s}.events (stream_id, stream_version, event_id, type, data, metadata, event_number)
      select c.stream_id, c.prev + x.o, x.e->>'id', x.e->>'type', x.e->'data', x.e->'metadata', m.base + c.offset_ + x.o
      from claimed c cross join moved m cross join lateral jsonb_array_elements(c.events) with ordinality as x(e, o)
      returning 1
    ), notified as (
      select pg_notify(${channel}::text, 'a') from moved
    )
    select i.call, c.prev + 1 as version, m.base + c.offset_ + 1 as first_number, now() as created_at,
           (select count(*) from inserted) + (select count(*) from notified) as done
    from input i
    left join claimed c on c.call = i.call
    left join moved m on c.call is not null
    order by i.call`;
  if (rows.length !== calls.length) throw new StoreError(`append: ${rows.length} results for ${calls.length} appends`);
  return rows;
}

/** Clears a stream's `pending` flag if none of its events awaits a number (migration 7's `clear_pending`). */
export async function clearPending(db: ISql, schema: string, streamId: string): Promise<boolean> {
  const [row] = await db<{ cleared: boolean }[]>`select ${db(schema)}.clear_pending(${streamId}::text) as cleared`;
  return row?.cleared === true;
}
