/**
 * The orders read model: one PostgreSQL table, written only by the OrderProjection handler (inside the transaction
 * herald commits its cursor in) and read by `GET /orders/:id`.
 */
import type { Sql, TransactionSql } from 'postgres';
import type { ConfirmationSent, OrderLine, OrderPlaced } from './orders.ts';

/** An order as `GET /orders/:id` shows it. */
export interface OrderView {
  readonly id: string;
  readonly email: string;
  readonly items: readonly OrderLine[];
  readonly totalCents: number;
  readonly placedAt: string;
  /** `pending` until the mailer's `ConfirmationSent` event is projected. */
  readonly confirmation: { readonly status: 'pending' } | { readonly status: 'sent'; readonly messageId: string; readonly sentAt: string };
}

interface OrderRow {
  id: string;
  email: string;
  items: OrderLine[];
  total_cents: string;
  placed_at: Date;
  confirmation_message_id: string | null;
  confirmed_at: Date | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Creates the read model's schema and table if missing (several processes starting at once are serialized). */
export async function migrateReadModel(sql: Sql, schema: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${`${schema}.migrate`}))`;
    await tx`create schema if not exists ${tx(schema)}`;
    await tx`
      create table if not exists ${tx(schema)}.orders (
        id uuid primary key,
        email text not null,
        items jsonb not null,
        total_cents bigint not null,
        placed_at timestamptz not null,
        confirmation_message_id text,
        confirmed_at timestamptz
      )`;
  });
}

/** Projects `OrderPlaced` (a new row). Runs in the handler's transaction: the row and the cursor commit together. */
export async function projectOrderPlaced(tx: TransactionSql, schema: string, order: OrderPlaced, at: Date): Promise<void> {
  await tx`
    insert into ${tx(schema)}.orders (id, email, items, total_cents, placed_at)
    values (${order.orderId}, ${order.email}, ${tx.json(order.items.map((line) => ({ ...line })))}, ${order.totalCents}, ${at})
    on conflict (id) do nothing`;
}

/** Projects `ConfirmationSent` onto the order's row. */
export async function projectConfirmationSent(tx: TransactionSql, schema: string, sent: ConfirmationSent, at: Date): Promise<void> {
  await tx`
    update ${tx(schema)}.orders set confirmation_message_id = ${sent.messageId}, confirmed_at = ${at}
    where id = ${sent.orderId}`;
}

/** The order with this id, or `undefined` (also for an id that is not a UUID). */
export async function findOrder(sql: Sql, schema: string, id: string): Promise<OrderView | undefined> {
  if (!UUID.test(id)) return undefined;
  const [row] = await sql<OrderRow[]>`select * from ${sql(schema)}.orders where id = ${id}`;
  if (row === undefined) return undefined;
  return {
    id: row.id,
    email: row.email,
    items: row.items,
    totalCents: Number(row.total_cents),
    placedAt: row.placed_at.toISOString(),
    confirmation:
      row.confirmation_message_id === null || row.confirmed_at === null
        ? { status: 'pending' }
        : { status: 'sent', messageId: row.confirmation_message_id, sentAt: row.confirmed_at.toISOString() },
  };
}
