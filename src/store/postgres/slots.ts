/** Slots, leases and members of the PostgreSQL store (several processes running the same handlers). */
import type { ISql, Sql } from 'postgres';
import { LeaseLostError, StoreError } from '../../errors.ts';
import type { HandlerMembership, InFlightNote, LabelHolder, NodeIdentity, SlotClaim, SlotCursor, Suspect } from '../types.ts';
import { checkInFlightNotes, checkLeaseMs, checkNode, checkSlotCursors, checkSlotNumbers } from '../validate.ts';
import { clearInFlight, noteInFlight } from './sql/in-flight.ts';
import { toNumber } from './rows.ts';
import { claimLabel } from './sql/labels.ts';
import { claimSlots, heartbeat, releaseSlots, saveSlotCursors } from './sql/slots.ts';

/** The slot operations of the store; `EventStore` documents each. */
export interface Slots {
  heartbeat(name: string, node: NodeIdentity, leaseMs: number): Promise<HandlerMembership>;
  claim(name: string, node: NodeIdentity, slots: readonly number[], leaseMs: number): Promise<SlotClaim[]>;
  release(name: string, nodeId: string, slots: readonly number[]): Promise<void>;
  leave(name: string, nodeId: string): Promise<void>;
  claimLabel(node: NodeIdentity, names: readonly string[], leaseMs: number, sessionPid: number | undefined): Promise<LabelHolder[]>;
  /** Saves in `db` (the pool, or a transaction: a lost lease then rolls it back). */
  save(db: ISql, name: string, nodeId: string, cursors: readonly SlotCursor[]): Promise<void>;
  noteInFlight(name: string, nodeId: string, notes: readonly InFlightNote[]): Promise<void>;
  clearInFlight(name: string, nodeId: string, slots: readonly { readonly slot: number; readonly epoch: number }[]): Promise<void>;
}

const unknown = (operation: string, name: string) => new StoreError(`${operation}: no handler named "${String(name)}" is registered`);

/** Throws `StoreError` for a slot number at or above the handler's slot count (the statement then changed nothing). */
function checkInside(operation: string, name: string, slots: readonly number[], slotCount: number): void {
  const outside = slots.find((slot) => slot >= slotCount);
  if (outside !== undefined) throw new StoreError(`${operation}: handler "${name}" has ${slotCount} slots, no slot ${outside}`);
}

/** Creates the slot operations over a pool; `sessionPid` is the backend pid of this process's LISTEN session. */
export function createSlots(sql: Sql, schema: string, channel: string, sessionPid: () => number | undefined): Slots {
  return {
    async heartbeat(name, node, leaseMs) {
      checkNode('heartbeat', node);
      checkLeaseMs('heartbeat', leaseMs);
      const row = await heartbeat(sql, schema, name, node, leaseMs, channel, sessionPid());
      if (row.slot_count === null) throw unknown('heartbeat', name);
      const members = [...row.members.map(([id, label]) => ({ id, label })), { id: node.id, label: node.label }];
      members.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const owners: (string | undefined)[] = Array.from({ length: row.slot_count }, () => undefined);
      for (const [slot, owner] of row.held) owners[slot] = owner;
      for (const slot of row.renewed) owners[slot] = node.id;
      return { members, owners };
    },
    async claim(name, node, slots, leaseMs) {
      checkNode('claimSlots', node);
      checkLeaseMs('claimSlots', leaseMs);
      checkSlotNumbers('claimSlots', slots);
      if (slots.length === 0) return [];
      const { slotCount, claims } = await claimSlots(sql, schema, name, node, slots, leaseMs);
      if (slotCount === null) throw unknown('claimSlots', name);
      checkInside('claimSlots', name, slots, slotCount);
      return claims.map((claim) => ({
        slot: claim.slot,
        epoch: toNumber(claim.epoch),
        cursor: { position: toNumber(claim.position), acked: claim.acked.map(toNumber) },
        takenFrom: claim.previous ?? undefined,
        suspects: suspectsOf(claim.suspects),
      }));
    },
    async release(name, nodeId, slots) {
      checkSlotNumbers('releaseSlots', slots);
      const { slotCount } = await releaseSlots(sql, schema, { name, nodeId, slots, leave: false, channel });
      if (slotCount === null) throw unknown('releaseSlots', name);
      checkInside('releaseSlots', name, slots, slotCount);
    },
    async leave(name, nodeId) {
      const { slotCount } = await releaseSlots(sql, schema, { name, nodeId, slots: undefined, leave: true, channel });
      if (slotCount === null) throw unknown('leave', name);
    },
    async claimLabel(node, names, leaseMs, pid) {
      checkNode('claimLabel', node);
      checkLeaseMs('claimLabel', leaseMs);
      const rows = await claimLabel(sql, schema, { node, names, leaseMs, sessionPid: pid, channel });
      return rows.map((row) => ({ nodeId: row.node_id, handlerName: row.handler_name, expiresAt: Number(row.expires_ms), state: row.state }));
    },
    async save(db, name, nodeId, cursors) {
      checkSlotCursors(cursors);
      if (cursors.length === 0) return;
      const { slotCount, saved } = await saveSlotCursors(db, schema, { name, nodeId, cursors, channel });
      if (slotCount === null) throw unknown('saveSlotCursors', name);
      checkInside('saveSlotCursors', name, cursors.map((entry) => entry.slot), slotCount);
      if (saved.length < cursors.length) {
        const lost = cursors.map((entry) => entry.slot).filter((slot) => !saved.includes(slot));
        throw new LeaseLostError(name, lost);
      }
    },
    async noteInFlight(name, nodeId, notes) {
      checkInFlightNotes(notes);
      if (notes.length === 0) return;
      const { slotCount, noted } = await noteInFlight(sql, schema, { name, nodeId, notes });
      if (slotCount === null) throw unknown('noteInFlight', name);
      checkInside('noteInFlight', name, notes.map((note) => note.slot), slotCount);
      if (noted.length < notes.length) throw new LeaseLostError(name, notes.map((note) => note.slot).filter((slot) => !noted.includes(slot)));
    },
    async clearInFlight(name, nodeId, slots) {
      checkSlotNumbers('clearInFlight', slots.map((held) => held.slot));
      if (slots.length > 0) await clearInFlight(sql, schema, { name, nodeId, slots });
    },
  };
}

/** Crash counts as a claim returns them (`{"<event number>": [crashes, alone]}`), ascending. */
function suspectsOf(counts: Record<string, [number, boolean]> | null | undefined): Suspect[] {
  return Object.entries(counts ?? {})
    .map(([eventNumber, [crashes, alone]]) => ({ eventNumber: Number(eventNumber), crashes: Number(crashes), alone: alone === true }))
    .sort((a, b) => a.eventNumber - b.eventNumber);
}
