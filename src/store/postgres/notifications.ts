/**
 * Wake-ups through LISTEN/NOTIFY on one channel per schema, listened to lazily (on the first listener)
 * over postgres.js's single LISTEN connection.
 *
 * Payloads: `a` (the sequencer numbered events: they are readable), `u` (a caller's transaction committed
 * events that await numbers: run the sequencer), `c<position>:<name>` (a cursor was saved), `m<name>` (a handler's members or slot owners changed), `x<name>` (a control request of the handler was made or ended). Every one is
 * sent by the transaction that makes it true, so it is delivered only once that transaction committed.
 * Notifications are lost while the connection is down: postgres.js LISTENs again after reconnecting and
 * calls `onlisten`, where append listeners are called so readers catch up from their cursors.
 *
 * The LISTEN connection is also this process's *session*: a connection it keeps open while it runs, whose backend
 * pid heartbeats record so that a process restarting under the same `node.label` can see in `pg_stat_activity`
 * that this one is gone. Without a LISTEN connection (`pooled` without `listenUrl`) nothing is listened to:
 * readers rely on their fallback poll.
 */
import type { Sql } from 'postgres';

/** Listener registry of one store. */
export interface Notifications {
  onAppend(listener: () => void): () => void;
  onCursorSaved(listener: (handlerName: string, position: number) => void): () => void;
  onMembershipChanged(listener: (handlerName: string) => void): () => void;
  /** `x<name>`: a control request of the handler was made or ended. */
  onControl(listener: (handlerName: string) => void): () => void;
  /**
   * Resolves once the LISTEN of the first subscription is in place (at once when nobody listens), so a
   * write awaiting it is heard by this process's own listeners.
   */
  ready(): Promise<void>;
  /**
   * Starts listening if nobody did yet, and resolves with the backend pid of the LISTEN connection (`undefined`
   * when there is none, or it is not connected).
   */
  session(): Promise<number | undefined>;
  /** The LISTEN connection's backend pid as last known (`undefined` when none). */
  sessionPid(): number | undefined;
  /** Stops listening; later notifications are ignored. Idempotent. */
  close(): Promise<void>;
}

/** What the notifications need from the store. */
export interface NotificationDeps {
  /** Where to LISTEN; `undefined`: nowhere (polling only). */
  readonly sql: Sql | undefined;
  readonly channel: string;
  /** Called on `u`: number the committed batches (errors are the callee's to handle). */
  readonly sequence: () => void;
}

function callEach<A extends unknown[]>(listeners: Iterable<(...args: A) => void>, ...args: A): void {
  for (const listener of [...listeners]) {
    try {
      listener(...args);
    } catch {
      // A listener that throws never disturbs the store or the other listeners.
    }
  }
}

/** Creates the registry; nothing is listened to until the first listener subscribes. */
export function createNotifications({ sql, channel, sequence }: NotificationDeps): Notifications {
  const appendListeners = new Set<() => void>();
  const cursorListeners = new Set<(handlerName: string, position: number) => void>();
  const membershipListeners = new Set<(handlerName: string) => void>();
  const controlListeners = new Set<(handlerName: string) => void>();
  let listening: Promise<(() => Promise<void>) | undefined> | undefined;
  /** postgres.js's state of the LISTEN connection (its `pid` follows reconnects). */
  let state: { pid?: number | null } | undefined;
  let closed = false;

  function onNotify(payload: string): void {
    if (closed) return;
    if (payload === 'a') callEach(appendListeners);
    else if (payload === 'u') sequence();
    else if (payload.startsWith('c')) {
      const colon = payload.indexOf(':');
      const position = Number(payload.slice(1, colon));
      if (colon > 1 && Number.isSafeInteger(position)) callEach(cursorListeners, payload.slice(colon + 1), position);
    } else if (payload.startsWith('m')) callEach(membershipListeners, payload.slice(1));
    else if (payload.startsWith('x')) callEach(controlListeners, payload.slice(1));
  }

  function onListen(): void {
    if (!closed) callEach(appendListeners);
  }

  function ensureListening(): void {
    if (listening !== undefined || closed || sql === undefined) return;
    // A failed LISTEN is retried by postgres.js when its connection closes; the runtime's fallback poll
    // covers the gap, so the failure is only swallowed here (never an unhandled rejection).
    listening = sql.listen(channel, onNotify, onListen).then(
      (meta) => {
        state = meta.state as { pid?: number | null } | undefined;
        return meta.unlisten;
      },
      () => undefined,
    );
  }

  function sessionPid(): number | undefined {
    const pid = state?.pid;
    return typeof pid === 'number' && pid > 0 && !closed ? pid : undefined;
  }

  function subscribe<L>(set: Set<L>, listener: L): () => void {
    set.add(listener);
    ensureListening();
    return () => {
      set.delete(listener);
    };
  }

  return {
    onAppend: (listener) => subscribe(appendListeners, listener),
    onCursorSaved: (listener) => subscribe(cursorListeners, listener),
    onMembershipChanged: (listener) => subscribe(membershipListeners, listener),
    onControl: (listener) => subscribe(controlListeners, listener),
    async ready() {
      await listening;
    },
    async session() {
      ensureListening();
      await listening;
      return sessionPid();
    },
    sessionPid,
    async close() {
      if (closed) return;
      closed = true;
      appendListeners.clear();
      cursorListeners.clear();
      membershipListeners.clear();
      controlListeners.clear();
      const unlisten = await listening;
      await unlisten?.().catch(() => undefined);
    },
  };
}
