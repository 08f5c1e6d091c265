/**
 * The PostgreSQL store's own input step: events checked and serialized for `append_events`. The checks every
 * store shares live in `../validate.ts`.
 */
import { InvalidEventError } from '../../errors.ts';
import type { NewEvent } from '../../events/types.ts';

/**
 * Checks the events of one append and serializes them for `append_events`.
 * @returns the JSON array `[{ id, type, data, metadata }]`
 */
export function serializeEvents(events: readonly NewEvent[]): string {
  if (!Array.isArray(events)) throw new InvalidEventError('events must be an array');
  const seen = new Set<string>();
  const rows = events.map((event: NewEvent) => {
    if (typeof event !== 'object' || event === null) throw new InvalidEventError('each event must be an object');
    const { eventId, type, data, metadata } = event;
    if (typeof eventId !== 'string' || eventId === '') throw new InvalidEventError('eventId must be a non-empty string');
    if (typeof type !== 'string' || type === '') throw new InvalidEventError(`event "${eventId}" needs a non-empty string type`);
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new InvalidEventError(`event "${eventId}" metadata must be an object`);
    }
    if (data === undefined) throw new InvalidEventError(`event "${eventId}" has no data`);
    if (seen.has(eventId)) throw new InvalidEventError(`eventId "${eventId}" appears twice in one append`);
    seen.add(eventId);
    return { id: eventId, type, data, metadata };
  });
  try {
    return JSON.stringify(rows);
  } catch (error) {
    throw new InvalidEventError(`events cannot be stored as JSON: ${(error as Error).message}`);
  }
}




