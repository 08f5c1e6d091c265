/**
 * Reset and replay asked from outside the processes running a handler (the CLI, the status page, or an app that does
 * not run it): a control request the processes carry out, and the wait for it. With no process running the handler,
 * a reset moves the cursors itself and a replay stays queued for the next process that starts it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HandlerConfigError, StoreError } from '../errors.ts';
import type { ControlRequest, EventStore, StoreControl } from '../store/types.ts';

/** Where `reset` moves the cursors: where `startFrom` first put them (default), the origin, the head, or an event number. */
export type ResetTarget = 'initial' | 'origin' | 'current' | number;

/** How a reset was carried out. */
export interface ResetResult {
  /** `'processes'`: by the processes running the handler; `'direct'`: nobody ran it, the cursors were moved here. */
  readonly by: 'processes' | 'direct';
  /** The position the cursors were moved to (`undefined` when the processes chose it: the initial position). */
  readonly position: number | undefined;
}

/** What a replay request came to. */
export type ReplayResult =
  | { readonly state: 'done'; readonly outcome: string }
  | { readonly state: 'queued'; readonly requestId: number };

function controlOf(store: EventStore): StoreControl {
  if (store.control === undefined) throw new HandlerConfigError(`a ${store.kind} store has no control requests: use app.reset / app.replayDeadLetter`, 'store');
  return store.control;
}

/**
 * Waits until request `id` is done (resolving with it) or failed (rejecting with `StoreError` carrying its error);
 * after `timeoutMs` it fails the request, so no process acts on it later, and rejects.
 */
export async function waitForRequest(control: StoreControl, id: number, timeoutMs: number): Promise<ControlRequest> {
  let wake: () => void = () => {};
  const unsubscribe = control.onRequest(() => wake());
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const request = await control.get(id);
      if (request === undefined) throw new StoreError(`control request ${id} disappeared`);
      if (request.state === 'done') return request;
      if (request.state === 'failed') throw new StoreError(`${describe(request)} failed: ${request.error ?? 'no reason given'}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        await control.finish(id, { state: 'failed', error: 'the caller stopped waiting' });
        throw new StoreError(`${describe(request)} did not finish within ${timeoutMs} ms (state ${request.state})`);
      }
      const ac = new AbortController();
      wake = () => ac.abort();
      // Woken by the request's notification; the poll covers a lost one.
      await sleep(Math.min(left, 250), undefined, { signal: ac.signal }).catch(() => undefined);
    }
  } finally {
    unsubscribe();
  }
}

function describe(request: ControlRequest): string {
  return request.kind === 'reset' ? `reset of "${request.handlerName}"` : `replay of dead letter "${request.deadLetterId ?? ''}"`;
}

/** Resolves a {@link ResetTarget} to a position, or `undefined` for the initial one. */
async function positionOf(store: EventStore, target: ResetTarget): Promise<number | undefined> {
  if (target === 'initial') return undefined;
  if (target === 'origin') return 0;
  if (target === 'current') return store.headPosition();
  if (!Number.isSafeInteger(target) || target < 0) throw new HandlerConfigError(`reset target must be origin, current or an event number >= 0, got ${String(target)}`, 'to');
  return target;
}

/**
 * Resets a handler across processes: every process running it stops it, one runs `beforeReset`, every slot cursor
 * moves, every process resumes. With no process running it, the cursors are moved here (no `beforeReset`: its code
 * lives in the processes).
 */
export async function requestReset(store: EventStore, handlerName: string, options: { to?: ResetTarget; timeoutMs: number }): Promise<ResetResult> {
  const control = controlOf(store);
  const record = await store.loadHandler(handlerName);
  if (record === undefined) throw new HandlerConfigError(`no handler named ${JSON.stringify(handlerName)} is registered in this schema`, 'handler');
  const position = await positionOf(store, options.to ?? 'initial');
  if ((await control.liveMembers(handlerName)).length === 0) {
    const to = position ?? record.initialPosition;
    await control.moveCursors(handlerName, to);
    return { by: 'direct', position: to };
  }
  const request = await control.request({ handlerName, kind: 'reset', toPosition: position, timeoutMs: options.timeoutMs });
  await waitForRequest(control, request.id, options.timeoutMs);
  return { by: 'processes', position: position ?? record.initialPosition };
}

/**
 * Replays a dead letter in the process that owns its event's slot and waits for the outcome; with no process running
 * the handler, the request stays queued (no deadline) for the next process that starts it.
 */
export async function requestReplay(store: EventStore, deadLetterId: string, options: { timeoutMs: number }): Promise<ReplayResult> {
  const control = controlOf(store);
  const deadLetter = await store.getDeadLetter(deadLetterId);
  if (deadLetter === undefined) throw new HandlerConfigError(`no dead letter with id ${JSON.stringify(deadLetterId)}`, 'id');
  const running = (await control.liveMembers(deadLetter.handlerName)).length > 0;
  const request = await control.request({
    handlerName: deadLetter.handlerName,
    kind: 'replay',
    deadLetterId,
    timeoutMs: running ? options.timeoutMs : undefined,
  });
  if (!running) return { state: 'queued', requestId: request.id };
  const done = await waitForRequest(control, request.id, options.timeoutMs);
  return { state: 'done', outcome: done.outcome ?? 'handled' };
}
