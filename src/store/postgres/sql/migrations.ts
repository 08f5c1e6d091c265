/** Queries of the migration runner (`../migrate.ts`). */
import type { Sql, TransactionSql } from 'postgres';

/** Serializes migrations of one schema across processes until the transaction ends. */
export async function lockMigrations(tx: TransactionSql, schema: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${`herald.migrate:${schema}`}, 0))`;
}

/** Creates the schema and its `migrations` table when missing (checked first: `IF NOT EXISTS` would print notices). */
export async function ensureMigrationsTable(tx: TransactionSql, schema: string): Promise<void> {
  const [row] = await tx<{ schema: boolean; table: boolean }[]>`
    select exists (select 1 from pg_namespace where nspname = ${schema}) as schema,
           exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                   where n.nspname = ${schema} and c.relname = 'migrations') as table`;
  if (row?.schema !== true) await tx`create schema ${tx(schema)}`;
  if (row?.table !== true) {
    await tx`create table ${tx(schema)}.migrations (
      version integer primary key,
      name text not null,
      applied_at timestamptz not null default now()
    )`;
  }
}

/** Versions already applied. */
export async function appliedVersions(tx: TransactionSql, schema: string): Promise<number[]> {
  const rows = await tx<{ version: number }[]>`select version from ${tx(schema)}.migrations order by version`;
  return rows.map((row) => row.version);
}

/** Runs one migration's statements with the schema as `search_path`, and records it. */
export async function applyMigration(tx: TransactionSql, schema: string, migration: { version: number; name: string; sql: string }): Promise<void> {
  await tx`set local search_path to ${tx(schema)}, pg_temp`;
  await tx.unsafe(migration.sql);
  await tx`insert into ${tx(schema)}.migrations (version, name) values (${migration.version}, ${migration.name})`;
}

/** Versions applied to `schema`, outside a migration (fails with 3F000 / 42P01 when the schema or table is missing). */
export async function appliedVersionsOf(sql: Sql, schema: string): Promise<number[]> {
  const rows = await sql<{ version: number }[]>`select version from ${sql(schema)}.migrations order by version`;
  return rows.map((row) => row.version);
}
