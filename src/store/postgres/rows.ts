/** Rows as postgres.js returns them, turned into the store contract's values. */
import { StoreError } from '../../errors.ts';
import type { RecordedEvent } from '../../events/types.ts';
import { combineSlotCursors } from '../combine.ts';
import type { DeadLetter, HandlerRecord } from '../types.ts';
import type { DeadLetterRow } from './sql/dead-letters.ts';
import type { Int8, ReadEventJson } from './sql/events.ts';
import type { HandlerRow } from './sql/handlers.ts';

/** An `int8` (string, bigint or number, depending on the driver's types) as a JS number. */
export function toNumber(value: Int8 | number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new StoreError(`expected an integer from the database, got ${String(value)}`);
  return n;
}

/** A read row's event. Its numbers came as JSON numbers, so they are checked here, as `toNumber` would. */
export function toRecordedEvent(event: ReadEventJson): RecordedEvent {
  const [eventNumber, eventId, streamId, streamVersion, type, data, metadata, createdAt] = event;
  if (!Number.isSafeInteger(eventNumber) || !Number.isSafeInteger(streamVersion)) {
    throw new StoreError(`expected integers from the database, got ${String(eventNumber)} and ${String(streamVersion)}`);
  }
  return { eventId, eventNumber, streamId, streamVersion, type, data, metadata, createdAt: new Date(createdAt) };
}

/** A `handlers` row. */
export function toHandlerRecord(row: HandlerRow): HandlerRecord {
  const cursors = row.cursors.map(([position, acked]) => ({ position: toNumber(position), acked: acked.map(toNumber) }));
  return {
    name: row.name,
    subscribeTo: row.subscribe_to,
    consistency: row.consistency,
    initialPosition: toNumber(row.initial_position),
    cursor: cursors.length === 0 ? { position: toNumber(row.initial_position), acked: [] } : combineSlotCursors(cursors),
    slots: row.slots,
    updatedAt: row.updated_at,
  };
}

/** A `dead_letters` row; its event was stored as JSON, so `createdAt` comes back as a string. */
export function toDeadLetter(row: DeadLetterRow): DeadLetter {
  const event = row.event;
  return {
    id: row.id,
    handlerName: row.handler_name,
    event: {
      eventId: String(event['eventId']),
      eventNumber: Number(event['eventNumber']),
      streamId: String(event['streamId']),
      streamVersion: Number(event['streamVersion']),
      type: String(event['type']),
      data: event['data'],
      metadata: (event['metadata'] ?? {}) as Record<string, unknown>,
      createdAt: new Date(String(event['createdAt'])),
    },
    error: {
      message: row.error_message,
      ...(row.error_stack === null ? {} : { stack: row.error_stack }),
      ...(row.error_code === null || row.error_code === undefined ? {} : { code: row.error_code }),
    },
    attempts: row.attempts,
    deadAt: row.dead_at,
  };
}
