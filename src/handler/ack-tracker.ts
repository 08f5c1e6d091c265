import type { CursorState } from '../store/types.ts';

/**
 * Tracks which delivered events are acknowledged and computes the low-water mark: the highest position
 * such that every delivered event up to it is acknowledged. Events arrive in increasing `eventNumber`
 * and may be acknowledged in any order (concurrent workers).
 */
export interface AckTracker {
  /** Registers a delivered event, in increasing order. */
  track(eventNumber: number): void;
  /** Acknowledges a tracked event; returns whether the low-water mark moved. */
  ack(eventNumber: number): boolean;
  /** Everything up to here was read (events the handler does not see included). */
  readThrough(position: number): boolean;
  /** The low-water mark. */
  readonly position: number;
  /** Tracked events not yet acknowledged. */
  readonly pending: number;
  /** The state to persist: the mark plus events acknowledged above it. */
  snapshot(): CursorState;
}

/** Creates a tracker starting at a persisted cursor position. */
export function createAckTracker(start: number): AckTracker {
  let numbers: number[] = [];
  let acked: boolean[] = [];
  let head = 0;
  let pending = 0;
  let readThroughPosition = start;
  let mark = start;

  function compact(): void {
    if (head > 1024 && head * 2 > numbers.length) {
      numbers = numbers.slice(head);
      acked = acked.slice(head);
      head = 0;
    }
  }

  function recompute(): boolean {
    while (head < numbers.length && acked[head] === true) head++;
    compact();
    const next = head < numbers.length ? (numbers[head] as number) - 1 : readThroughPosition;
    if (next > mark) {
      mark = next;
      return true;
    }
    return false;
  }

  function indexOf(eventNumber: number): number {
    let low = head;
    let high = numbers.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = numbers[middle] as number;
      if (value === eventNumber) return middle;
      if (value < eventNumber) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  return {
    track(eventNumber) {
      numbers.push(eventNumber);
      acked.push(false);
      pending++;
      if (eventNumber > readThroughPosition) readThroughPosition = eventNumber;
    },
    ack(eventNumber) {
      const index = indexOf(eventNumber);
      if (index === -1 || acked[index] === true) return false;
      acked[index] = true;
      pending--;
      return index === head ? recompute() : false;
    },
    readThrough(position) {
      if (position > readThroughPosition) readThroughPosition = position;
      return recompute();
    },
    get position() {
      return mark;
    },
    get pending() {
      return pending;
    },
    snapshot() {
      const above: number[] = [];
      for (let i = head; i < numbers.length; i++) if (acked[i] === true) above.push(numbers[i] as number);
      return { position: mark, acked: above };
    },
  };
}
