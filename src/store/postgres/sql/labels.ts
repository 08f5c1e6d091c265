/**
 * A process taking up a stable `node.label` (issue 14): it checks, under a transaction advisory lock per label,
 * the live members that carry the label already. Each one's recorded session (migration 6) tells whether its
 * process is alive (the session is in `pg_stat_activity`), dead (it is not), or unknown (none recorded).
 */
import type { Sql } from 'postgres';
import type { NodeIdentity } from '../../types.ts';

/** What a label check found, per other node carrying the label. */
export interface LabelHolderRow {
  readonly node_id: string;
  /** One handler the node runs (for the message). */
  readonly handler_name: string;
  /** Its latest membership expiry, in ms since the epoch (database clock). */
  readonly expires_ms: number;
  readonly state: 'alive' | 'dead' | 'unknown';
}

/**
 * Finds the live members of `names` other than `node` with its label. When every one of them is dead (or there is
 * none), removes their memberships of every handler, frees their slots (the next claim bumps each epoch, fencing
 * anything they left in flight), makes `node` a member of `names` with its session, and notifies `m<name>` for
 * every handler touched, all in one transaction. Otherwise changes nothing. Returns what it found.
 */
export async function claimLabel(
  sql: Sql,
  schema: string,
  args: { node: NodeIdentity; names: readonly string[]; leaseMs: number; sessionPid: number | undefined; channel: string },
): Promise<LabelHolderRow[]> {
  const { node, names, leaseMs, sessionPid, channel } = args;
  const nameList = JSON.stringify(names);
  return sql.begin(async (tx) => {
    const s = tx(schema);
    await tx`select pg_advisory_xact_lock(hashtextextended(${`herald.label:${schema}:${node.label}`}, 0))`;
    const holders = await tx<LabelHolderRow[]>`
      with rows as (
        select m.node_id, m.handler_name, m.expires_at,
          case when m.backend_pid is null or m.backend_start is null then 'unknown'
               when exists (select 1 from pg_stat_activity a where a.pid = m.backend_pid and a.backend_start = m.backend_start) then 'alive'
               else 'dead' end as state
        from ${s}.handler_members m
        where m.label = ${node.label}::text and m.node_id <> ${node.id}::text
          and m.handler_name in (select jsonb_array_elements_text(${nameList}::text::jsonb)) and m.expires_at > now()
      )
      -- A node is dead only when every session it recorded is gone; alive when any is there.
      select node_id, min(handler_name) as handler_name,
        (extract(epoch from max(expires_at)) * 1000)::float8 as expires_ms,
        case when bool_or(state = 'alive') then 'alive' when bool_and(state = 'dead') then 'dead' else 'unknown' end as state
      from rows group by node_id order by node_id`;
    if (holders.some((holder) => holder.state !== 'dead')) return [...holders];
    const dead = JSON.stringify(holders.map((holder) => holder.node_id));
    await tx`
      with gone as (
        delete from ${s}.handler_members where node_id in (select jsonb_array_elements_text(${dead}::text::jsonb)) returning handler_name
      ), freed as (
        update ${s}.handler_slots c set owner = null, owner_label = null, lease_until = null
        from (select handler_name, slot from ${s}.handler_slots where owner in (select jsonb_array_elements_text(${dead}::text::jsonb)) order by handler_name, slot for update) f
        where c.handler_name = f.handler_name and c.slot = f.slot
        returning c.handler_name
      ), session as (
        select pid, backend_start from pg_stat_activity where pid = ${sessionPid ?? null}::int
      ), joined as (
        insert into ${s}.handler_members (handler_name, node_id, label, expires_at, backend_pid, backend_start)
        select h.name, ${node.id}::text, ${node.label}::text, now() + ${leaseMs}::int * interval '1 millisecond',
          (select pid from session), (select backend_start from session)
        from ${s}.handlers h where h.name in (select jsonb_array_elements_text(${nameList}::text::jsonb))
        on conflict (handler_name, node_id) do update set label = excluded.label, expires_at = excluded.expires_at,
          backend_pid = excluded.backend_pid, backend_start = excluded.backend_start
        returning handler_name
      )
      select pg_notify(${channel}::text, 'm' || touched.handler_name)
      from (select handler_name from gone union select handler_name from freed union select handler_name from joined) touched`;
    return [...holders];
  });
}
