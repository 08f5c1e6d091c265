/** Applies the store's numbered migrations, once each, in order, safely from several processes at once. */
import type { Sql } from 'postgres';
import { migrations } from './migrations/index.ts';
import { appliedVersions, applyMigration, ensureMigrationsTable, lockMigrations } from './sql/migrations.ts';

/**
 * Brings `schema` up to the newest migration in one transaction, under a transaction advisory lock
 * derived from the schema name: a second process migrating at the same time waits, then finds
 * everything applied. Idempotent. `upTo` stops after that version (tests build an older schema with it, to check
 * that the next migrations upgrade it in place); the store always migrates to the newest.
 */
export async function migrate(sql: Sql, schema: string, upTo = Number.POSITIVE_INFINITY): Promise<void> {
  await sql.begin(async (tx) => {
    await lockMigrations(tx, schema);
    await ensureMigrationsTable(tx, schema);
    const applied = new Set(await appliedVersions(tx, schema));
    for (const migration of migrations) {
      if (migration.version <= upTo && !applied.has(migration.version)) await applyMigration(tx, schema, migration);
    }
  });
}
