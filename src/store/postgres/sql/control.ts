/**
 * Queries of operations: control requests (reset and replay carried out by the processes running a handler) and the
 * status read by `herald status` and the status page.
 */
import type { ISql } from 'postgres';
import type { Int8 } from './events.ts';

/** A `control_requests` row as read. */
export interface ControlRow {
  readonly id: Int8;
  readonly handler_name: string;
  readonly kind: 'reset' | 'replay';
  readonly dead_letter_id: string | null;
  readonly to_position: Int8 | null;
  readonly state: 'pending' | 'running' | 'done' | 'failed';
  readonly coordinator: string | null;
  readonly outcome: string | null;
  readonly error: string | null;
}

/** Inserts a request and notifies `x<name>` at commit; returns its id. */
export async function insertRequest(
  db: ISql,
  schema: string,
  channel: string,
  args: { handlerName: string; kind: 'reset' | 'replay'; deadLetterId: string | null; toPosition: number | null; timeoutMs: number | null },
): Promise<ControlRow> {
  const s = db(schema);
  const [row] = await db<ControlRow[]>`
    with inserted as (
      insert into ${s}.control_requests (handler_name, kind, dead_letter_id, to_position, deadline)
      values (${args.handlerName}::text, ${args.kind}::text, ${args.deadLetterId}::text, ${args.toPosition}::bigint,
        case when ${args.timeoutMs}::int is null then null else now() + ${args.timeoutMs}::int * interval '1 millisecond' end)
      returning *
    ), notice as (
      select pg_notify(${channel}::text, 'x' || ${args.handlerName}::text) from inserted
    )
    select inserted.*, (select count(*) from notice) as notices from inserted`;
  if (row === undefined) throw new Error('insert returned no row');
  return row;
}

/** One request by id. */
export async function selectRequest(db: ISql, schema: string, id: number): Promise<ControlRow | undefined> {
  const [row] = await db<ControlRow[]>`select * from ${db(schema)}.control_requests where id = ${id}::bigint`;
  return row;
}

/**
 * Open (pending or running) requests of the given handlers, oldest first, in one round trip: those past their
 * deadline are failed first (and not returned).
 */
export async function selectOpenRequests(db: ISql, schema: string, names: readonly string[]): Promise<ControlRow[]> {
  const s = db(schema);
  return db<ControlRow[]>`
    with expired as (
      update ${s}.control_requests set state = 'failed', error = 'the request timed out', updated_at = now()
      where state in ('pending', 'running') and handler_name = any(${names as string[]}::text[]) and deadline < now()
      returning id
    )
    select * from ${s}.control_requests
    where state in ('pending', 'running') and handler_name = any(${names as string[]}::text[])
      and (deadline is null or deadline >= now()) and id not in (select id from expired)
    order by id`;
}

/** Takes a pending request as its coordinator; false when someone else took it or it ended. */
export async function claimRequest(db: ISql, schema: string, id: number, nodeId: string): Promise<boolean> {
  const rows = await db`
    update ${db(schema)}.control_requests set state = 'running', coordinator = ${nodeId}::text, updated_at = now()
    where id = ${id}::bigint and state = 'pending' and (deadline is null or deadline > now())
    returning 1`;
  return rows.length > 0;
}

/** Ends a request (unless it already ended) and notifies `x<name>` at commit. */
export async function finishRequest(
  db: ISql,
  schema: string,
  channel: string,
  args: { id: number; state: 'done' | 'failed'; outcome: string | null; error: string | null },
): Promise<boolean> {
  const rows = await db`
    with ended as (
      update ${db(schema)}.control_requests set state = ${args.state}::text, outcome = ${args.outcome}::text,
        error = ${args.error}::text, updated_at = now()
      where id = ${args.id}::bigint and state in ('pending', 'running')
      returning handler_name
    )
    select pg_notify(${channel}::text, 'x' || handler_name) from ended`;
  return rows.length > 0;
}

/** Live members of a handler (heartbeat not expired): `[node id, label]`. */
export async function selectLiveMembers(db: ISql, schema: string, name: string): Promise<{ node_id: string; label: string }[]> {
  return db<{ node_id: string; label: string }[]>`
    select node_id, label from ${db(schema)}.handler_members where handler_name = ${name}::text and expires_at > now() order by node_id`;
}

/**
 * Moves every slot of a handler to `position` with nothing acknowledged above it and ends every lease (epoch + 1),
 * notifying `m<name>`. Returns false for an unknown handler.
 */
export async function moveSlots(db: ISql, schema: string, name: string, position: number, channel: string): Promise<boolean> {
  const s = db(schema);
  const rows = await db`
    with locked as (
      select slot from ${s}.handler_slots where handler_name = ${name}::text order by slot for update
    ), moved as (
      update ${s}.handler_slots c
      set position = ${position}::bigint, acked = '{}', owner = null, owner_label = null, lease_until = null,
        epoch = c.epoch + 1, inflight = '{}', suspects = '{}', updated_at = now()
      from locked l where c.handler_name = ${name}::text and c.slot = l.slot
      returning 1
    )
    select pg_notify(${channel}::text, 'm' || ${name}::text) where exists (select 1 from moved)`;
  return rows.length > 0;
}

/** What status needs per handler beyond its record: live members with the slots they lease, dead letters. */
export interface OperationsRow {
  readonly name: string;
  /** `[node id, label, slots[]]` per live member. */
  readonly members: [string, string, number[]][];
  readonly dead_letters: Int8;
}

/** Live members (with their leased slots) and dead-letter counts of every handler. */
export async function selectOperations(db: ISql, schema: string): Promise<OperationsRow[]> {
  const s = db(schema);
  return db<OperationsRow[]>`
    select h.name,
      coalesce((
        select jsonb_agg(jsonb_build_array(m.node_id, m.label, coalesce((
          select jsonb_agg(c.slot order by c.slot) from ${s}.handler_slots c
          where c.handler_name = h.name and c.owner = m.node_id and c.lease_until > now()), '[]')) order by m.node_id)
        from ${s}.handler_members m where m.handler_name = h.name and m.expires_at > now()), '[]') as members,
      (select count(*) from ${s}.dead_letters d where d.handler_name = h.name) as dead_letters
    from ${s}.handlers h order by h.name`;
}

/** Versions of applied migrations, or `undefined` when the schema has no migrations table. */
export async function selectMigrated(db: ISql, schema: string): Promise<number[] | undefined> {
  const [row] = await db<{ present: boolean }[]>`
    select exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                   where n.nspname = ${schema} and c.relname = 'migrations') as present`;
  if (row?.present !== true) return undefined;
  const rows = await db<{ version: number }[]>`select version from ${db(schema)}.migrations order by version`;
  return rows.map((r) => r.version);
}
