/**
 * The crash accounting of in-flight notes (pure, shared by the stores): what a claim makes of a note left by a run
 * that never cleared it, and what a note keeps as the cursor moves. PostgreSQL does the same in SQL (sql/slots.ts).
 */
import type { CursorState, Suspect } from './types.ts';

/** Whether the cursor has passed `eventNumber` (at or below its position, or acknowledged above it). */
export function passed(cursor: CursorState, eventNumber: number): boolean {
  return eventNumber <= cursor.position || cursor.acked.includes(eventNumber);
}

/** The note after adding `events`: noted events the cursor passed are dropped; ascending, without repeats. */
export function addToNote(note: readonly number[], events: readonly number[], cursor: CursorState): number[] {
  const next = new Set<number>();
  for (const eventNumber of [...note, ...events]) if (!passed(cursor, eventNumber)) next.add(eventNumber);
  return [...next].sort((a, b) => a - b);
}

/**
 * The suspects after a claim found `note` (empty when the last run cleared it): one crash more for each noted event
 * the cursor has not passed (`alone` when the note held only it and was written `alone`), the earlier counts kept
 * for the other suspects the cursor has not passed, passed ones dropped. Ascending by event number.
 */
export function countCrashes(note: readonly number[], noteAlone: boolean, suspects: readonly Suspect[], cursor: CursorState): Suspect[] {
  const counts = new Map<number, Suspect>();
  for (const suspect of suspects) if (!passed(cursor, suspect.eventNumber)) counts.set(suspect.eventNumber, suspect);
  const noted = [...new Set(note)].filter((eventNumber) => !passed(cursor, eventNumber));
  const alone = noteAlone && noted.length === 1;
  for (const eventNumber of noted) counts.set(eventNumber, { eventNumber, crashes: (counts.get(eventNumber)?.crashes ?? 0) + 1, alone });
  return [...counts.values()].sort((a, b) => a.eventNumber - b.eventNumber);
}
