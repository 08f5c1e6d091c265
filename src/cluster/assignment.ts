/**
 * How many slots a node should own: the slot count split over the live members as evenly as possible, the
 * members earlier in id order taking the one extra slot. Every node computes the same targets from the same
 * member list. Member ids are ULIDs (time-ordered), so with a single slot the longest-running node is the one
 * that should hold it.
 */
export function targetSlotCount(slotCount: number, memberIds: readonly string[], nodeId: string): number {
  const sorted = [...new Set(memberIds)].sort();
  const index = sorted.indexOf(nodeId);
  if (index === -1) return 0;
  return Math.floor(slotCount / sorted.length) + (index < slotCount % sorted.length ? 1 : 0);
}

/** What a node should change: slots to give up, and free slots to try to claim, in preference order. */
export interface Rebalance {
  readonly release: number[];
  readonly claim: number[];
}

/**
 * Sticky rebalancing: a node keeps the slots it has up to its target (so a join or a leave moves only the slots it
 * must), gives up its highest slots above the target, and below it tries free slots, starting at its own share of
 * the slot range so that nodes claiming at the same moment mostly want different slots (a claim is atomic anyway).
 * `owners[slot]` is the id of the node holding a live lease, or `undefined`.
 */
export function rebalance(args: {
  readonly slotCount: number;
  readonly memberIds: readonly string[];
  readonly nodeId: string;
  /** Slots this node's pump handles now. */
  readonly current: readonly number[];
  readonly owners: readonly (string | undefined)[];
}): Rebalance {
  const { slotCount, memberIds, nodeId, current, owners } = args;
  const target = targetSlotCount(slotCount, memberIds, nodeId);
  const held = [...current].filter((slot) => owners[slot] === nodeId).sort((a, b) => a - b);
  const room = target - Math.min(held.length, target);
  // Slots still leased to this node that its pump lost track of (an interrupted rebalance): claimed again first,
  // or given up when there is no room for them.
  const stray = owners.flatMap((owner, slot) => (owner === nodeId && !current.includes(slot) ? [slot] : []));
  const release = [...held.slice(target), ...stray.slice(room)];
  if (room === 0) return { release, claim: [] };
  const sorted = [...new Set(memberIds)].sort();
  const start = Math.max(0, Math.floor((sorted.indexOf(nodeId) * slotCount) / Math.max(1, sorted.length)));
  const free: number[] = [];
  for (let i = 0; i < slotCount; i++) {
    const slot = (start + i) % slotCount;
    if (owners[slot] === undefined) free.push(slot);
  }
  return { release, claim: [...stray, ...free].slice(0, room) };
}
