/** Types of the control requests (resets and replays carried out by the processes running a handler) and operator views. */
import type { NodeIdentity } from './node-identity.ts';

/** A reset or a replay asked of the processes running a handler (see {@link StoreControl}). */
export interface ControlRequest {
  readonly id: number;
  readonly handlerName: string;
  readonly kind: 'reset' | 'replay';
  /** The dead letter to replay. */
  readonly deadLetterId: string | undefined;
  /** Where a reset moves the cursors; `undefined`: where `startFrom` first put them. */
  readonly toPosition: number | undefined;
  /** `pending` until a process takes it (`running`), then `done` or `failed`. */
  readonly state: 'pending' | 'running' | 'done' | 'failed';
  /** Node id of the process that took it. */
  readonly coordinator: string | undefined;
  /** A replay's outcome: `'handled' | 'skipped' | 'stopped'`. */
  readonly outcome: string | undefined;
  readonly error: string | undefined;
}

/** A handler's live members with the slots each leases, and how many dead letters it has. */
export interface HandlerOperations {
  readonly name: string;
  readonly members: readonly { readonly nodeId: string; readonly label: string; readonly slots: readonly number[] }[];
  readonly deadLetters: number;
}

/**
 * Control requests and operator views of the PostgreSQL store. A caller inserts a request (notifying the handler's
 * processes); a process running the handler takes it, carries it out and finishes it.
 */
export interface StoreControl {
  /** Records a request; `timeoutMs` (else none) fails it if nobody finished it by then. */
  request(args: {
    readonly handlerName: string;
    readonly kind: 'reset' | 'replay';
    readonly deadLetterId?: string | undefined;
    readonly toPosition?: number | undefined;
    readonly timeoutMs?: number | undefined;
  }): Promise<ControlRequest>;
  get(id: number): Promise<ControlRequest | undefined>;
  /** Pending and running requests of these handlers, oldest first (requests past their deadline fail first). */
  open(handlerNames: readonly string[]): Promise<ControlRequest[]>;
  /** Takes a pending request; `false` when another process took it or it ended. */
  claim(id: number, nodeId: string): Promise<boolean>;
  /** Ends a request; `false` when it had already ended. */
  finish(id: number, result: { readonly state: 'done' | 'failed'; readonly outcome?: string | undefined; readonly error?: string | undefined }): Promise<boolean>;
  /** Processes whose membership of the handler is live. */
  liveMembers(handlerName: string): Promise<NodeIdentity[]>;
  /** Moves every slot cursor to `position` (nothing acknowledged above) and ends every lease. */
  moveCursors(handlerName: string, position: number): Promise<void>;
  /** Members, slots and dead-letter counts of every handler. */
  operations(): Promise<HandlerOperations[]>;
  /** Applied migration versions; `undefined` when the schema was never migrated. */
  migrated(): Promise<number[] | undefined>;
  /** Calls `listener` when a request of a handler was made or ended (by any process). */
  onRequest(listener: (handlerName: string) => void): () => void;
}
