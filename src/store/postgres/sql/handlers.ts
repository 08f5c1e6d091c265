/** Queries of the `handlers` table: registrations and cursors. */
import type { ISql } from 'postgres';
import type { Int8 } from './events.ts';

/** A `handlers` row as read (`acked` as JSON, so no array type parsing is needed). */
export interface HandlerRow {
  readonly name: string;
  readonly subscribe_to: string;
  readonly consistency: 'eventual' | 'strong';
  readonly initial_position: Int8;
  readonly position: Int8;
  readonly acked: (number | string)[];
  readonly updated_at: Date;
}

const columns = (db: ISql) =>
  db`name, subscribe_to, consistency, initial_position, position, to_jsonb(acked) as acked, updated_at`;

/**
 * Creates the handler at `initial` (or at the sequencer's head when `initial` is null), or updates the
 * settings of an existing one and keeps its cursor.
 */
export async function upsertHandler(
  db: ISql,
  schema: string,
  args: { name: string; subscribeTo: string; consistency: string; initial: number | null },
): Promise<HandlerRow> {
  const s = db(schema);
  const [row] = await db<HandlerRow[]>`
    insert into ${s}.handlers as h (name, subscribe_to, consistency, initial_position, position)
    select ${args.name}::text, ${args.subscribeTo}::text, ${args.consistency}::text, start, start
    from (select coalesce(${args.initial}::bigint, (select last_number from ${s}.sequencer)) as start) v
    on conflict (name) do update set subscribe_to = excluded.subscribe_to, consistency = excluded.consistency, updated_at = now()
    returning ${columns(db)}`;
  if (row === undefined) throw new Error('upsert returned no row');
  return row;
}

/** One handler, if registered. */
export async function selectHandler(db: ISql, schema: string, name: string): Promise<HandlerRow | undefined> {
  const [row] = await db<HandlerRow[]>`select ${columns(db)} from ${db(schema)}.handlers where name = ${name}::text`;
  return row;
}

/** Every handler, by name. */
export async function selectHandlers(db: ISql, schema: string): Promise<HandlerRow[]> {
  return db<HandlerRow[]>`select ${columns(db)} from ${db(schema)}.handlers order by name`;
}

/**
 * Saves a cursor in one statement and notifies `channel` with `c<position>:<name>`, delivered once the
 * statement's transaction commits. Returns false for an unknown handler.
 */
export async function updateCursor(
  db: ISql,
  schema: string,
  args: { name: string; position: number; acked: readonly number[]; channel: string },
): Promise<boolean> {
  const rows = await db`
    with saved as (
      update ${db(schema)}.handlers
      set position = ${args.position}::bigint, acked = ${`{${args.acked.join(',')}}`}::bigint[], updated_at = now()
      where name = ${args.name}::text
      returning name, position
    )
    select pg_notify(${args.channel}::text, 'c' || position || ':' || name) from saved`;
  return rows.length > 0;
}

/** Puts the cursor back to its initial position; undefined for an unknown handler. */
export async function resetHandlerCursor(db: ISql, schema: string, name: string): Promise<HandlerRow | undefined> {
  const [row] = await db<HandlerRow[]>`
    update ${db(schema)}.handlers set position = initial_position, acked = '{}', updated_at = now()
    where name = ${name}::text
    returning ${columns(db)}`;
  return row;
}
