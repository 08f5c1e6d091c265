/**
 * Makes sure a store's schema is migrated before its first call of any kind. With `autoMigrate` the first call
 * runs `migrate()` (concurrent first calls share one run; other processes are serialized by `migrate`'s lock);
 * without it, the first call checks the schema's version and rejects with a `StoreError` that says what to do.
 * Only success is remembered: after a failure the next call tries again.
 */
import type { Sql } from 'postgres';
import { StoreError } from '../../errors.ts';
import { sqlState } from './failure.ts';
import { migrations } from './migrations/index.ts';
import { appliedVersionsOf } from './sql/migrations.ts';

/** The newest migration this version of herald ships. */
const latestVersion = Math.max(...migrations.map((migration) => migration.version));

/** What the store calls before each operation. */
export interface SchemaGate {
  /** Resolves once the schema is known to be migrated (at once after the first success). */
  ready(): Promise<void>;
  /** Marks the schema migrated (an explicit `migrate()` succeeded). */
  migrated(): void;
}

/** Options of {@link createSchemaGate}. */
export interface SchemaGateOptions {
  readonly sql: Sql;
  readonly schema: string;
  readonly autoMigrate: boolean;
  /** Runs the store's migrations. */
  readonly migrate: () => Promise<void>;
  /** Repeats a call after a lost connection (the store's bounded retry); a schema found unmigrated is not repeated. */
  readonly retry: <T>(work: () => Promise<T>) => Promise<T>;
}

/** Creates the gate of one store. */
export function createSchemaGate({ sql, schema, autoMigrate, migrate, retry }: SchemaGateOptions): SchemaGate {
  let done = false;
  let pending: Promise<void> | undefined;

  const check = autoMigrate ? () => retry(migrate) : async () => assertMigrated(schema, await retry(() => appliedOrNone(sql, schema)));

  return {
    ready() {
      if (done) return Promise.resolve();
      pending ??= check().then(
        () => {
          done = true;
        },
        (error: unknown) => {
          pending = undefined;
          throw error;
        },
      );
      return pending;
    },
    migrated() {
      done = true;
    },
  };
}

/** The migrations applied to `schema`: none when the schema or its `migrations` table does not exist. */
async function appliedOrNone(sql: Sql, schema: string): Promise<number[]> {
  try {
    return await appliedVersionsOf(sql, schema);
  } catch (error) {
    // 3F000: no such schema; 42P01: no migrations table in it.
    if (sqlState(error) === '3F000' || sqlState(error) === '42P01') return [];
    throw error;
  }
}

/** Throws a `StoreError` naming the schema unless `applied` holds every migration this herald ships. */
function assertMigrated(schema: string, applied: readonly number[]): void {
  const missing = migrations.filter((migration) => !applied.includes(migration.version));
  if (missing.length === 0) return;
  const state = applied.length === 0 ? 'is not migrated' : `is at migration ${Math.max(...applied)} of ${latestVersion}`;
  throw new StoreError(
    `PostgreSQL schema "${schema}" ${state}: run store.migrate() (or app.start(), which migrates) before using it, or create the store without autoMigrate: false`,
  );
}
