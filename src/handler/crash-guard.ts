import type { Clock } from '../clock.ts';
import { LeaseLostError } from '../errors.ts';
import { HANDLER_STORE_BACKOFF, retrying } from '../store/retry.ts';
import { passed } from '../store/suspects.ts';
import type { CursorState, EventStore, InFlightNote, SlotClaim, Suspect } from '../store/types.ts';
import type { Route } from './router.ts';

/** What the crash guard reports. */
export interface CrashGuardSignals {
  /** A note could not be written; it is retried with backoff. */
  storeTrouble(error: unknown): void;
  /** A note found slots no longer held by this node: nothing more is handed over. */
  leaseLost(error: LeaseLostError): void;
  /** Handing over failed unexpectedly (a bug): the run must stop. */
  failed(error: unknown): void;
}

/** What the crash guard of one pump needs. */
export interface CrashGuardDeps {
  readonly handlerName: string;
  /** The handler's `crashLimit` (0: off). */
  readonly crashLimit: number;
  readonly store: EventStore;
  readonly clock: Clock;
  readonly nodeId: string;
  /** The slots the pump owns, with their epochs and the suspects their claims found. */
  readonly claims: readonly SlotClaim[];
  /** Saves the acknowledgements made so far (before the next event is noted alone). */
  flush(): Promise<void>;
  /** Whether the pump still runs (a stop ends the handing over: events not handed over stay unacknowledged). */
  active(): boolean;
  /** Events the pump delivered (handed over or about to be) and not acknowledged yet. */
  pending(): number;
  readonly signals: CrashGuardSignals;
}

/** How the pump hands one route to its worker, and waits until that worker has nothing left to do. */
export interface HandOver {
  push(route: Route, poison: Suspect | undefined): void;
  idle(route: Route): Promise<void>;
}

/**
 * The durable note of what is in flight (handler option `crashLimit`, see docs/error-handling.md). Before the
 * pump hands a page's events to its workers, the guard notes them per slot in one store write, so that a claim
 * after the process died counts a crash for each event still in flight (store: `noteInFlight`, `claimSlots`).
 * After a crash (the claims found suspects), every event up to the highest suspect goes alone: the acknowledgements
 * so far are saved, the event is noted, handed over, and waited for, so that the next crash pins exactly one event;
 * a suspect that reached `crashLimit`, the latest of them with nothing else in flight, is handed over as poison (the
 * worker dead-letters it without `handle`).
 */
export interface CrashGuard {
  /**
   * Hands a page's admitted routes over, in order after the pages before (at once with `crashLimit` 0, else once
   * noted); routes not handed over when the pump stops stay unacknowledged.
   */
  handOver(routes: readonly Route[], to: HandOver): void;
  /** Resolves once every page given so far was handed over (or given up at a stop). */
  settled(): Promise<void>;
  /** The suspects of `slot` its cursor has not passed (for the next pump over the slot). */
  suspectsOf(slot: number, cursor: CursorState): Suspect[];
  /** The run ends on purpose: clears the notes of the owned slots, so nothing counts as crashed. */
  clear(): Promise<void>;
}


/** Creates the guard of a pump over `claims`. */
export function createCrashGuard(deps: CrashGuardDeps): CrashGuard {
  const { crashLimit, claims } = deps;
  const epochs = new Map(claims.map((claim) => [claim.slot, claim.epoch]));
  const suspects = new Map<number, Suspect>();
  const suspectSlot = new Map<number, number>();
  for (const claim of claims) {
    for (const suspect of claim.suspects ?? []) {
      suspects.set(suspect.eventNumber, suspect);
      suspectSlot.set(suspect.eventNumber, claim.slot);
    }
  }
  /** Events up to here go alone (0: none). */
  const narrowUpTo = crashLimit === 0 ? 0 : Math.max(0, ...suspects.keys());
  /** A note found a slot lost: the pump is about to be replaced, nothing more is handed over. */
  let lost = false;
  const active = (): boolean => !lost && deps.active();
  const stopping = {
    get aborted() {
      return !active();
    },
  };

  /** Writes one note; `false` when the pump stopped or lost a slot meanwhile (nothing more is handed over). */
  async function note(notes: readonly InFlightNote[]): Promise<boolean> {
    if (notes.length === 0) return active();
    try {
      await retrying(() => deps.store.noteInFlight(deps.handlerName, deps.nodeId, notes), {
        clock: deps.clock,
        ...HANDLER_STORE_BACKOFF,
        signal: stopping,
        onRetry: (error) => deps.signals.storeTrouble(error),
      });
    } catch (error) {
      if (error instanceof LeaseLostError) {
        lost = true;
        deps.signals.leaseLost(error);
      } else if (active()) {
        deps.signals.storeTrouble(error);
      }
      return false;
    }
    return active();
  }

  function notesOf(routes: readonly Route[], alone: boolean): InFlightNote[] {
    const bySlot = new Map<number, number[]>();
    for (const route of routes) {
      const events = bySlot.get(route.slot);
      if (events === undefined) bySlot.set(route.slot, [route.delivery.event.eventNumber]);
      else events.push(route.delivery.event.eventNumber);
    }
    return [...bySlot].map(([slot, events]) => ({ slot, epoch: epochs.get(slot) ?? 0, events, alone }));
  }

  function poisonOf(route: Route): Suspect | undefined {
    const suspect = suspects.get(route.delivery.event.eventNumber);
    // A crash it shared with other events in flight may have been theirs: it is handed over alone once more first.
    return suspect !== undefined && suspect.crashes >= crashLimit && suspect.alone ? suspect : undefined;
  }

  /** Hands one event over alone: acknowledgements saved, the event noted (unless parked), then waited for. */
  async function alone(route: Route, to: HandOver): Promise<boolean> {
    const poison = poisonOf(route);
    if (poison === undefined) {
      try {
        await deps.flush();
      } catch (error) {
        // The event is still handed over alone: a crash then counts the events acknowledged since the last save too.
        deps.signals.storeTrouble(error);
      }
      if (!(await note(notesOf([route], true)))) return false;
    }
    to.push(route, poison);
    await to.idle(route);
    return active();
  }

  /** A page's way through the guard: the narrowing lane, then its note, then its workers. */
  async function pass(routes: readonly Route[], to: HandOver): Promise<void> {
    if (!active()) return;
    let next = 0;
      while (next < routes.length && (routes[next] as Route).delivery.event.eventNumber <= narrowUpTo) {
      if (!(await alone(routes[next] as Route, to))) return;
      next++;
    }
    const rest = next === 0 ? routes : routes.slice(next);
    // Alone also when it is the only event delivered and not acknowledged (events arriving one at a time, live).
    if (rest.length === 0 || !(await note(notesOf(rest, rest.length === 1 && deps.pending() === 1)))) return;
    for (const route of rest) to.push(route, undefined);
  }

  /** The pages waiting for their notes, in order. */
  let tail: Promise<void> = Promise.resolve();

  return {
    handOver(routes, to) {
      if (lost) return;
      if (crashLimit === 0) {
        for (const route of routes) to.push(route, undefined);
        return;
      }
      // The reader goes on reading (up to its read-ahead) while this page's note is written and the page before is
      // handled: notes cost a round trip per page, not a pause of the reader.
      tail = tail.then(() => pass(routes, to)).catch((error: unknown) => deps.signals.failed(error));
    },
    settled: () => tail,
    suspectsOf(slot, cursor) {
      const left: Suspect[] = [];
      for (const [eventNumber, suspect] of suspects) {
        if (suspectSlot.get(eventNumber) === slot && !passed(cursor, eventNumber)) left.push(suspect);
      }
      return left;
    },
    async clear() {
      if (crashLimit === 0 || claims.length === 0) return;
      try {
        await deps.store.clearInFlight(deps.handlerName, deps.nodeId, claims.map(({ slot, epoch }) => ({ slot, epoch })));
      } catch (error) {
        // The next claim of these slots then counts one crash for what was noted; a count, not a parking.
        deps.signals.storeTrouble(error);
      }
    },
  };
}
