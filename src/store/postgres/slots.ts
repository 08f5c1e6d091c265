/** Slots, leases and members of the PostgreSQL store (several processes running the same handlers). */
import type { ISql, Sql } from 'postgres';
import { LeaseLostError, StoreError } from '../../errors.ts';
import type { HandlerMembership, NodeIdentity, SlotClaim, SlotCursor } from '../types.ts';
import { checkLeaseMs, checkNode, checkSlotCursors, checkSlotNumbers } from '../validate.ts';
import { toNumber } from './rows.ts';
import { claimSlots, heartbeat, releaseSlots, saveSlotCursors } from './sql/slots.ts';

/** The slot operations of the store; `EventStore` documents each. */
export interface Slots {
  heartbeat(name: string, node: NodeIdentity, leaseMs: number): Promise<HandlerMembership>;
  claim(name: string, node: NodeIdentity, slots: readonly number[], leaseMs: number): Promise<SlotClaim[]>;
  release(name: string, nodeId: string, slots: readonly number[]): Promise<void>;
  leave(name: string, nodeId: string): Promise<void>;
  /** Saves in `db` (the pool, or a transaction: a lost lease then rolls it back). */
  save(db: ISql, name: string, nodeId: string, cursors: readonly SlotCursor[]): Promise<void>;
}

const unknown = (operation: string, name: string) => new StoreError(`${operation}: no handler named "${String(name)}" is registered`);

/** Creates the slot operations over a pool. */
export function createSlots(sql: Sql, schema: string, channel: string): Slots {
  return {
    async heartbeat(name, node, leaseMs) {
      checkNode('heartbeat', node);
      checkLeaseMs('heartbeat', leaseMs);
      const row = await heartbeat(sql, schema, name, node, leaseMs, channel);
      if (row.joined === null) throw unknown('heartbeat', name);
      const members = [...row.members.map(([id, label]) => ({ id, label })), { id: node.id, label: node.label }];
      members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return { members, owners: row.owners.map((owner) => owner ?? undefined) };
    },
    async claim(name, node, slots, leaseMs) {
      checkNode('claimSlots', node);
      checkLeaseMs('claimSlots', leaseMs);
      checkSlotNumbers('claimSlots', slots);
      if (slots.length === 0) return [];
      const { slotCount, claims } = await claimSlots(sql, schema, name, node, slots, leaseMs);
      if (slotCount === null) throw unknown('claimSlots', name);
      const outside = slots.find((slot) => slot >= slotCount);
      if (outside !== undefined) throw new StoreError(`claimSlots: handler "${name}" has ${slotCount} slots, no slot ${outside}`);
      return claims.map((claim) => ({
        slot: claim.slot,
        epoch: toNumber(claim.epoch),
        cursor: { position: toNumber(claim.position), acked: claim.acked.map(toNumber) },
        takenFrom: claim.previous ?? undefined,
      }));
    },
    async release(name, nodeId, slots) {
      checkSlotNumbers('releaseSlots', slots);
      const changed = await releaseSlots(sql, schema, { name, nodeId, slots, leave: false, channel });
      if (changed === null) throw unknown('releaseSlots', name);
    },
    async leave(name, nodeId) {
      const changed = await releaseSlots(sql, schema, { name, nodeId, slots: undefined, leave: true, channel });
      if (changed === null) throw unknown('leave', name);
    },
    async save(db, name, nodeId, cursors) {
      checkSlotCursors(cursors);
      if (cursors.length === 0) return;
      const saved = await saveSlotCursors(db, schema, { name, nodeId, cursors, channel });
      if (saved === null) throw unknown('saveSlotCursors', name);
      if (saved.length < cursors.length) {
        const lost = cursors.map((entry) => entry.slot).filter((slot) => !saved.includes(slot));
        throw new LeaseLostError(name, lost);
      }
    },
  };
}
