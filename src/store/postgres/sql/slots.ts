/**
 * Queries of slots, leases and members: one statement each. Lease times come from the database clock (`now()`,
 * the statement's transaction start), so processes on machines with skewed clocks agree.
 */
import type { ISql } from 'postgres';
import type { NodeIdentity, SlotCursor } from '../../types.ts';
import type { Int8 } from './events.ts';

/** A heartbeat's answer; `joined` is null for an unknown handler. */
export interface HeartbeatRow {
  readonly joined: boolean | null;
  /** Other live members: `[id, label]`. */
  readonly members: [string, string][];
  /** Per slot, in order: the owner id when its lease is live (or it is this node's), else null. */
  readonly owners: (string | null)[];
}

/**
 * Renews the node's membership (creating it, and notifying `m<name>`, on the first beat) and its slots' leases,
 * drops expired members, and reports members and owners.
 */
export async function heartbeat(db: ISql, schema: string, name: string, node: NodeIdentity, leaseMs: number, channel: string): Promise<HeartbeatRow> {
  const s = db(schema);
  const until = db`now() + ${leaseMs}::int * interval '1 millisecond'`;
  const [row] = await db<HeartbeatRow[]>`
    with member as (
      insert into ${s}.handler_members as m (handler_name, node_id, label, expires_at)
      select h.name, ${node.id}::text, ${node.label}::text, ${until} from ${s}.handlers h where h.name = ${name}::text
      on conflict (handler_name, node_id) do update set label = excluded.label, expires_at = excluded.expires_at
      returning (m.xmax = 0) as joined
    ), expired as (
      delete from ${s}.handler_members where handler_name = ${name}::text and expires_at <= now() and node_id <> ${node.id}::text
    ), renewed as (
      update ${s}.handler_slots set lease_until = ${until} where handler_name = ${name}::text and owner = ${node.id}::text
      returning slot
    ), joined_notice as (
      select pg_notify(${channel}::text, 'm' || ${name}::text) from member where member.joined
    )
    select
      (select joined from member) as joined,
      (select count(*) from joined_notice) as notices,
      (select coalesce(jsonb_agg(jsonb_build_array(node_id, label)), '[]') from ${s}.handler_members
        where handler_name = ${name}::text and expires_at > now() and node_id <> ${node.id}::text) as members,
      (select coalesce(jsonb_agg(case when owner = ${node.id}::text or lease_until > now() then owner end order by slot), '[]')
        from ${s}.handler_slots where handler_name = ${name}::text) as owners`;
  if (row === undefined) throw new Error('heartbeat returned no row');
  return row;
}

/** A claimed slot as read. */
export interface ClaimRow {
  readonly slot: number;
  readonly epoch: Int8;
  readonly position: Int8;
  readonly acked: (Int8 | number)[];
  readonly previous: string | null;
}

/** Claims answer: the handler's slot count (null when unknown) and the slots claimed. */
export interface ClaimResult {
  readonly slotCount: number | null;
  readonly claims: ClaimRow[];
}

/**
 * Takes the given slots that are free, expired or already the node's, bumping their epochs; claims nothing when
 * a slot number is outside the handler's slots. A concurrent claim of the same slot re-checks the row it waited
 * for (READ COMMITTED), so exactly one claimant gets it.
 */
export async function claimSlots(db: ISql, schema: string, name: string, node: NodeIdentity, slots: readonly number[], leaseMs: number): Promise<ClaimResult> {
  const s = db(schema);
  const [row] = await db<{ slot_count: number | null; claims: ClaimRow[] }[]>`
    with h as (
      select slots from ${s}.handlers where name = ${name}::text
    ), previous as (
      select slot, owner from ${s}.handler_slots where handler_name = ${name}::text and slot = any(${`{${slots.join(',')}}`}::int[])
    ), claimed as (
      update ${s}.handler_slots c
      set owner = ${node.id}::text, owner_label = ${node.label}::text, lease_until = now() + ${leaseMs}::int * interval '1 millisecond',
        epoch = c.epoch + 1, updated_at = now()
      from previous p
      where c.handler_name = ${name}::text and c.slot = p.slot
        and (c.owner is null or c.owner = ${node.id}::text or c.lease_until <= now())
        and (select slots from h) > ${Math.max(-1, ...slots)}::int
      returning c.slot, c.epoch, c.position, to_jsonb(c.acked) as acked, nullif(p.owner, ${node.id}::text) as previous
    )
    select (select slots from h) as slot_count,
      coalesce((select jsonb_agg(to_jsonb(claimed) order by claimed.slot) from claimed), '[]') as claims`;
  return { slotCount: row?.slot_count ?? null, claims: row?.claims ?? [] };
}

/**
 * Clears the lease of the given slots (all the node's when `slots` is undefined) where the node holds them, and
 * optionally its membership; notifies `m<name>` when anything changed. Returns null for an unknown handler,
 * else whether anything changed.
 */
export async function releaseSlots(
  db: ISql,
  schema: string,
  args: { name: string; nodeId: string; slots: readonly number[] | undefined; leave: boolean; channel: string },
): Promise<boolean | null> {
  const s = db(schema);
  const chosen = args.slots === undefined ? db`true` : db`slot = any(${`{${args.slots.join(',')}}`}::int[])`;
  const left = args.leave
    ? db`delete from ${s}.handler_members where handler_name = ${args.name}::text and node_id = ${args.nodeId}::text returning 1`
    : db`select 1 where false`;
  const [row] = await db<{ known: boolean; changed: boolean }[]>`
    with released as (
      update ${s}.handler_slots set owner = null, owner_label = null, lease_until = null
      where handler_name = ${args.name}::text and owner = ${args.nodeId}::text and ${chosen}
      returning 1
    ), left_member as (${left}), changed as (
      select exists (select 1 from released) or exists (select 1 from left_member) as yes
    ), notice as (
      select pg_notify(${args.channel}::text, 'm' || ${args.name}::text) from changed where changed.yes
    )
    select exists (select 1 from ${s}.handlers where name = ${args.name}::text) as known,
      (select yes from changed) as changed, (select count(*) from notice) as notices`;
  if (row === undefined || !row.known) return null;
  return row.changed;
}

/**
 * Saves the slot cursors the node still holds under the given epochs, and notifies `c<lowest>:<name>` with the
 * handler's lowest slot position after the save. Returns the slots saved (`null` for an unknown handler).
 */
export async function saveSlotCursors(
  db: ISql,
  schema: string,
  args: { name: string; nodeId: string; cursors: readonly SlotCursor[]; channel: string },
): Promise<number[] | null> {
  const s = db(schema);
  const input = JSON.stringify(
    args.cursors.map(({ slot, epoch, cursor }) => ({ slot, epoch, position: cursor.position, acked: `{${cursor.acked.join(',')}}` })),
  );
  const [row] = await db<{ known: boolean; saved: number[] }[]>`
    with input as (
      select * from jsonb_to_recordset(${input}::jsonb) as i(slot int, epoch bigint, position bigint, acked text)
    ), saved as (
      update ${s}.handler_slots c set position = i.position, acked = i.acked::bigint[], updated_at = now()
      from input i
      where c.handler_name = ${args.name}::text and c.slot = i.slot and c.owner = ${args.nodeId}::text and c.epoch = i.epoch
      returning c.slot, c.position
    ), low as (
      -- The other parts of a statement see the rows as they were before it: combine saved and unchanged slots.
      select least(
        (select min(position) from saved),
        (select min(c.position) from ${s}.handler_slots c where c.handler_name = ${args.name}::text and c.slot not in (select slot from saved))
      ) as position
    ), notice as (
      select pg_notify(${args.channel}::text, 'c' || low.position || ':' || ${args.name}::text)
      from low where low.position is not null and exists (select 1 from saved)
    )
    select exists (select 1 from ${s}.handlers where name = ${args.name}::text) as known,
      coalesce((select jsonb_agg(slot) from saved), '[]') as saved, (select count(*) from notice) as notices`;
  if (row === undefined || !row.known) return null;
  return row.saved;
}
