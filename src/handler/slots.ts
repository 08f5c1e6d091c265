import type { LeaseLostError } from '../errors.ts';
import type { SlotClaim } from '../store/types.ts';
import type { HandlerConfig } from './types.ts';

/** Who owns which slot, as this node last saw it. */
export interface SlotOwnership {
  readonly count: number;
  /** Slots this node owns. */
  readonly owned: readonly number[];
  /** Every live member with the slots it holds. */
  readonly members: readonly { readonly id: string; readonly label: string; readonly slots: readonly number[] }[];
}

/**
 * A handler run as slot ownership sees it: it holds some slots and is told "these are your slots now". The run
 * owns this interface; the ownership layer (`src/cluster/`) calls it and never sees the run's parts.
 */
export interface SlotHolder {
  /** Slots held now, ascending. */
  readonly owned: readonly number[];
  /**
   * These are your slots now: `next` receives the cursors of the slots held until now, as they stand once their
   * events in progress are done and saved, and returns the claims to go on with (possibly none).
   */
  assign(next: (previous: SlotClaim[]) => SlotClaim[]): Promise<void>;
}

/** What the ownership layer reports to the run. */
export interface SlotAssignerSignals {
  /** This node owns no slot now (another node handles them: hot standby). */
  standby(): void;
  /** A store call failed; it is retried. */
  storeTrouble(error: unknown): void;
  /** A failure worth showing in `status().lastError` (a lost lease). */
  failure(error: unknown): void;
}

/** The ownership layer of one run: membership, leases, rebalancing; it announces slots to a {@link SlotHolder}. */
export interface SlotAssigner {
  /** Joins and starts rebalancing. */
  start(): void;
  /** A cursor save found slots no longer held: record it and look at the ownership again soon. */
  lost(error: LeaseLostError): void;
  /** Stops rebalancing (renewals go on, so the leases outlive the drain); resolves once a rebalance in flight ended. */
  quiesce(): Promise<void>;
  /** Leaves the handler, releasing every slot; resolves once done (a failure is reported, the leases then lapse). */
  leave(): Promise<void>;
  ownership(): SlotOwnership;
}

/** Creates the ownership layer of one run (given by the app, implemented in `src/cluster/`). */
export type SlotAssignerFactory = (run: {
  readonly config: HandlerConfig;
  readonly slotCount: number;
  readonly holder: SlotHolder;
  readonly signals: SlotAssignerSignals;
}) => SlotAssigner;
