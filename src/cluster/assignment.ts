/**
 * Which slots a node should own: the slots split into contiguous ranges, one per live member in id order, sized
 * within one of each other. Every node computes the same answer from the same member list, so nodes agree on a
 * target without talking to each other; they converge by releasing what is not theirs and claiming what is free.
 * Member ids are ULIDs (time-ordered), so the oldest member gets the first range: with one slot, the node that has
 * run longest keeps it when others join (no move on a rolling restart until that node itself stops).
 */
export function assignSlots(slotCount: number, memberIds: readonly string[], nodeId: string): number[] {
  const sorted = [...new Set(memberIds)].sort();
  const index = sorted.indexOf(nodeId);
  if (index === -1) return [];
  const from = Math.ceil((index * slotCount) / sorted.length);
  const to = Math.ceil(((index + 1) * slotCount) / sorted.length);
  return Array.from({ length: to - from }, (_, i) => from + i);
}
