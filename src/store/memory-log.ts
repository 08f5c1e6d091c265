import { InvalidEventError, WrongExpectedVersionError } from '../errors.ts';
import type { ExpectedVersion, NewEvent, RecordedEvent } from '../events/types.ts';
import { frozenJsonCopy } from './memory-freeze.ts';
import type { AppendResult, ReadRequest, ReadResult } from './types.ts';
import { checkExpectedVersion, checkReadRequest, checkStreamId } from './validate.ts';

/** The in-memory event log: one array for `$all`, one per stream, and an index of stored ids. */
export interface MemoryLog {
  /** Appends atomically (synchronously, so no other append interleaves); see `EventStore.append`. */
  append(streamId: string, events: readonly NewEvent[], expectedVersion: ExpectedVersion, now: number): AppendResult;
  /** A keyset page of the log; see `EventStore.read`. */
  read(request: ReadRequest): ReadResult;
  /** Number of the last stored event, 0 when empty. */
  head(): number;
}

/**
 * An event as the log keeps it, with its time as a number. Its payload (`data`, `metadata`) is a copy
 * deep-frozen once at append and shared by every read. Each read hands out a fresh shell with its own `Date`
 * (freezing cannot protect a `Date`: `setTime` still works), so changing a returned event changes only the
 * caller's copy. An unfrozen shell built from a literal is about 4x cheaper than a frozen one and 40x
 * cheaper than `structuredClone`, measured on 200k events.
 */
interface StoredEvent extends Omit<RecordedEvent, 'createdAt'> {
  readonly createdAtMs: number;
}

/** Creates an empty log. */
export function createMemoryLog(): MemoryLog {
  /** `all[i].eventNumber === i + 1`: numbers are gapless, so `$all` reads index the array directly. */
  const all: StoredEvent[] = [];
  const streams = new Map<string, StoredEvent[]>();
  const byId = new Map<string, number>();

  function append(streamId: string, events: readonly NewEvent[], expectedVersion: ExpectedVersion, now: number): AppendResult {
    checkStreamId(streamId);
    checkExpectedVersion(expectedVersion);
    if (!Array.isArray(events)) throw new InvalidEventError('events must be an array');
    const seen = new Set<string>();
    const fresh: NewEvent[] = [];
    const duplicates: string[] = [];
    let lastEventNumber = 0;
    for (const event of events) {
      checkEvent(event);
      if (seen.has(event.eventId)) throw new InvalidEventError(`eventId "${event.eventId}" appears twice in one append`);
      seen.add(event.eventId);
      const stored = byId.get(event.eventId);
      if (stored === undefined) fresh.push(event);
      else {
        duplicates.push(event.eventId);
        lastEventNumber = Math.max(lastEventNumber, stored);
      }
    }
    if (fresh.length === 0) return { events: [], duplicates, lastEventNumber };

    const stream = streams.get(streamId);
    const version = stream?.length ?? 0;
    if (!versionMatches(expectedVersion, version)) throw new WrongExpectedVersionError(streamId, expectedVersion, version);

    // Copy everything before touching the log, so a payload that cannot be copied leaves it unchanged.
    const prepared = fresh.map((event, i) => prepare(event, streamId, all.length + i + 1, version + i + 1, now));
    const target = stream ?? [];
    if (stream === undefined) streams.set(streamId, target);
    for (const event of prepared) {
      all.push(event);
      target.push(event);
      byId.set(event.eventId, event.eventNumber);
    }
    lastEventNumber = Math.max(lastEventNumber, all.length);
    return { events: prepared.map(present), duplicates, lastEventNumber };
  }

  function read(request: ReadRequest): ReadResult {
    checkReadRequest(request);
    const { after, limit, streamId, types } = request;
    let page: StoredEvent[];
    if (types !== undefined) page = readOfTypes(streamId === undefined ? all : (streams.get(streamId) ?? []), after, limit, new Set(types));
    else if (streamId === undefined) page = all.slice(after, after + limit);
    else {
      const stream = streams.get(streamId) ?? [];
      const start = firstAfter(stream, after);
      page = stream.slice(start, start + limit);
    }
    const last = page[page.length - 1];
    const readThrough = page.length === limit && last !== undefined ? last.eventNumber : Math.max(after, all.length);
    return { events: page.map(present), readThrough };
  }

  return { append, read, head: () => all.length };
}

function prepare(event: NewEvent, streamId: string, eventNumber: number, streamVersion: number, now: number): StoredEvent {
  let data: unknown;
  let metadata: Record<string, unknown>;
  try {
    data = frozenJsonCopy(event.data);
    metadata = frozenJsonCopy(event.metadata) as Record<string, unknown>;
  } catch (error) {
    throw new InvalidEventError(`event "${event.eventId}" cannot be stored: ${(error as Error).message}`);
  }
  return { eventId: event.eventId, eventNumber, streamId, streamVersion, type: event.type, data, metadata, createdAtMs: now };
}

/** A literal, not a rest/spread copy: measured here, the spread was tens of times slower. */
function present(event: StoredEvent): RecordedEvent {
  return {
    eventId: event.eventId,
    eventNumber: event.eventNumber,
    streamId: event.streamId,
    streamVersion: event.streamVersion,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    createdAt: new Date(event.createdAtMs),
  };
}

/** Up to `limit` events of `types` after `after` in `events` (sorted by number), scanning on to the end if need be. */
function readOfTypes(events: readonly StoredEvent[], after: number, limit: number, types: ReadonlySet<string>): StoredEvent[] {
  const page: StoredEvent[] = [];
  for (let i = firstAfter(events, after); i < events.length && page.length < limit; i++) {
    const event = events[i] as StoredEvent;
    if (types.has(event.type)) page.push(event);
  }
  return page;
}

/** Index of the first event in `stream` (sorted by number) with `eventNumber > after`. */
function firstAfter(stream: readonly StoredEvent[], after: number): number {
  let low = 0;
  let high = stream.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((stream[mid] as StoredEvent).eventNumber <= after) low = mid + 1;
    else high = mid;
  }
  return low;
}

function versionMatches(expected: ExpectedVersion, actual: number): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === 0;
  if (expected === 'stream_exists') return actual > 0;
  return expected === actual;
}



function checkEvent(event: NewEvent): void {
  if (typeof event !== 'object' || event === null) throw new InvalidEventError('each event must be an object');
  if (typeof event.eventId !== 'string' || event.eventId === '') throw new InvalidEventError('eventId must be a non-empty string');
  if (typeof event.type !== 'string' || event.type === '') throw new InvalidEventError(`event "${event.eventId}" needs a non-empty string type`);
  if (typeof event.metadata !== 'object' || event.metadata === null || Array.isArray(event.metadata)) {
    throw new InvalidEventError(`event "${event.eventId}" metadata must be an object`);
  }
}
