/**
 * Queries of the `handlers` table and the handler-wide view of its slots' cursors. Statements that change several
 * slot rows lock them in slot order first, like those of `slots.ts`, so they never deadlock with each other.
 */
import type { ISql, TransactionSql } from 'postgres';
import type { Int8 } from './events.ts';

/** A handler with its slots' cursors, as read (`acked` as JSON, so no array type parsing is needed). */
export interface HandlerRow {
  readonly name: string;
  readonly subscribe_to: string;
  readonly consistency: 'eventual' | 'strong';
  readonly initial_position: Int8;
  readonly slots: number;
  readonly updated_at: Date;
  /** Per slot: `[position, acked[]]`. */
  readonly cursors: [Int8 | number, (Int8 | number)[]][];
}

const selectRows = (db: ISql, schema: string) => {
  const s = db(schema);
  return db`
    select h.name, h.subscribe_to, h.consistency, h.initial_position, h.slots,
      greatest(h.updated_at, max(c.updated_at)) as updated_at,
      coalesce(jsonb_agg(jsonb_build_array(c.position, to_jsonb(c.acked)) order by c.slot) filter (where c.slot is not null), '[]') as cursors
    from ${s}.handlers h left join ${s}.handler_slots c on c.handler_name = h.name`;
};

/** One handler, if registered. */
export async function selectHandler(db: ISql, schema: string, name: string): Promise<HandlerRow | undefined> {
  const [row] = await db<HandlerRow[]>`${selectRows(db, schema)} where h.name = ${name}::text group by h.name`;
  return row;
}

/** Every handler, by name. */
export async function selectHandlers(db: ISql, schema: string): Promise<HandlerRow[]> {
  return db<HandlerRow[]>`${selectRows(db, schema)} group by h.name order by h.name`;
}

/** What registration found or did. */
export type Registration =
  | { readonly kind: 'ok' }
  /** The slot count differs and `label` holds an unexpired lease on an old slot. */
  | { readonly kind: 'held'; readonly slots: number; readonly label: string };

/**
 * Creates the handler with `slots` slots at `initial` (or at the sequencer's head when null), or updates an
 * existing one's settings; a different slot count re-slices its cursors unless a lease on an old slot is live.
 * Runs in the caller's transaction, which must roll back on 'held' (the settings were updated already);
 * concurrent registrations of one name serialize on its row.
 */
export async function upsertHandler(
  tx: TransactionSql,
  schema: string,
  args: { name: string; subscribeTo: string; consistency: string; initial: number | null; slots: number },
): Promise<Registration> {
  const s = tx(schema);
  const created = await tx`
    with created as (
      insert into ${s}.handlers (name, subscribe_to, consistency, initial_position, slots)
      select ${args.name}::text, ${args.subscribeTo}::text, ${args.consistency}::text, start, ${args.slots}::int
      from (select coalesce(${args.initial}::bigint, (select head from ${s}.sequencer)) as start) v
      on conflict (name) do nothing
      returning name, initial_position, slots
    )
    insert into ${s}.handler_slots (handler_name, slot, position)
    select c.name, g.slot, c.initial_position from created c, generate_series(0, c.slots - 1) as g(slot)
    returning slot`;
  if (created.length > 0) return { kind: 'ok' };

  const [current] = await tx<{ slots: number }[]>`
    update ${s}.handlers set subscribe_to = ${args.subscribeTo}::text, consistency = ${args.consistency}::text, updated_at = now()
    where name = ${args.name}::text
    returning slots`;
  if (current === undefined || current.slots === args.slots) return { kind: 'ok' };
  // Locks every old slot (in slot order, as every multi-slot statement does) so no claim slips in between.
  const old = await tx<{ label: string | null }[]>`
    select case when owner is not null and lease_until > now() then coalesce(owner_label, owner) end as label
    from ${s}.handler_slots where handler_name = ${args.name}::text
    order by slot for update`;
  const held = old.find((slot) => slot.label !== null);
  if (held?.label != null) return { kind: 'held', slots: current.slots, label: held.label };
  await tx`
    with old as (
      delete from ${s}.handler_slots where handler_name = ${args.name}::text returning position, acked, epoch
    ), low as (
      select min(position) as position, max(epoch) + 1 as epoch from old
    ), acked as (
      select coalesce(array_agg(distinct a order by a), '{}') as numbers
      from old, unnest(old.acked) as a where a > (select position from low)
    )
    insert into ${s}.handler_slots (handler_name, slot, position, acked, epoch)
    select ${args.name}::text, g.slot, low.position, acked.numbers, low.epoch
    from low, acked, generate_series(0, ${args.slots}::int - 1) as g(slot)`;
  await tx`update ${s}.handlers set slots = ${args.slots}::int where name = ${args.name}::text`;
  return { kind: 'ok' };
}

/**
 * Sets every slot's cursor (no lease check) and notifies `channel` with `c<position>:<name>` at commit.
 * Returns false for an unknown handler.
 */
export async function updateAllSlots(
  db: ISql,
  schema: string,
  args: { name: string; position: number; acked: readonly number[]; channel: string },
): Promise<boolean> {
  const s = db(schema);
  const rows = await db`
    with locked as (
      select slot from ${s}.handler_slots where handler_name = ${args.name}::text order by slot for update
    ), saved as (
      update ${s}.handler_slots c
      set position = ${args.position}::bigint, acked = ${`{${args.acked.join(',')}}`}::bigint[], updated_at = now()
      from locked l where c.handler_name = ${args.name}::text and c.slot = l.slot
      returning 1
    )
    select pg_notify(${args.channel}::text, 'c' || ${args.position}::bigint || ':' || ${args.name}::text)
    where exists (select 1 from saved)`;
  return rows.length > 0;
}

/**
 * Puts every slot back to the initial position, ends every lease (epoch + 1) and notifies `channel` with
 * `m<name>`. Returns false for an unknown handler.
 */
export async function resetSlots(db: ISql, schema: string, name: string, channel: string): Promise<boolean> {
  const s = db(schema);
  const rows = await db`
    with locked as (
      select slot from ${s}.handler_slots where handler_name = ${name}::text order by slot for update
    ), reset as (
      update ${s}.handler_slots c
      set position = h.initial_position, acked = '{}', owner = null, owner_label = null, lease_until = null,
        epoch = c.epoch + 1, inflight = '{}', suspects = '{}', updated_at = now()
      from ${s}.handlers h, locked l
      where h.name = ${name}::text and c.handler_name = h.name and c.slot = l.slot
      returning 1
    )
    select pg_notify(${channel}::text, 'm' || ${name}::text) where exists (select 1 from reset)`;
  return rows.length > 0;
}
