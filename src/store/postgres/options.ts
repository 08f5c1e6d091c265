/** Options of `postgresStore`, their defaults, and their validation. */
import { createHash } from 'node:crypto';
import postgres from 'postgres';
import type { Sql } from 'postgres';
import { HandlerConfigError } from '../../errors.ts';

/** Options of {@link postgresStore}. Give exactly one of `sql` and `url`. */
export interface PostgresStoreOptions {
  /** A postgres.js instance to use. The store never ends it (it only stops listening on `close()`). */
  readonly sql?: Sql | undefined;
  /** A connection URL: the store opens its own pool and ends it on `close()`. */
  readonly url?: string | undefined;
  /**
   * A direct connection URL (not through a transaction-mode pooler) for what needs a session of its own: LISTEN
   * (wake-ups) and the session by which a restarted process with the same `node.label` sees that the one it
   * replaces is gone. The store opens one connection from it and ends it on `close()`. Without it, these use
   * `url`/`sql`, or, when `pooled` is true, are done without: wake-ups fall back to polling (`pollMs`) and a
   * same-label takeover waits for the lease.
   */
  readonly listenUrl?: string | undefined;
  /**
   * Whether `url`/`sql` reaches PostgreSQL through a pooler in transaction mode (PgBouncer, RDS Proxy, Supavisor):
   * then herald uses no session state on it (no LISTEN, no prepared statements, no pipelining: the pool it opens
   * from `url` sets postgres.js `prepare: false` and `max_pipeline: 1`, and a given `sql` must have been created
   * with both).
   * @default false
   */
  readonly pooled?: boolean | undefined;
  /**
   * Schema of herald's tables (created by `migrate()`). At most 63 bytes, without `.`.
   * @default 'herald'
   */
  readonly schema?: string | undefined;
  /**
   * Pool size when the store opens its own connections from `url`.
   * @default 10
   */
  readonly maxConnections?: number | undefined;
  /**
   * Most appends (batches of events) one sequencer transaction numbers; a run loops until none remain.
   * @default 1000
   */
  readonly sequencerBatchSize?: number | undefined;
  /**
   * How long, in all, a store call waits and retries after losing its connection before it rejects with
   * `StoreError` (never for calls inside a caller's transaction). `0` disables retries.
   * @default 3000
   */
  readonly connectionRetryMs?: number | undefined;
  /**
   * Whether the store's first call of any kind runs `migrate()` (once; concurrent first calls share it). With
   * `false`, only `migrate()` and `app.start()` migrate, and a call on an unmigrated schema rejects with a
   * `StoreError` that names the schema and says to run `migrate()`.
   * @default true
   */
  readonly autoMigrate?: boolean | undefined;
}

/** The defaults of {@link PostgresStoreOptions}. */
export const defaults = {
  schema: 'herald',
  maxConnections: 10,
  sequencerBatchSize: 1000,
  connectionRetryMs: 3000,
  autoMigrate: true,
  pooled: false,
} as const satisfies PostgresStoreOptions;

/** Options validated and completed. */
export interface ResolvedOptions {
  readonly sql: Sql;
  /** Whether the store opened `sql` itself (and so ends it on close). */
  readonly owned: boolean;
  readonly schema: string;
  readonly sequencerBatchSize: number;
  readonly connectionRetryMs: number;
  readonly autoMigrate: boolean;
  /** The LISTEN/NOTIFY channel of this schema. */
  readonly channel: string;
  /** Where LISTEN runs (the instance's own listen connection), or `undefined`: no LISTEN, polling only. */
  readonly listenSql: Sql | undefined;
  /** Whether the store opened `listenSql` itself, apart from `sql` (and so ends it on close). */
  readonly listenOwned: boolean;
}

function positiveInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new HandlerConfigError(`postgresStore: ${field} must be a positive integer, got ${String(value)}`, field);
  }
  return value;
}

/**
 * postgres.js options behind a transaction-mode pooler: no named prepared statements, and one query at a time per
 * connection (postgres.js 4 pipelines up to 100 queries on a connection by default; through PgBouncer 1.18 in
 * transaction mode, concurrent pipelined queries hung or failed with `serializers[i] is not a function`).
 */
const POOLED_DRIVER_OPTIONS = { prepare: false, max_pipeline: 1 } as const;

/** The schema's notification channel: readable when it fits PostgreSQL's 63-byte identifiers, hashed otherwise. */
export function channelOf(schema: string): string {
  const readable = `herald.${schema}`;
  if (Buffer.byteLength(readable) <= 63) return readable;
  return `herald.${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`;
}

/** Validates `options` (throwing `HandlerConfigError` naming the field) and opens the pool for `url`. */
export function resolveOptions(options: PostgresStoreOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new HandlerConfigError('postgresStore needs an options object');
  const known = new Set(['sql', 'url', 'listenUrl', 'pooled', 'schema', 'maxConnections', 'sequencerBatchSize', 'connectionRetryMs', 'autoMigrate']);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new HandlerConfigError(`postgresStore: unknown option "${key}"`, key);
  }
  const schema = options.schema ?? defaults.schema;
  if (typeof schema !== 'string' || schema === '' || Buffer.byteLength(schema) > 63 || /[.\0]/.test(schema)) {
    throw new HandlerConfigError(`postgresStore: schema must be a non-empty name of at most 63 bytes without "." (got ${JSON.stringify(schema)})`, 'schema');
  }
  const maxConnections = positiveInteger(options.maxConnections ?? defaults.maxConnections, 'maxConnections');
  const sequencerBatchSize = positiveInteger(options.sequencerBatchSize ?? defaults.sequencerBatchSize, 'sequencerBatchSize');
  const connectionRetryMs = options.connectionRetryMs ?? defaults.connectionRetryMs;
  if (typeof connectionRetryMs !== 'number' || !Number.isSafeInteger(connectionRetryMs) || connectionRetryMs < 0) {
    throw new HandlerConfigError(`postgresStore: connectionRetryMs must be a non-negative integer, got ${String(connectionRetryMs)}`, 'connectionRetryMs');
  }
  const autoMigrate = options.autoMigrate ?? defaults.autoMigrate;
  if (typeof autoMigrate !== 'boolean') {
    throw new HandlerConfigError(`postgresStore: autoMigrate must be true or false, got ${String(autoMigrate)}`, 'autoMigrate');
  }
  const pooled = options.pooled ?? defaults.pooled;
  if (typeof pooled !== 'boolean') throw new HandlerConfigError(`postgresStore: pooled must be true or false, got ${String(pooled)}`, 'pooled');
  const { listenUrl } = options;
  if (listenUrl !== undefined && (typeof listenUrl !== 'string' || listenUrl === '')) {
    throw new HandlerConfigError(`postgresStore: listenUrl must be a connection string, got ${String(listenUrl)}`, 'listenUrl');
  }
  const base = { schema, sequencerBatchSize, connectionRetryMs, autoMigrate, channel: channelOf(schema) };
  const { sql, url } = options;
  if ((sql === undefined) === (url === undefined)) throw new HandlerConfigError('postgresStore needs exactly one of sql and url', 'sql');
  if (sql !== undefined) {
    if (typeof sql !== 'function' || typeof sql.begin !== 'function') throw new HandlerConfigError('postgresStore: sql must be a postgres.js instance', 'sql');
    const transform = sql.options.transform;
    if (transform.column.from !== undefined || transform.column.to !== undefined || transform.value.from !== undefined || transform.row.from !== undefined) {
      throw new HandlerConfigError('postgresStore: the sql instance must not transform column names, values or rows', 'sql');
    }
    const pipeline: unknown = sql.options.max_pipeline;
    if (pooled && (sql.options.prepare !== false || (pipeline !== undefined && pipeline !== 1))) {
      throw new HandlerConfigError(
        'postgresStore: with pooled: true, the sql instance must be created with prepare: false and max_pipeline: 1 ' +
          `(a transaction-mode pooler keeps neither prepared statements nor pipelined queries on one session; got prepare: ${String(sql.options.prepare)}, max_pipeline: ${String(pipeline)})`,
        'sql',
      );
    }
    return { sql, owned: false, ...base, ...listening(sql, pooled, listenUrl) };
  }
  if (typeof url !== 'string' || url === '') throw new HandlerConfigError('postgresStore: url must be a connection string', 'url');
  const own = postgres(url, { max: maxConnections, onnotice: () => {}, ...(pooled ? POOLED_DRIVER_OPTIONS : {}) });
  return { sql: own, owned: true, ...base, ...listening(own, pooled, listenUrl) };
}

/** Where LISTEN runs: a connection of its own from `listenUrl`, else the pool's listen connection unless pooled. */
function listening(sql: Sql, pooled: boolean, listenUrl: string | undefined): { listenSql: Sql | undefined; listenOwned: boolean } {
  if (listenUrl !== undefined) return { listenSql: postgres(listenUrl, { max: 1, onnotice: () => {} }), listenOwned: true };
  return { listenSql: pooled ? undefined : sql, listenOwned: false };
}
