/** Queries of the `dead_letters` table. */
import type { ISql } from 'postgres';
import { StoreError } from '../../../errors.ts';

/** A `dead_letters` row as read. */
export interface DeadLetterRow {
  readonly id: string;
  readonly handler_name: string;
  readonly event: Record<string, unknown>;
  readonly error_message: string;
  readonly error_stack: string | null;
  /** Migration 8. */
  readonly error_code: string | null;
  readonly attempts: number;
  readonly dead_at: Date;
}

/** Inserts a dead letter; `event` is its JSON text. */
export async function insertDeadLetter(
  db: ISql,
  schema: string,
  args: { id: string; handlerName: string; event: string; message: string; stack: string | null; code: string | null; attempts: number },
): Promise<DeadLetterRow> {
  const [row] = await db<DeadLetterRow[]>`
    insert into ${db(schema)}.dead_letters (id, handler_name, event, error_message, error_stack, error_code, attempts)
    values (${args.id}::text, ${args.handlerName}::text, ${args.event}::text::jsonb, ${args.message}::text, ${args.stack}::text,
      ${args.code}::text, ${args.attempts}::integer)
    returning *`;
  if (row === undefined) throw new StoreError('insert returned no row');
  return row;
}

/** Dead letters oldest first, optionally of one handler. */
export async function selectDeadLetters(db: ISql, schema: string, handlerName: string | undefined): Promise<DeadLetterRow[]> {
  const s = db(schema);
  return handlerName === undefined
    ? db<DeadLetterRow[]>`select * from ${s}.dead_letters order by dead_at, id`
    : db<DeadLetterRow[]>`select * from ${s}.dead_letters where handler_name = ${handlerName}::text order by dead_at, id`;
}

/** One dead letter by id. */
export async function selectDeadLetter(db: ISql, schema: string, id: string): Promise<DeadLetterRow | undefined> {
  const [row] = await db<DeadLetterRow[]>`select * from ${db(schema)}.dead_letters where id = ${id}::text`;
  return row;
}

/** Deletes one dead letter; false when there was none. */
export async function deleteDeadLetter(db: ISql, schema: string, id: string): Promise<boolean> {
  const result = await db`delete from ${db(schema)}.dead_letters where id = ${id}::text`;
  return result.count > 0;
}

/** Deletes the dead letters recorded before `olderThan`; returns how many. */
export async function deleteDeadLettersBefore(db: ISql, schema: string, olderThan: Date): Promise<number> {
  const result = await db`delete from ${db(schema)}.dead_letters where dead_at < ${olderThan}::timestamptz`;
  return result.count;
}
