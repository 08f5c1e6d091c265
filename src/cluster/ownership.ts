import type { Clock, TimerHandle } from '../clock.ts';
import type { LeaseLostError } from '../errors.ts';
import type { SlotAssigner, SlotAssignerFactory } from '../handler/slots.ts';
import type { EventStore, HandlerMembership, NodeIdentity, SlotClaim } from '../store/types.ts';
import { backoffDelay } from '../store/retry.ts';
import type { Telemetry } from '../telemetry/emitter.ts';
import type { TelemetryEvents } from '../telemetry/types.ts';
import { rebalance as rebalancePlan } from './assignment.ts';

/** How long a lease lasts and how often it is renewed. */
export interface LeaseSettings {
  /** A slot whose owner did not renew for this long may be taken over. @default 4000 */
  readonly leaseMs: number;
  /** Renewal and rebalancing interval. @default leaseMs / 4 */
  readonly heartbeatMs: number;
}

/** What the ownership layer shares across the handlers of an app. */
export interface OwnershipDeps {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly telemetry: Telemetry;
  readonly appName: string;
  readonly node: NodeIdentity;
  readonly lease: LeaseSettings;
}

/** Part of a lease's time after the last renewal at which a node stops handling on its own, before others may take over. */
const SELF_FENCE_FRACTION = 0.75;

/** Heartbeats after a failed renewal: 100 ms doubling, capped at the heartbeat interval, jittered. */
const RENEW_RETRY_BASE_MS = 100;

/**
 * The factory of slot ownership for an app's handler runs: per run, renews this node's membership and leases,
 * claims the slots the assignment gives it once they are free, gives up the others, and tells the run "these
 * are your slots now" whenever that set changes. It knows the run only as a `SlotHolder`.
 */
export function slotOwnership(deps: OwnershipDeps): SlotAssignerFactory {
  return (run) => createSlotAssigner(deps, run);
}

function createSlotAssigner(deps: OwnershipDeps, run: Parameters<SlotAssignerFactory>[0]): SlotAssigner {
  const { store, clock, node, lease } = deps;
  const { config, slotCount, holder, signals } = run;
  let membership: HandlerMembership = { members: [], owners: [] };
  let renewedAt = clock.now();
  let stopped = false;
  /** Left the handler: no more renewals either. */
  let left = false;
  /** The renewal in flight, which `leave` must follow (a renewal landing after it would bring the member back). */
  let renewing: Promise<unknown> = Promise.resolve();
  let timer: TimerHandle | undefined;
  let queued = false;
  let busy = false;
  let turn: Promise<void> = Promise.resolve();
  let failures = 0;
  let unsubscribe: () => void = () => {};

  function emit(name: keyof Pick<TelemetryEvents, 'slots:acquire' | 'slots:release' | 'slots:takeover' | 'slots:lost'>, slots: readonly number[], extra: { from?: string; reason?: string } = {}): void {
    if (slots.length === 0 || !deps.telemetry.hasListeners(name)) return;
    deps.telemetry.emit(name, { app: deps.appName, handlerName: config.name, node: node.id, nodeLabel: node.label, slots, ...extra });
  }

  function lost(error: LeaseLostError): void {
    signals.failure(error);
    schedule();
  }

  /** Runs one rebalance after the current one (at most one waits). */
  function schedule(): void {
    if (queued || stopped) return;
    queued = true;
    turn = turn.then(async () => {
      queued = false;
      if (stopped) return;
      busy = true;
      try {
        await rebalance();
      } catch (error) {
        failures++;
        signals.storeTrouble(error);
      } finally {
        busy = false;
      }
      if (holder.owned.length === 0 && !stopped) signals.standby();
    });
  }

  /**
   * Every heartbeat interval: a rebalance (which renews), or only a renewal while a rebalance is busy or the run is
   * stopping (its leases must outlive the drain, or another node would take the slots while it still handles them).
   */
  function tick(): void {
    timer = undefined;
    if (left) return;
    if (!busy && !stopped) schedule();
    else void renew().catch((error: unknown) => signals.storeTrouble(error));
    arm();
  }

  function arm(): void {
    if (left) return;
    const delay = failures === 0 ? lease.heartbeatMs : backoffDelay(failures, { baseMs: RENEW_RETRY_BASE_MS, capMs: lease.heartbeatMs });
    timer = clock.setTimeout(tick, delay);
  }

  /** Renews membership and leases; records when, for the self-fence. */
  async function renew(): Promise<HandlerMembership> {
    const sentAt = clock.now();
    const call = store.heartbeat(config.name, node, lease.leaseMs);
    renewing = call.catch(() => undefined);
    const fresh = await call;
    failures = 0;
    renewedAt = sentAt;
    return fresh;
  }

  async function rebalance(): Promise<void> {
    try {
      // Its own heartbeat, after this node's earlier claims and releases: owners are never older than them.
      membership = await renew();
    } catch (error) {
      if (clock.now() - renewedAt >= lease.leaseMs * SELF_FENCE_FRACTION && holder.owned.length > 0) {
        const slots = holder.owned;
        await holder.assign(() => []);
        emit('slots:lost', slots, { reason: 'lease not renewed in time' });
      }
      throw error;
    }
    if (stopped) return;
    const owners = membership.owners;
    const current = holder.owned;
    const lostSlots = current.filter((slot) => owners[slot] !== node.id);
    const plan = rebalancePlan({ slotCount, memberIds: membership.members.map((member) => member.id), nodeId: node.id, current, owners });
    const surplus = plan.release;
    const wanted = plan.claim;
    if (lostSlots.length === 0 && surplus.length === 0 && wanted.length === 0) return;

    let kept: SlotClaim[] | undefined;
    if (lostSlots.length > 0 || surplus.length > 0) {
      await holder.assign((previous) => {
        kept = previous.filter((claim) => !lostSlots.includes(claim.slot) && !surplus.includes(claim.slot));
        return [];
      });
      emit('slots:lost', lostSlots, { reason: 'another node holds them' });
      if (surplus.length > 0) {
        await store.releaseSlots(config.name, node.id, surplus);
        emit('slots:release', surplus);
      }
      if (stopped) return;
    }
    const claims = wanted.length === 0 ? [] : await store.claimSlots(config.name, node, wanted, lease.leaseMs);
    if (claims.length === 0 && kept === undefined) return;
    // A stopped run's cursors are the freshest for the slots kept; a claim's cursor for the new ones.
    await holder.assign((previous) => [...(kept ?? previous), ...claims]);
    emit('slots:acquire', claims.map((claim) => claim.slot));
    for (const from of new Set(claims.map((claim) => claim.takenFrom).filter((id) => id !== undefined))) {
      emit('slots:takeover', claims.filter((claim) => claim.takenFrom === from).map((claim) => claim.slot), { from });
    }
  }

  return {
    start() {
      unsubscribe = store.onMembershipChanged((name) => {
        if (name === config.name) schedule();
      });
      schedule();
      arm();
    },
    lost,
    async quiesce() {
      stopped = true;
      unsubscribe();
      await turn;
    },
    async leave() {
      const slots = holder.owned;
      left = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      await renewing;
      try {
        await store.leave(config.name, node.id);
        emit('slots:release', slots);
      } catch (error) {
        // The leases lapse on their own after leaseMs.
        signals.storeTrouble(error);
      }
    },
    ownership() {
      return {
        count: slotCount,
        owned: holder.owned,
        members: membership.members.map((member) => ({
          id: member.id,
          label: member.label,
          slots: membership.owners.flatMap((owner, slot) => (owner === member.id ? [slot] : [])),
        })),
      };
    },
  };
}
