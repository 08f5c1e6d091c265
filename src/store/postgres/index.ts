/**
 * The PostgreSQL event store: durable log with gap-safe global numbering (a post-commit sequencer, see
 * `sequencer.ts`), handlers' cursors, dead letters and LISTEN/NOTIFY wake-ups.
 */
import type { Sql } from 'postgres';
import { StoreError } from '../../errors.ts';
import type { EventStore, StoreControl, StoreTransaction } from '../types.ts';
import { createControl } from './control.ts';
import { createCursors } from './cursors.ts';
import { createDeadLetters } from './dead-letters.ts';
import { storeFailure } from './failure.ts';
import { createEventLog } from './log.ts';
import { migrate } from './migrate.ts';
import { createNotifications } from './notifications.ts';
import { resolveOptions } from './options.ts';
import type { PostgresStoreOptions } from './options.ts';
import { retryConnectionLoss } from './retry.ts';
import { createSequencer } from './sequencer.ts';
import { createSlots } from './slots.ts';
import { createSchemaGate } from './schema-gate.ts';
import { runTransaction } from './transaction.ts';

export type { PostgresStoreOptions } from './options.ts';

/** The PostgreSQL store: an {@link EventStore} with its transaction support and its connection. */
export interface PostgresStore extends EventStore {
  readonly kind: 'postgres';
  /** Creates or upgrades the schema (numbered migrations, safe to run from several processes). */
  migrate(): Promise<void>;
  /** Runs `work` in one transaction (handlers with `transactional: true`). */
  transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  /** The postgres.js instance the store uses (given, or opened from `url`). */
  readonly sql: Sql;
  /** The schema holding the store's tables. */
  readonly schema: string;
  /** Control requests (reset and replay across processes) and operator views. */
  readonly control: StoreControl;
}

/**
 * Creates a PostgreSQL store. Throws `HandlerConfigError` for bad options.
 * @example
 * import postgres from 'postgres';
 * const sql = postgres(process.env.DATABASE_URL);
 * const store = postgresStore({ sql, schema: 'herald' });
 * await store.migrate();
 */
export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  const { sql, owned, schema, sequencerBatchSize, connectionRetryMs, autoMigrate, channel, listenSql, listenOwned } = resolveOptions(options);
  const notifications = createNotifications({
    sql: listenSql,
    channel,
    sequence: () => void sequencer.number().catch(() => undefined),
  });
  const sequencer = createSequencer(sql, schema, sequencerBatchSize, channel);
  const log = createEventLog({ sql, schema, channel, sequencer, listening: () => notifications.ready() });
  const cursors = createCursors({ sql, schema, channel, head: () => log.head() });
  const deadLetters = createDeadLetters(sql, schema);
  const slots = createSlots(sql, schema, channel, () => notifications.sessionPid());
  const gate = createSchemaGate({
    sql,
    schema,
    autoMigrate,
    migrate: () => migrate(sql, schema),
    retry: (work) => retryConnectionLoss(work, connectionRetryMs),
  });
  let closing: Promise<void> | undefined;

  /**
   * Runs one operation: rejects once closed, migrates (or checks) the schema on the first call, repeats the
   * operation after a lost connection (unless `retry` is false), and surfaces every failure as a herald error.
   */
  async function run<T>(operation: string, work: () => Promise<T>, retry = true, gated = true): Promise<T> {
    if (closing !== undefined) throw new StoreError(`${operation}: the PostgreSQL store is closed`);
    try {
      if (gated) await gate.ready();
      return retry ? await retryConnectionLoss(work, connectionRetryMs) : await work();
    } catch (error) {
      throw storeFailure(operation, error);
    }
  }

  const control = createControl({ sql, schema, channel, notifications, run: (operation, work) => run(operation, work),
    runUnmigrated: (operation, work) => run(operation, work, true, false),
  });

  /** Runs `work` once the LISTEN of this process's listeners (if any) is in place. */
  async function heard<T>(work: () => Promise<T>): Promise<T> {
    await notifications.ready();
    return work();
  }

  return {
    kind: 'postgres',
    sql,
    schema,
    async migrate() {
      await run('migrate', () => migrate(sql, schema), true, false);
      gate.migrated();
    },
    append: (request) => run('append', () => log.append(request), request?.transaction === undefined),
    read: (request) => run('read', () => log.read(request)),
    headPosition: () => run('headPosition', () => log.head()),
    registerHandler: (registration) => run('registerHandler', () => cursors.register(registration)),
    loadHandler: (name) => run('loadHandler', () => cursors.load(name)),
    listHandlers: () => run('listHandlers', () => cursors.list()),
    saveCursor: (name, state) =>
      run('saveCursor', async () => {
        await notifications.ready();
        await cursors.save(sql, name, state);
      }),
    // Calls that may notify wait for this process's LISTEN first, so its own listeners hear them too.
    resetCursor: (name) => run('resetCursor', () => heard(() => cursors.reset(name))),
    heartbeat: (name, node, leaseMs) => run('heartbeat', () => heard(() => slots.heartbeat(name, node, leaseMs))),
    claimSlots: (name, node, wanted, leaseMs) => run('claimSlots', () => slots.claim(name, node, wanted, leaseMs)),
    releaseSlots: (name, nodeId, released) => run('releaseSlots', () => heard(() => slots.release(name, nodeId, released))),
    leave: (name, nodeId) => run('leave', () => heard(() => slots.leave(name, nodeId))),
    claimLabel: (node, names, leaseMs) =>
      run('claimLabel', async () => slots.claimLabel(node, names, leaseMs, await notifications.session())),
    saveSlotCursors: (name, nodeId, saved) =>
      run('saveSlotCursors', async () => {
        await notifications.ready();
        await slots.save(sql, name, nodeId, saved);
      }),
    noteInFlight: (name, nodeId, notes) => run('noteInFlight', () => slots.noteInFlight(name, nodeId, notes)),
    clearInFlight: (name, nodeId, held) => run('clearInFlight', () => slots.clearInFlight(name, nodeId, held)),
    addDeadLetter(deadLetter) {
      const id = deadLetters.newId();
      return run('addDeadLetter', () => deadLetters.add(sql, deadLetter, id));
    },
    listDeadLetters: (filter) => run('listDeadLetters', () => deadLetters.list(filter?.handlerName)),
    getDeadLetter: (id) => run('getDeadLetter', () => deadLetters.get(id)),
    removeDeadLetter: (id) => run('removeDeadLetter', () => deadLetters.remove(id)),
    pruneDeadLetters: (olderThan) => run('pruneDeadLetters', () => deadLetters.prune(olderThan)),
    onAppend: (listener) => notifications.onAppend(listener),
    onCursorSaved: (listener) => notifications.onCursorSaved(listener),
    onMembershipChanged: (listener) => notifications.onMembershipChanged(listener),
    control,
    async transaction(work) {
      await run('transaction', async () => undefined);
      await notifications.ready();
      return runTransaction(sql, { cursors, deadLetters, slots }, work);
    },
    close() {
      closing ??= (async () => {
        await notifications.close();
        if (listenOwned) await listenSql?.end({ timeout: 5 });
        if (owned) await sql.end({ timeout: 5 });
      })();
      return closing;
    },
  };
}
