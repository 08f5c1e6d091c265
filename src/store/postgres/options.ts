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
}

function positiveInteger(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new HandlerConfigError(`postgresStore: ${field} must be a positive integer, got ${String(value)}`, field);
  }
  return value;
}

/** The schema's notification channel: readable when it fits PostgreSQL's 63-byte identifiers, hashed otherwise. */
export function channelOf(schema: string): string {
  const readable = `herald.${schema}`;
  if (Buffer.byteLength(readable) <= 63) return readable;
  return `herald.${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`;
}

/** Validates `options` (throwing `HandlerConfigError` naming the field) and opens the pool for `url`. */
export function resolveOptions(options: PostgresStoreOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new HandlerConfigError('postgresStore needs an options object');
  const known = new Set(['sql', 'url', 'schema', 'maxConnections', 'sequencerBatchSize', 'connectionRetryMs', 'autoMigrate']);
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
  const { sql, url } = options;
  if ((sql === undefined) === (url === undefined)) throw new HandlerConfigError('postgresStore needs exactly one of sql and url', 'sql');
  if (sql !== undefined) {
    if (typeof sql !== 'function' || typeof sql.begin !== 'function') throw new HandlerConfigError('postgresStore: sql must be a postgres.js instance', 'sql');
    const transform = sql.options.transform;
    if (transform.column.from !== undefined || transform.column.to !== undefined || transform.value.from !== undefined || transform.row.from !== undefined) {
      throw new HandlerConfigError('postgresStore: the sql instance must not transform column names, values or rows', 'sql');
    }
    return { sql, owned: false, schema, sequencerBatchSize, connectionRetryMs, autoMigrate, channel: channelOf(schema) };
  }
  if (typeof url !== 'string' || url === '') throw new HandlerConfigError('postgresStore: url must be a connection string', 'url');
  const own = postgres(url, { max: maxConnections, onnotice: () => {} });
  return { sql: own, owned: true, schema, sequencerBatchSize, connectionRetryMs, autoMigrate, channel: channelOf(schema) };
}
