import type { Clock } from '../clock.ts';
import type { Telemetry } from '../telemetry/emitter.ts';
import { decideOnExit, exitReason, type RestartHistory } from './decide.ts';
import type { ResolvedSupervisorOptions } from './spec.ts';
import type { ChildExit, ChildFactory, ChildProcess } from './types.ts';

/** What a running supervisor needs from its surroundings. */
export interface SupervisorDeps {
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  /** The app's name, carried in telemetry payloads. */
  readonly app: string;
}

/** One child slot: the factory and the instance currently standing for it. */
interface Slot {
  readonly factory: ChildFactory;
  /** Identity of the latest instance; exits reported by any other instance are stale. */
  instance: number;
  process: ChildProcess | undefined;
  running: boolean;
  /** Started at least once (a slot never started is still pending in the initial start). */
  started: boolean;
  /** A temporary child that ended: dropped, as OTP does. */
  gone: boolean;
}

interface Failure {
  readonly slot: Slot;
  readonly exit: ChildExit;
}

/**
 * Runs one supervisor: a serialized loop over start, child exits and stop. Every operation runs alone on
 * one promise chain, so an exit that arrives during a restart waits its turn; what to do after an exit is
 * decided by {@link decideOnExit}, and only executed here.
 *
 * `start()` rejects with the last failure reason when the supervisor gives up while starting its children;
 * after a successful start, giving up calls `onExit` instead. `stop()` never calls `onExit`.
 * `restartCounts` (child name to restarts so far) outlives this process, so counts stay totals when the
 * supervisor itself is restarted.
 */
export function createSupervisorProcess(
  spec: ResolvedSupervisorOptions,
  factories: readonly ChildFactory[],
  deps: SupervisorDeps,
  onExit: (exit: ChildExit) => void,
  restartCounts: Map<string, number> = new Map(),
): ChildProcess {
  const slots: Slot[] = factories.map((factory) => ({
    factory, instance: 0, process: undefined, running: false, started: false, gone: false,
  }));
  let phase: 'idle' | 'starting' | 'running' | 'failed' = 'idle';
  let stopping = false;
  let history: RestartHistory = { restarts: [] };
  let failureReason: unknown;
  let nextInstance = 1;
  let queue: Promise<void> = Promise.resolve();
  let starting: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;

  function enqueue(operation: () => Promise<void>): Promise<void> {
    const result = queue.then(operation);
    queue = result.catch(() => {});
    return result;
  }

  // A function, not an inline comparison: `phase` changes across awaits, which narrowing does not see.
  const failed = (): boolean => phase === 'failed';
  const live = (): Slot[] => slots.filter((slot) => !slot.gone);

  async function startSlot(slot: Slot): Promise<Failure | undefined> {
    const id = nextInstance++;
    slot.instance = id;
    slot.started = true;
    try {
      const process = slot.factory.create((exit) => childExited(slot, id, exit));
      slot.process = process;
      await process.start();
    } catch (reason) {
      slot.process = undefined;
      return { slot, exit: { kind: 'abnormal', reason } };
    }
    slot.running = true;
    return undefined;
  }

  async function stopSlot(slot: Slot): Promise<void> {
    const process = slot.process;
    slot.running = false;
    slot.process = undefined;
    slot.instance = 0;
    if (process === undefined) return;
    try {
      await process.stop();
    } catch (error) {
      deps.telemetry.emit('supervisor:stop_error', { app: deps.app, supervisor: spec.name, child: slot.factory.name, error });
    }
  }

  async function stopAll(): Promise<void> {
    for (const slot of [...slots].reverse()) if (slot.running || slot.process !== undefined) await stopSlot(slot);
  }

  /** Starts `targets` in order; stops at the first failure and returns it. */
  async function startSequence(targets: readonly Slot[], reason: unknown): Promise<Failure | undefined> {
    for (const slot of targets) {
      if (stopping || failed()) return undefined;
      if (slot.started) {
        const restarts = (restartCounts.get(slot.factory.name) ?? 0) + 1;
        restartCounts.set(slot.factory.name, restarts);
        deps.telemetry.emit('supervisor:restart', {
          app: deps.app, supervisor: spec.name, child: slot.factory.name, reason, restarts,
        });
      }
      const failure = await startSlot(slot);
      if (failure !== undefined) return failure;
    }
    return undefined;
  }

  /** Applies the strategy to a failure, and to every start failure the restart itself causes. */
  async function handle(first: Failure): Promise<void> {
    let failure: Failure | undefined = first;
    while (failure !== undefined && !stopping && !failed()) {
      const { slot, exit } = failure;
      const result = decideOnExit({
        strategy: spec.strategy,
        maxRestarts: spec.maxRestarts,
        withinMs: spec.withinMs,
        children: live().map((s) => ({ name: s.factory.name, restart: s.factory.restart, running: s.running })),
        exited: slot.factory.name,
        exit,
        now: deps.clock.now(),
        history,
      });
      history = result.history;
      const decision = result.decision;
      if (decision.kind === 'ignore') {
        if (slot.factory.restart === 'temporary') slot.gone = true;
        return;
      }
      if (decision.kind === 'give_up') {
        await giveUp(decision.reason);
        return;
      }
      const byName = (name: string): Slot | undefined => live().find((s) => s.factory.name === name);
      const targets = decision.children.map(byName).filter((s): s is Slot => s !== undefined);
      const discarded = decision.discard.map(byName).filter((s): s is Slot => s !== undefined);
      for (const s of [...slots].reverse()) {
        if ((targets.includes(s) || discarded.includes(s)) && s.running) await stopSlot(s);
      }
      for (const s of discarded) s.gone = true;
      failure = await startSequence(targets, exitReason(exit));
    }
  }

  async function giveUp(reason: unknown): Promise<void> {
    const wasStarting = phase === 'starting';
    phase = 'failed';
    failureReason = reason;
    await stopAll();
    deps.telemetry.emit('supervisor:giveup', { app: deps.app, supervisor: spec.name, reason });
    if (!wasStarting && !stopping) onExit({ kind: 'abnormal', reason });
  }

  function childExited(slot: Slot, id: number, exit: ChildExit): void {
    void enqueue(async () => {
      if (phase !== 'running' || stopping || slot.instance !== id || !slot.running) return;
      slot.running = false;
      slot.process = undefined;
      await handle({ slot, exit });
    });
  }

  async function startChildren(): Promise<void> {
    if (stopping) return;
    phase = 'starting';
    for (const slot of slots) {
      if (stopping || failed()) break;
      if (slot.started || slot.gone) continue;
      const failure = await startSlot(slot);
      if (failure !== undefined) await handle(failure);
    }
    if (failed()) throw failureReason;
    phase = 'running';
  }

  return {
    start() {
      starting ??= enqueue(startChildren);
      return starting;
    },
    stop() {
      if (stopped === undefined) {
        stopping = true;
        stopped = enqueue(stopAll);
      }
      return stopped;
    },
  };
}
