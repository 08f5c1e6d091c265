import type { TimerHandle } from '../clock.ts';
import { LeaseLostError } from '../errors.ts';
import type { RecordedEvent } from '../events/types.ts';
import { createPump, type Pump, type PumpSignals, type RunDeps } from '../handler/pump.ts';
import type { HandlingOutcome } from '../handler/worker.ts';
import { MAX_DELAY_MS } from '../handler/actions.ts';
import type { HandlerMembership, NodeIdentity, SlotClaim } from '../store/types.ts';
import type { TelemetryEvents } from '../telemetry/types.ts';
import { rebalance as rebalancePlan } from './assignment.ts';

/** How long a lease lasts and how often it is renewed. */
export interface LeaseSettings {
  /** A slot whose owner did not renew for this long may be taken over. @default 10000 */
  readonly leaseMs: number;
  /** Renewal and rebalancing interval. @default leaseMs / 4 */
  readonly heartbeatMs: number;
}

/** What the consumer reports to its subscription actor. */
export interface ConsumerSignals extends Omit<PumpSignals, 'leaseLost'> {
  /** This node owns no slot now (another node handles them: hot standby). */
  standby(): void;
}

/** Everything a consumer needs. */
export interface ConsumerDeps extends RunDeps {
  readonly node: NodeIdentity;
  readonly lease: LeaseSettings;
  readonly slotCount: number;
  /** The handler's position when the run started (shown while no slot is owned). */
  readonly startPosition: number;
  readonly signals: ConsumerSignals;
}

/** Who owns which slot, as this node last saw it. */
export interface SlotOwnership {
  readonly count: number;
  /** Slots this node owns. */
  readonly owned: readonly number[];
  /** Every live member with the slots it holds. */
  readonly members: readonly { readonly id: string; readonly label: string; readonly slots: readonly number[] }[];
}

/**
 * A handler run's share of the work across processes: renews this node's membership and leases, claims the slots
 * the assignment gives it once they are free, gives up the others, and runs one pump over the slots it owns,
 * replacing the pump whenever that set changes (the old pump drains and saves first, so a slot moves on exactly
 * where it was acknowledged).
 */
export interface Consumer {
  start(): void;
  /** Stops rebalancing, lets the pump finish its queue for up to `timeoutMs`, saves, and leaves (releasing every slot). */
  drain(timeoutMs: number): Promise<void>;
  /** Like {@link drain} but halts workers after their current event. */
  abort(timeoutMs: number): Promise<void>;
  replay(event: RecordedEvent): Promise<HandlingOutcome>;
  ownership(): SlotOwnership;
  /** Whether this node owns every slot (its position is then the handler's). */
  readonly ownsAll: boolean;
  readonly position: number;
  readonly head: number;
}

/** Part of a lease's time after the last renewal at which a node stops handling on its own, before others may take over. */
const SELF_FENCE_FRACTION = 0.75;

/** Creates (but does not start) a consumer. */
export function createConsumer(deps: ConsumerDeps): Consumer {
  const { config, store, clock, node, lease, slotCount, signals } = deps;
  let pump = newPump([], deps.startPosition);
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

  function newPump(claims: readonly SlotClaim[], fallbackPosition: number): Pump {
    const created: Pump = createPump({
      ...deps,
      claims,
      slotCount,
      nodeId: node.id,
      fallbackPosition,
      signals: {
        ...signals,
        advanced: (position) => {
          if (created === pump) advanced(position);
        },
        stopRequested: (reason) => {
          if (reason instanceof LeaseLostError) lost(reason);
          else signals.stopRequested(reason);
        },
        leaseLost: lost,
      },
    });
    return created;
  }

  function emit(name: keyof Pick<TelemetryEvents, 'slots:acquire' | 'slots:release' | 'slots:takeover' | 'slots:lost'>, slots: readonly number[], extra: { from?: string; reason?: string } = {}): void {
    if (slots.length === 0 || !deps.telemetry.hasListeners(name)) return;
    deps.telemetry.emit(name, { app: deps.appName, handlerName: config.name, node: node.id, nodeLabel: node.label, slots, ...extra });
  }

  /** Only a node owning every slot knows the handler's position; the others' is in the store. */
  function advanced(position: number): void {
    if (pump.owned.length === slotCount) signals.advanced(position);
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
      if (pump.owned.length === 0 && !stopped) signals.standby();
    });
  }

  /** Every heartbeat interval: a rebalance (which renews), or only a renewal while a rebalance is busy draining. */
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
    const delay = failures === 0 ? lease.heartbeatMs : Math.min(lease.heartbeatMs, 100 * 2 ** Math.min(failures, 10));
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

  /**
   * Replaces the pump: the old one halts once the events in progress are done (however long they take: one
   * abandoned while still running could overlap with the slot's next owner, or be handled again here) and saves;
   * a new one starts over what `next` makes of the old one's final cursors. Events read but not started are not
   * acknowledged in them, so the new pump (or the slot's next owner) reads them again.
   */
  async function swap(next: (previous: SlotClaim[]) => SlotClaim[]): Promise<void> {
    const old = pump;
    await old.abort(MAX_DELAY_MS);
    const claims = next(old.current());
    pump = newPump(claims, old.position);
    if (stopped) return;
    if (claims.length > 0) signals.behind();
    pump.start();
    advanced(pump.position);
  }

  async function rebalance(): Promise<void> {
    try {
      // Its own heartbeat, after this node's earlier claims and releases: owners are never older than them.
      membership = await renew();
    } catch (error) {
      if (clock.now() - renewedAt >= lease.leaseMs * SELF_FENCE_FRACTION && pump.owned.length > 0) {
        const slots = pump.owned;
        await swap(() => []);
        emit('slots:lost', slots, { reason: 'lease not renewed in time' });
      }
      throw error;
    }
    if (stopped) return;
    const owners = membership.owners;
    const current = pump.owned;
    const lostSlots = current.filter((slot) => owners[slot] !== node.id);
    const plan = rebalancePlan({ slotCount, memberIds: membership.members.map((member) => member.id), nodeId: node.id, current, owners });
    const surplus = plan.release;
    const wanted = plan.claim;
    if (lostSlots.length === 0 && surplus.length === 0 && wanted.length === 0) return;

    let kept: SlotClaim[] | undefined;
    if (lostSlots.length > 0 || surplus.length > 0) {
      await swap((previous) => {
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
    // A stopped pump's cursors are the freshest for the slots kept; a claim's cursor for the new ones.
    await swap((previous) => [...(kept ?? previous), ...claims]);
    emit('slots:acquire', claims.map((claim) => claim.slot));
    for (const from of new Set(claims.map((claim) => claim.takenFrom).filter((id) => id !== undefined))) {
      emit('slots:takeover', claims.filter((claim) => claim.takenFrom === from).map((claim) => claim.slot), { from });
    }
  }

  async function finish(how: 'drain' | 'abort', timeoutMs: number): Promise<void> {
    stopped = true;
    unsubscribe();
    await turn;
    const slots = pump.owned;
    if (how === 'drain') await pump.drain(timeoutMs);
    else await pump.abort(timeoutMs);
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
  }

  return {
    start() {
      unsubscribe = store.onMembershipChanged((name) => {
        if (name === config.name) schedule();
      });
      schedule();
      arm();
    },
    drain: (timeoutMs) => finish('drain', timeoutMs),
    abort: (timeoutMs) => finish('abort', timeoutMs),
    replay: (event) => pump.replay(event),
    ownership() {
      return {
        count: slotCount,
        owned: pump.owned,
        members: membership.members.map((member) => ({
          id: member.id,
          label: member.label,
          slots: membership.owners.flatMap((owner, slot) => (owner === member.id ? [slot] : [])),
        })),
      };
    },
    get ownsAll() {
      return pump.owned.length === slotCount;
    },
    get position() {
      return pump.position;
    },
    get head() {
      return pump.head;
    },
  };
}
