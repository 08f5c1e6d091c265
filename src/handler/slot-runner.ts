import { LeaseLostError } from '../errors.ts';
import type { RecordedEvent } from '../events/types.ts';
import type { SlotClaim } from '../store/types.ts';
import { MAX_DELAY_MS } from './actions.ts';
import { createPump, type Pump, type PumpSignals, type RunDeps } from './pump.ts';
import type { SlotHolder } from './slots.ts';
import type { HandlingOutcome } from './worker.ts';

/** Everything a slot runner needs. */
export interface SlotRunnerDeps extends RunDeps {
  readonly nodeId: string;
  readonly slotCount: number;
  /** The handler's position when the run started (shown while no slot is owned). */
  readonly startPosition: number;
  /** The one sink of advances: called with the handler's position whenever this node owns every slot. */
  onAdvance(position: number): void;
  readonly signals: Omit<PumpSignals, 'advanced'>;
}

/**
 * The run's side of slot ownership: one pump over the slots it is told it holds, replaced whenever that set
 * changes (the old pump halts after its events in progress and saves first, so a slot moves on exactly where it
 * was acknowledged).
 */
export interface SlotRunner extends SlotHolder {
  /** From now on no new pump starts (a stop is under way). */
  freeze(): void;
  drain(timeoutMs: number): Promise<void>;
  abort(timeoutMs: number): Promise<void>;
  replay(event: RecordedEvent): Promise<HandlingOutcome>;
  /** Whether this node owns every slot (its position is then the handler's). */
  readonly ownsAll: boolean;
  readonly position: number;
  readonly head: number;
}

/** Creates a runner holding no slot yet. */
export function createSlotRunner(deps: SlotRunnerDeps): SlotRunner {
  const { signals, slotCount } = deps;
  let frozen = false;
  let pump = newPump([], deps.startPosition);

  function newPump(claims: readonly SlotClaim[], fallbackPosition: number): Pump {
    const created: Pump = createPump({
      ...deps,
      claims,
      fallbackPosition,
      signals: {
        ...signals,
        advanced: (position) => {
          if (created === pump) advanced(position);
        },
        stopRequested: (reason) => {
          if (reason instanceof LeaseLostError) signals.leaseLost(reason);
          else signals.stopRequested(reason);
        },
      },
    });
    return created;
  }

  /** Only a node owning every slot knows the handler's position; the others' is in the store. */
  function advanced(position: number): void {
    if (pump.owned.length === slotCount) deps.onAdvance(position);
  }

  return {
    get owned() {
      return pump.owned;
    },
    async assign(next) {
      const old = pump;
      // However long the events in progress take: one abandoned while still running could overlap with the
      // slot's next owner, or be handled again here. Events read but not started are not acknowledged in the
      // final cursors, so the new pump (or the slot's next owner) reads them again.
      await old.abort(MAX_DELAY_MS);
      const claims = next(old.current());
      pump = newPump(claims, old.position);
      if (frozen) return;
      if (claims.length > 0) signals.behind();
      pump.start();
      advanced(pump.position);
    },
    freeze() {
      frozen = true;
    },
    drain: (timeoutMs) => pump.drain(timeoutMs),
    abort: (timeoutMs) => pump.abort(timeoutMs),
    replay: (event) => pump.replay(event),
    get ownsAll() {
      return pump.owned.length === slotCount;
    },
    get position() {
      return pump.position;
    },
    get head() {
      return pump.head;
    },
  };
}
