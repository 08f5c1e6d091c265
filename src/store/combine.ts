import type { CursorState } from './types.ts';

/**
 * A handler's cursor over all its slots: the lowest slot position, and every number some slot acknowledged above
 * it (a valid description: each slot's own events up to its position are acknowledged too, just not listed).
 */
export function combineSlotCursors(cursors: readonly CursorState[]): CursorState {
  const position = Math.min(...cursors.map((cursor) => cursor.position));
  const acked = new Set<number>();
  for (const cursor of cursors) for (const n of cursor.acked) if (n > position) acked.add(n);
  return { position, acked: [...acked].sort((a, b) => a - b) };
}
