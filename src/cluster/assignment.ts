/**
 * How many slots each live member should own: the slot count split as evenly as possible (every target within
 * one of the others). The extra slots of an uneven split go first to the members that hold more than the even
 * share now (most held first), so a member keeps what it holds whenever that stays within one of balanced: a
 * joining member never takes a slot from a holder that may keep it, and a handler with one slot stays with its
 * holder until that stops. Extras nobody holds go by id order: member ids are ULIDs (time-ordered), so the
 * longest-running member. `owners[slot]` is the id of the node holding a live lease, or `undefined`; every node
 * computes the same targets from the same members and owners.
 */
export function targetSlotCounts(slotCount: number, memberIds: readonly string[], owners: readonly (string | undefined)[] = []): Map<string, number> {
  const sorted = [...new Set(memberIds)].sort();
  const targets = new Map<string, number>();
  if (sorted.length === 0) return targets;
  const base = Math.floor(slotCount / sorted.length);
  const held = new Map<string, number>();
  for (const owner of owners) if (owner !== undefined) held.set(owner, (held.get(owner) ?? 0) + 1);
  const heldBy = (id: string): number => held.get(id) ?? 0;
  // Holders above the even share first (most held, then id), then everyone else in id order.
  const order = [...sorted].sort((a, b) => {
    const aboveA = heldBy(a) > base ? heldBy(a) : 0;
    const aboveB = heldBy(b) > base ? heldBy(b) : 0;
    return aboveB - aboveA || (a < b ? -1 : a > b ? 1 : 0);
  });
  let extra = slotCount % sorted.length;
  for (const id of order) {
    targets.set(id, base + (extra > 0 ? 1 : 0));
    if (extra > 0) extra--;
  }
  return targets;
}

/** This node's entry of {@link targetSlotCounts} (0 when it is not a member). */
export function targetSlotCount(slotCount: number, memberIds: readonly string[], nodeId: string, owners: readonly (string | undefined)[] = []): number {
  return targetSlotCounts(slotCount, memberIds, owners).get(nodeId) ?? 0;
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
  const target = targetSlotCount(slotCount, memberIds, nodeId, owners);
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
