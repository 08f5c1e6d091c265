/**
 * Queries of slots, leases and members: one statement each. Lease times come from the database clock (`now()`,
 * the statement's transaction start), so processes on machines with skewed clocks agree. A statement that changes
 * several slot rows locks them in slot order first (`order by slot for update`), so two such statements never
 * wait on each other in a cycle (a deadlock PostgreSQL would break by failing one of them).
 */
import type { ISql } from 'postgres';
import type { NodeIdentity, SlotCursor } from '../../types.ts';
import type { Int8 } from './events.ts';
import { StoreError } from '../../../errors.ts';

/** `{1,2}`: a PostgreSQL array literal for an `int[]`/`bigint[]` parameter. */
const slotArray = (numbers: readonly number[]): string => `{${numbers.join(',')}}`;

/** The highest slot number given (-1 for none), checked against the slot count inside each statement. */
const highest = (slots: readonly number[]): number => Math.max(-1, ...slots);

/** A heartbeat's answer; `slot_count` is null for an unknown handler. */
export interface HeartbeatRow {
  readonly slot_count: number | null;
  /** Other live members: `[id, label]`. */
  readonly members: [string, string][];
  /** Slots of other nodes with a live lease: `[slot, owner]`. */
  readonly held: [number, string][];
  /** The node's slots whose lease this beat renewed. */
  readonly renewed: number[];
}

/**
 * Renews the node's membership (creating it, and notifying `m<name>`, when it was not a live member) with its
 * session's backend pid and start, and its slots' leases, drops expired members, and reports the other members and owners. The renewed slots come from the
 * update itself, so a slot another node took over a moment ago is never reported as this node's.
 */
export async function heartbeat(
  db: ISql,
  schema: string,
  name: string,
  node: NodeIdentity,
  leaseMs: number,
  channel: string,
  sessionPid: number | undefined,
): Promise<HeartbeatRow> {
  const s = db(schema);
  const until = db`now() + ${leaseMs}::int * interval '1 millisecond'`;
  const [row] = await db<HeartbeatRow[]>`
    with session as (
      -- The member's own LISTEN session (migration 6), when it has one and it is connected.
      select pid, backend_start from pg_stat_activity where pid = ${sessionPid ?? null}::int
    ), member as (
      insert into ${s}.handler_members (handler_name, node_id, label, expires_at, backend_pid, backend_start)
      select h.name, ${node.id}::text, ${node.label}::text, ${until}, (select pid from session), (select backend_start from session)
      from ${s}.handlers h where h.name = ${name}::text
      on conflict (handler_name, node_id) do update set label = excluded.label, expires_at = excluded.expires_at,
        backend_pid = excluded.backend_pid, backend_start = excluded.backend_start
      returning 1
    ), stale as (
      -- Rows another statement holds (a member renewing itself, another beat deleting it) are left to it.
      select node_id from ${s}.handler_members
      where handler_name = ${name}::text and expires_at <= now() and node_id <> ${node.id}::text
      for update skip locked
    ), expired as (
      delete from ${s}.handler_members m using stale
      where m.handler_name = ${name}::text and m.node_id = stale.node_id and m.expires_at <= now()
    ), mine as (
      select slot from ${s}.handler_slots where handler_name = ${name}::text and owner = ${node.id}::text
      order by slot for update
    ), renewed as (
      update ${s}.handler_slots c set lease_until = ${until}, owner_label = ${node.label}::text
      from mine m where c.handler_name = ${name}::text and c.slot = m.slot and c.owner = ${node.id}::text
      returning c.slot
    ), joined_notice as (
      -- The other parts see the members as they were before this statement: a joining node was not live there.
      select pg_notify(${channel}::text, 'm' || ${name}::text)
      where exists (select 1 from member) and not exists (
        select 1 from ${s}.handler_members
        where handler_name = ${name}::text and node_id = ${node.id}::text and expires_at > now())
    )
    select
      (select slots from ${s}.handlers where name = ${name}::text) as slot_count,
      (select count(*) from joined_notice) as notices,
      (select coalesce(jsonb_agg(jsonb_build_array(node_id, label)), '[]') from ${s}.handler_members
        where handler_name = ${name}::text and expires_at > now() and node_id <> ${node.id}::text) as members,
      (select coalesce(jsonb_agg(jsonb_build_array(slot, owner)), '[]') from ${s}.handler_slots
        where handler_name = ${name}::text and owner <> ${node.id}::text and lease_until > now()) as held,
      (select coalesce(jsonb_agg(slot), '[]') from renewed) as renewed`;
  if (row === undefined) throw new StoreError('heartbeat returned no row');
  return row;
}

/** A claimed slot as read. */
export interface ClaimRow {
  readonly slot: number;
  readonly epoch: Int8;
  readonly position: Int8;
  readonly acked: (Int8 | number)[];
  readonly previous: string | null;
  /** Crash counts after the claim: `{"<event number>": [crashes, alone]}`. */
  readonly suspects: Record<string, [number, boolean]>;
}

/** Claims answer: the handler's slot count (null when unknown) and the slots claimed. */
export interface ClaimResult {
  readonly slotCount: number | null;
  readonly claims: ClaimRow[];
}

/**
 * The slot's crash counts once a claim found its in-flight note (migration 8): one more for each noted event the
 * cursor has not passed, the earlier counts of the others it has not passed kept, passed ones dropped (as
 * `countCrashes` in store/suspects.ts).
 */
const countCrashes = (db: ISql) => db`(
  with noted as (
    select distinct g as e from unnest(c.inflight) r, generate_series(lower(r), upper(r) - 1) g
    where g > c.position and not (g = any(c.acked))
  ), merged as (
    select j.key::bigint as e, (j.value->>0)::int as n, (j.value->>1)::boolean as alone, false as fresh from jsonb_each(c.suspects) j
    union all
    select e, 1, c.inflight_alone and (select count(*) from noted) = 1, true from noted
  )
  select coalesce(jsonb_object_agg(k.e::text, jsonb_build_array(k.n, k.alone)), '{}'::jsonb) from (
    select e, sum(n)::int as n, (array_agg(alone order by fresh desc))[1] as alone from merged
    where e > c.position and not (e = any(c.acked))
    group by e
  ) k)`;

/**
 * Takes the given slots that are free, expired or already the node's, bumping their epochs and counting the crashes
 * their in-flight notes tell of; claims nothing when
 * a slot number is outside the handler's slots. The candidates are locked in slot order first (no deadlock with
 * another multi-slot statement) and re-checked on the row they waited for (READ COMMITTED), so of concurrent
 * claimants of one slot exactly one gets it, and `previous` is the owner it really took the slot from.
 */
export async function claimSlots(db: ISql, schema: string, name: string, node: NodeIdentity, slots: readonly number[], leaseMs: number): Promise<ClaimResult> {
  const s = db(schema);
  const claimable = db`(c.owner is null or c.owner = ${node.id}::text or c.lease_until <= now())`;
  const [row] = await db<{ slot_count: number | null; claims: ClaimRow[] }[]>`
    with h as (
      select slots from ${s}.handlers where name = ${name}::text
    ), candidates as (
      select c.slot, c.owner from ${s}.handler_slots c
      where c.handler_name = ${name}::text and c.slot = any(${slotArray(slots)}::int[]) and ${claimable}
        and (select slots from h) > ${highest(slots)}::int
      order by c.slot for update
    ), claimed as (
      update ${s}.handler_slots c
      set owner = ${node.id}::text, owner_label = ${node.label}::text, lease_until = now() + ${leaseMs}::int * interval '1 millisecond',
        epoch = c.epoch + 1, inflight = '{}', inflight_alone = false, suspects = ${countCrashes(db)}
      from candidates p
      where c.handler_name = ${name}::text and c.slot = p.slot and ${claimable}
      returning c.slot, c.epoch, c.position, to_jsonb(c.acked) as acked, nullif(p.owner, ${node.id}::text) as previous, c.suspects
    )
    select (select slots from h) as slot_count,
      coalesce((select jsonb_agg(to_jsonb(claimed) order by claimed.slot) from claimed), '[]') as claims`;
  return { slotCount: row?.slot_count ?? null, claims: row?.claims ?? [] };
}

/**
 * Clears the lease of the given slots (all the node's when `slots` is undefined) where the node holds them, and
 * optionally its membership; notifies `m<name>` when anything changed. Changes nothing when a slot number is
 * outside the handler's slots. Returns the slot count (null for an unknown handler) and whether anything changed.
 */
export async function releaseSlots(
  db: ISql,
  schema: string,
  args: { name: string; nodeId: string; slots: readonly number[] | undefined; leave: boolean; channel: string },
): Promise<{ slotCount: number | null; changed: boolean }> {
  const s = db(schema);
  const chosen =
    args.slots === undefined
      ? db`true`
      : db`c.slot = any(${slotArray(args.slots)}::int[]) and (select slots from h) > ${highest(args.slots)}::int`;
  const [row] = await db<{ slot_count: number | null; changed: boolean }[]>`
    with h as (
      select slots from ${s}.handlers where name = ${args.name}::text
    ), left_member as (
      delete from ${s}.handler_members
      where ${args.leave}::boolean and handler_name = ${args.name}::text and node_id = ${args.nodeId}::text
      returning 1
    ), mine as (
      select c.slot from ${s}.handler_slots c
      where c.handler_name = ${args.name}::text and c.owner = ${args.nodeId}::text and ${chosen}
      order by c.slot for update
    ), released as (
      update ${s}.handler_slots c set owner = null, owner_label = null, lease_until = null
      from mine m where c.handler_name = ${args.name}::text and c.slot = m.slot and c.owner = ${args.nodeId}::text
      returning 1
    ), notice as (
      select pg_notify(${args.channel}::text, 'm' || ${args.name}::text)
      where exists (select 1 from released) or exists (select 1 from left_member)
    )
    select (select slots from h) as slot_count, exists (select 1 from notice) as changed`;
  return { slotCount: row?.slot_count ?? null, changed: row?.changed ?? false };
}

/**
 * Saves the slot cursors the node still holds under the given epochs (lease expiry is not checked: a slot nobody
 * claimed is still the node's), and notifies `c<lowest>:<name>` with the handler's lowest slot position after the
 * save. Saves nothing when a slot number is outside the handler's slots. Returns the slot count (null for an
 * unknown handler) and the slots saved.
 */
export async function saveSlotCursors(
  db: ISql,
  schema: string,
  args: { name: string; nodeId: string; cursors: readonly SlotCursor[]; channel: string },
): Promise<{ slotCount: number | null; saved: number[] }> {
  const s = db(schema);
  const input = JSON.stringify(
    args.cursors.map(({ slot, epoch, cursor }) => ({ slot, epoch, position: cursor.position, acked: slotArray(cursor.acked) })),
  );
  const highestSlot = highest(args.cursors.map((entry) => entry.slot));
  const [row] = await db<{ slot_count: number | null; saved: number[] }[]>`
    with h as (
      select slots from ${s}.handlers where name = ${args.name}::text
    ), input as (
      select * from jsonb_to_recordset(${input}::text::jsonb) as i(slot int, epoch bigint, position bigint, acked text)
    ), held as (
      select c.slot from ${s}.handler_slots c join input i on i.slot = c.slot
      where c.handler_name = ${args.name}::text and c.owner = ${args.nodeId}::text and c.epoch = i.epoch
        and (select slots from h) > ${highestSlot}::int
      order by c.slot for update of c
    ), moved as (
      -- Never backwards: a save that was sent before another one committed (a transactional batch's save beside
      -- the background save of positions reading passed) arrives as an older cursor, and is not written.
      update ${s}.handler_slots c set position = i.position, acked = i.acked::bigint[], updated_at = now()
      from input i, held
      where c.handler_name = ${args.name}::text and c.slot = i.slot and held.slot = i.slot
        and c.owner = ${args.nodeId}::text and c.epoch = i.epoch
        and (i.position > c.position or (i.position = c.position and c.acked <@ i.acked::bigint[]))
      returning c.slot, c.position
    ), low as (
      -- The other parts of a statement see the rows as they were before it: combine moved and unchanged slots.
      select least(
        (select min(position) from moved),
        (select min(c.position) from ${s}.handler_slots c where c.handler_name = ${args.name}::text and c.slot not in (select slot from moved))
      ) as position
    ), notice as (
      select pg_notify(${args.channel}::text, 'c' || low.position || ':' || ${args.name}::text)
      from low where low.position is not null and exists (select 1 from moved)
    )
    select (select slots from h) as slot_count,
      -- Every slot still held counts as saved (its cursor is at least the one given), whether or not it moved.
      coalesce((select jsonb_agg(slot) from held), '[]') as saved, (select count(*) from notice) as notices`;
  return { slotCount: row?.slot_count ?? null, saved: row?.saved ?? [] };
}
