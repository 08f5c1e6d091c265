import type { CursorState, SlotClaim, SlotCursor } from '../store/types.ts';
import { createAckTracker, type AckTracker } from './ack-tracker.ts';

/**
 * The acknowledgement state of the slots one run owns: a low-water mark per slot (each slot has its own
 * persisted cursor, so a slot can move to another process and resume exactly there), plus what the run as a
 * whole needs: where to read from, how many events are pending, and the lowest mark.
 */
export interface SlotTracks {
  /** Slots owned, ascending. */
  readonly owned: readonly number[];
  /** Read the log after this position (the lowest owned cursor). */
  readonly readFrom: number;
  /** Whether an event of `slot` numbered `eventNumber` must be delivered; if so it is now tracked. */
  admit(slot: number, eventNumber: number): boolean;
  /** Acknowledges a delivered event; returns whether the lowest mark moved. */
  ack(eventNumber: number): boolean;
  /** Everything up to `position` was read; returns whether the lowest mark moved. */
  readThrough(position: number): boolean;
  /** The lowest low-water mark over the owned slots (`fallback` when none is owned). */
  readonly position: number;
  /** Delivered events not yet acknowledged. */
  readonly pending: number;
  /** Cursors of the slots changed since they were last saved (empty when none). */
  unsaved(): SlotCursor[];
  /** `cursors` (from {@link unsaved}) were persisted. */
  saved(cursors: readonly SlotCursor[]): void;
  /** Every owned slot's current cursor (to start the next run's tracks from). */
  current(): SlotClaim[];
}

interface Track {
  readonly slot: number;
  readonly epoch: number;
  readonly start: number;
  readonly ackedBefore: Set<number>;
  readonly tracker: AckTracker;
  version: number;
  savedVersion: number;
}

/** Creates tracks for the claimed slots; `fallback` is the position reported while no slot is owned. */
export function createSlotTracks(claims: readonly SlotClaim[], fallback: number): SlotTracks {
  const tracks = new Map<number, Track>();
  for (const claim of [...claims].sort((a, b) => a.slot - b.slot)) {
    tracks.set(claim.slot, {
      slot: claim.slot,
      epoch: claim.epoch,
      start: claim.cursor.position,
      ackedBefore: new Set(claim.cursor.acked),
      tracker: createAckTracker(claim.cursor.position),
      version: 0,
      savedVersion: 0,
    });
  }
  const all = [...tracks.values()];
  const only = all.length === 1 ? all[0] : undefined;
  /** Slot of each pending event, when more than one slot is owned. */
  const slotOfEvent = new Map<number, Track>();
  let pending = 0;
  let lowest = all.length === 0 ? fallback : Math.min(...all.map((track) => track.start));
  const readFrom = lowest;

  function recomputeLowest(): boolean {
    let next = Number.POSITIVE_INFINITY;
    for (const track of all) if (track.tracker.position < next) next = track.tracker.position;
    if (next > lowest) {
      lowest = next;
      return true;
    }
    return false;
  }

  function moved(track: Track, before: number): boolean {
    track.version++;
    return before === lowest && recomputeLowest();
  }

  return {
    owned: all.map((track) => track.slot),
    readFrom,
    admit(slot, eventNumber) {
      const track = only !== undefined ? (only.slot === slot ? only : undefined) : tracks.get(slot);
      if (track === undefined || eventNumber <= track.start) return false;
      track.tracker.track(eventNumber);
      if (track.ackedBefore.size > 0 && track.ackedBefore.delete(eventNumber)) {
        const before = track.tracker.position;
        if (track.tracker.ack(eventNumber)) moved(track, before);
        return false;
      }
      pending++;
      if (only === undefined) slotOfEvent.set(eventNumber, track);
      return true;
    },
    ack(eventNumber) {
      const track = only ?? slotOfEvent.get(eventNumber);
      if (track === undefined) return false;
      if (only === undefined) slotOfEvent.delete(eventNumber);
      pending--;
      const before = track.tracker.position;
      if (!track.tracker.ack(eventNumber)) {
        track.version++;
        return false;
      }
      return moved(track, before);
    },
    readThrough(position) {
      let lowestMoved = false;
      for (const track of all) {
        const before = track.tracker.position;
        if (track.tracker.readThrough(position) && moved(track, before)) lowestMoved = true;
      }
      return lowestMoved;
    },
    get position() {
      return lowest;
    },
    get pending() {
      return pending;
    },
    unsaved() {
      const cursors: (SlotCursor & { version: number })[] = [];
      for (const track of all) {
        if (track.version !== track.savedVersion) cursors.push({ slot: track.slot, epoch: track.epoch, cursor: cursorOf(track), version: track.version });
      }
      return cursors;
    },
    saved(cursors) {
      for (const entry of cursors) {
        const track = tracks.get(entry.slot);
        const version = (entry as { version?: number }).version;
        if (track !== undefined && version !== undefined && version > track.savedVersion) track.savedVersion = version;
      }
    },
    current() {
      return all.map((track) => ({ slot: track.slot, epoch: track.epoch, cursor: cursorOf(track), takenFrom: undefined }));
    },
  };
}

/** A track's cursor, keeping the numbers acknowledged before this run that it has not reached yet. */
function cursorOf(track: Track): CursorState {
  const snapshot = track.tracker.snapshot();
  if (track.ackedBefore.size === 0) return snapshot;
  const acked = new Set(snapshot.acked);
  for (const n of track.ackedBefore) if (n > snapshot.position) acked.add(n);
  return { position: snapshot.position, acked: [...acked].sort((a, b) => a - b) };
}
