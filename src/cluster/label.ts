import type { Clock } from '../clock.ts';
import { HandlerConfigError } from '../errors.ts';
import type { EventStore, LabelHolder, NodeIdentity } from '../store/types.ts';
import type { LeaseSettings } from './ownership.ts';

/** What taking up a label needs. */
export interface TakeLabelDeps {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly node: NodeIdentity;
  readonly lease: LeaseSettings;
  /** The handlers this process is about to run. */
  readonly handlerNames: readonly string[];
}

/** Longest pause between two checks of a member whose process is unknown or seen alive. */
const RECHECK_MS = 250;

/**
 * How long a member's session must stay open before the label counts as taken: a process killed a moment ago may
 * still show its session while PostgreSQL's backend notices the closed socket (normally within milliseconds).
 */
const ALIVE_GRACE_MS = 1000;

function refuse(node: NodeIdentity, holder: LabelHolder, why: string): HandlerConfigError {
  return new HandlerConfigError(
    `node.label "${node.label}" is already used by a live process (node ${holder.nodeId}, running handler "${holder.handlerName}"; ${why}): ` +
      'two live processes with one label would fence each other. Give each process its own label (e.g. its pod name), or stop the other one first',
    'node.label',
  );
}

/**
 * Takes up a stable `node.label` at start (issue 14). A live member carrying it whose session is gone is a dead
 * process this one replaces: the store frees its slots at once, without waiting for its leases. One whose session
 * stays open for a second is a live process: rejects with `HandlerConfigError`. One without a recorded session (a pooled store
 * without `listenUrl`) is watched until its membership either expires (dead: this process goes on) or is renewed
 * (alive: rejects), so at most one lease. Does nothing on a store that has no labels (in memory).
 */
export async function takeLabel(deps: TakeLabelDeps): Promise<void> {
  const { store, clock, node, lease, handlerNames } = deps;
  if (store.claimLabel === undefined || handlerNames.length === 0) return;
  const firstSeen = new Map<string, number>();
  let aliveSince: number | undefined;
  for (;;) {
    const holders = await store.claimLabel(node, handlerNames, lease.leaseMs);
    const alive = holders.find((holder) => holder.state === 'alive');
    if (alive !== undefined) {
      aliveSince ??= clock.now();
      if (clock.now() - aliveSince >= ALIVE_GRACE_MS) throw refuse(node, alive, 'its session is open');
      await new Promise<void>((resolve) => clock.setTimeout(resolve, RECHECK_MS));
      continue;
    }
    aliveSince = undefined;
    const unknown = holders.filter((holder) => holder.state === 'unknown');
    if (unknown.length === 0) return;
    const renewed = unknown.find((holder) => holder.expiresAt > (firstSeen.get(holder.nodeId) ?? holder.expiresAt));
    if (renewed !== undefined) throw refuse(node, renewed, 'it renewed its membership');
    for (const holder of unknown) if (!firstSeen.has(holder.nodeId)) firstSeen.set(holder.nodeId, holder.expiresAt);
    await new Promise<void>((resolve) => clock.setTimeout(resolve, Math.min(RECHECK_MS, lease.heartbeatMs / 2)));
  }
}
