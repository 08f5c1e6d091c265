/**
 * An app's part in control requests (PostgreSQL store): it watches the requests of the handlers it runs and carries
 * them out on its own share of the work.
 *
 * - Reset: every process running the handler stops it (draining and leaving, so its membership ends); the first to
 *   take the request coordinates: once no live member is left, it runs `beforeReset`, moves every slot cursor and
 *   marks the request done; then every process (the coordinator too) starts the handler again.
 * - Replay: the process owning the slot of the dead letter's event hands it to the handler again, removes the dead
 *   letter when that is handled (or skipped again, which records a new one) and marks the request done with the outcome.
 *
 * Requests are found on their notification and by a fallback poll, so a process that starts later (or missed one)
 * still carries out a replay waiting for it, and joins a reset in progress.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { RecordedEvent } from '../events/types.ts';
import { slotCountOf } from '../handler/define.ts';
import { slotForKey } from '../handler/partition.ts';
import type { HandlerConfig } from '../handler/types.ts';
import type { ControlRequest, EventStore, NodeIdentity, StoreControl } from '../store/types.ts';
import type { HandlerInstance } from './handler-instance.ts';

/** What the participant needs from its app. */
export interface ControlDeps {
  readonly control: StoreControl;
  readonly store: EventStore;
  readonly node: NodeIdentity;
  readonly clock: Clock;
  readonly appName: string;
  /** Fallback poll interval, in ms. */
  readonly pollMs: number;
  readonly instances: ReadonlyMap<string, HandlerInstance>;
  /** A store call failed (reported, then retried on the next poll). */
  onError(error: unknown): void;
}

/** The running participant. */
export interface ControlParticipant {
  start(): void;
  /** Stops watching; a reset this process coordinates fails, a paused handler stays stopped. */
  close(): Promise<void>;
}

/** The slot of `event` for `config`, as the pump routes it (by the event's number when `partitionBy` throws). */
export function slotOfEvent(config: HandlerConfig, event: RecordedEvent, appName: string): number {
  const slots = slotCountOf(config);
  if (slots === 1 || config.partitionBy === undefined) return 0;
  try {
    const key = config.partitionBy(event, { handlerName: config.name, state: config.state, workerIndex: 0, partition: undefined, app: appName });
    return slotForKey(key, slots);
  } catch {
    return event.eventNumber % slots;
  }
}

/** Creates (but does not start) the participant. */
export function createControlParticipant(deps: ControlDeps): ControlParticipant {
  const { control, store, node, clock, instances } = deps;
  /** Resets this process paused a handler for: request id → handler name and whether it ran. */
  const paused = new Map<number, { name: string; wasRunning: boolean }>();
  const coordinating = new Set<number>();
  let timer: TimerHandle | undefined;
  let closed = false;
  let queued = false;
  let turn: Promise<void> = Promise.resolve();
  let unsubscribe: () => void = () => {};

  function check(): void {
    if (queued || closed) return;
    queued = true;
    turn = turn.then(async () => {
      queued = false;
      if (closed) return;
      try {
        await pass();
      } catch (error) {
        deps.onError(error);
      }
    });
  }

  async function pass(): Promise<void> {
    const open = await control.open([...instances.keys()]);
    const openIds = new Set(open.map((request) => request.id));
    for (const [id, entry] of paused) {
      if (openIds.has(id) || coordinating.has(id)) continue;
      paused.delete(id);
      const instance = instances.get(entry.name);
      if (entry.wasRunning && instance !== undefined && !closed) await instance.resume();
    }
    for (const request of open) {
      if (closed) return;
      if (request.kind === 'reset') await joinReset(request);
      else if (request.state === 'pending') await tryReplay(request);
    }
  }

  async function joinReset(request: ControlRequest): Promise<void> {
    const instance = instances.get(request.handlerName);
    if (instance === undefined || paused.has(request.id)) return;
    const coordinator = request.state === 'pending' && (await control.claim(request.id, node.id));
    const wasRunning = await instance.pause();
    paused.set(request.id, { name: request.handlerName, wasRunning });
    if (coordinator) {
      coordinating.add(request.id);
      void coordinate(request, instance).finally(() => {
        coordinating.delete(request.id);
        check();
      });
    }
  }

  /** Waits until no process runs the handler, then resets it once and marks the request done. */
  async function coordinate(request: ControlRequest, instance: HandlerInstance): Promise<void> {
    try {
      for (;;) {
        if (closed) throw new Error(`the coordinating process (${node.label}) stopped`);
        const current = await control.get(request.id);
        if (current?.state !== 'running') return;
        if ((await control.liveMembers(request.handlerName)).length === 0) break;
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 50));
      }
      await instance.config.beforeReset?.();
      const record = await store.loadHandler(request.handlerName);
      const position = request.toPosition ?? record?.initialPosition ?? 0;
      await control.moveCursors(request.handlerName, position);
      instance.moved(position);
      await control.finish(request.id, { state: 'done', outcome: `cursors at ${position}` });
    } catch (error) {
      await control.finish(request.id, { state: 'failed', error: error instanceof Error ? error.message : String(error) }).catch(deps.onError);
    }
  }

  async function tryReplay(request: ControlRequest): Promise<void> {
    const instance = instances.get(request.handlerName);
    if (instance === undefined || !instance.running || request.deadLetterId === undefined) return;
    const deadLetter = await store.getDeadLetter(request.deadLetterId);
    if (deadLetter !== undefined) {
      const slot = slotOfEvent(instance.config, deadLetter.event, deps.appName);
      if (!instance.status().slots.owned.includes(slot)) return;
    }
    if (!(await control.claim(request.id, node.id))) return;
    if (deadLetter === undefined) {
      await control.finish(request.id, { state: 'failed', error: `no dead letter with id ${JSON.stringify(request.deadLetterId)}` });
      return;
    }
    try {
      const outcome = await instance.replay(deadLetter.event);
      if (outcome === 'handled' || outcome === 'skipped') await store.removeDeadLetter(deadLetter.id);
      await control.finish(request.id, { state: 'done', outcome: outcome === 'halted' ? 'stopped' : outcome });
    } catch (error) {
      await control.finish(request.id, { state: 'failed', error: error instanceof Error ? error.message : String(error) });
    }
  }

  function arm(): void {
    if (closed) return;
    timer = clock.setTimeout(() => {
      check();
      arm();
    }, deps.pollMs);
  }

  return {
    start() {
      unsubscribe = control.onRequest((name) => {
        if (instances.has(name)) check();
      });
      check();
      arm();
    },
    async close() {
      closed = true;
      unsubscribe();
      if (timer !== undefined) clock.clearTimeout(timer);
      await turn;
    },
  };
}
