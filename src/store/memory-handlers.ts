import { HandlerConfigError, LeaseLostError, StoreError } from '../errors.ts';
import type {
  CursorState,
  HandlerMembership,
  HandlerRecord,
  HandlerRegistration,
  InFlightNote,
  NodeIdentity,
  SlotClaim,
  SlotCursor,
  Suspect,
} from './types.ts';
import { addToNote, countCrashes } from './suspects.ts';
import { combineSlotCursors } from './combine.ts';
import { checkCursor, checkInFlightNotes, checkLeaseMs, checkNode, checkRegistration, checkSlotCursors, checkSlotNumbers } from './validate.ts';

/** The in-memory handler registry: settings, slot cursors, leases and members of every handler ever registered. */
export interface MemoryHandlers {
  /** See `EventStore.registerHandler`; `head` is the log's head, used for `startFrom: 'current'`. */
  register(registration: HandlerRegistration, head: number, now: number): HandlerRecord;
  load(name: string): HandlerRecord | undefined;
  /** Every handler, by name. */
  list(): HandlerRecord[];
  /** Every slot gets `state`. Throws `StoreError` for an unknown handler or a malformed cursor; returns the lowest position. */
  saveCursor(name: string, state: CursorState, now: number): number;
  /** Throws `StoreError` for an unknown handler. */
  reset(name: string, now: number): HandlerRecord;
  /** Returns the membership and whether the node joined just now. */
  heartbeat(name: string, node: NodeIdentity, leaseMs: number, now: number): { membership: HandlerMembership; joined: boolean };
  claim(name: string, node: NodeIdentity, slots: readonly number[], leaseMs: number, now: number): SlotClaim[];
  /** Returns whether any slot was released. */
  release(name: string, nodeId: string, slots: readonly number[] | 'all'): boolean;
  /** Returns whether the node was a member or held a slot. */
  leave(name: string, nodeId: string): boolean;
  /** Saves what is still held, throws `LeaseLostError` for the rest; returns the lowest position after the save. */
  saveSlotCursors(name: string, nodeId: string, cursors: readonly SlotCursor[], now: number): number;
  /** Notes what is still held, throws `LeaseLostError` for the rest. */
  noteInFlight(name: string, nodeId: string, notes: readonly InFlightNote[]): void;
  /** Clears the notes of the slots still held under those epochs. */
  clearInFlight(name: string, nodeId: string, slots: readonly { readonly slot: number; readonly epoch: number }[]): void;
}

interface SlotState {
  cursor: CursorState;
  owner: string | undefined;
  leaseUntil: number;
  epoch: number;
  /** In-flight note of the run holding the slot (see `InFlightNote`). */
  inflight: number[];
  /** Whether the last note was written with nothing else in flight. */
  inflightAlone: boolean;
  suspects: Suspect[];
}

interface Entry {
  name: string;
  subscribeTo: string;
  consistency: 'eventual' | 'strong';
  initialPosition: number;
  slots: SlotState[];
  members: Map<string, { label: string; expiresAt: number }>;
  labels: Map<string, string>;
  updatedAt: number;
}

/** Creates an empty registry. Records handed out are frozen copies. */
export function createMemoryHandlers(): MemoryHandlers {
  const entries = new Map<string, Entry>();

  function existing(name: string, operation: string): Entry {
    const entry = entries.get(name);
    if (entry === undefined) throw new StoreError(`${operation}: no handler named "${String(name)}" is registered`);
    return entry;
  }

  function checkSlotRange(entry: Entry, operation: string, slots: readonly number[]): void {
    checkSlotNumbers(operation, slots);
    const outside = slots.find((slot) => slot >= entry.slots.length);
    if (outside !== undefined) throw new StoreError(`${operation}: handler "${entry.name}" has ${entry.slots.length} slots, no slot ${outside}`);
  }

  function freshSlots(count: number, cursor: CursorState, epoch: number): SlotState[] {
    return Array.from({ length: count }, () => ({ cursor, owner: undefined, leaseUntil: 0, epoch, inflight: [], inflightAlone: false, suspects: [] }));
  }

  function reslice(entry: Entry, count: number, now: number): void {
    const held = entry.slots.find((slot) => slot.owner !== undefined && slot.leaseUntil > now);
    if (held !== undefined) {
      const label = entry.labels.get(held.owner as string) ?? (held.owner as string);
      throw new HandlerConfigError(
        `handler "${entry.name}" runs with ${entry.slots.length} slots on node ${label}; stop it there before changing slots to ${count}`,
        'slots',
      );
    }
    const cursor = combineSlotCursors(entry.slots.map((slot) => slot.cursor));
    const epoch = Math.max(...entry.slots.map((slot) => slot.epoch)) + 1;
    entry.slots = freshSlots(count, cursor, epoch);
  }

  function expireMembers(entry: Entry, now: number): void {
    for (const [id, member] of entry.members) if (member.expiresAt <= now) entry.members.delete(id);
  }

  function lowest(entry: Entry): number {
    return Math.min(...entry.slots.map((slot) => slot.cursor.position));
  }

  return {
    register(registration, head, now) {
      checkRegistration(registration);
      const { name, subscribeTo, consistency, startFrom } = registration;
      const count = registration.slots ?? 1;
      const previous = entries.get(name);
      if (previous !== undefined) {
        if (previous.slots.length !== count) reslice(previous, count, now);
        Object.assign(previous, { subscribeTo, consistency, updatedAt: now });
        return toRecord(previous);
      }
      const initialPosition = startFrom === 'origin' ? 0 : startFrom === 'current' ? head : startFrom;
      const entry: Entry = {
        name, subscribeTo, consistency, initialPosition,
        slots: freshSlots(count, { position: initialPosition, acked: [] }, 0),
        members: new Map(), labels: new Map(), updatedAt: now,
      };
      entries.set(name, entry);
      return toRecord(entry);
    },
    load(name) {
      const entry = entries.get(name);
      return entry === undefined ? undefined : toRecord(entry);
    },
    list() {
      return [...entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(toRecord);
    },
    saveCursor(name, state, now) {
      const entry = existing(name, 'saveCursor');
      checkCursor(state);
      const cursor = copyCursor(state);
      for (const slot of entry.slots) slot.cursor = cursor;
      entry.updatedAt = now;
      return cursor.position;
    },
    reset(name, now) {
      const entry = existing(name, 'resetCursor');
      const cursor = { position: entry.initialPosition, acked: [] };
      for (const slot of entry.slots) Object.assign(slot, { cursor, owner: undefined, leaseUntil: 0, epoch: slot.epoch + 1, inflight: [], inflightAlone: false, suspects: [] });
      entry.updatedAt = now;
      return toRecord(entry);
    },
    heartbeat(name, node, leaseMs, now) {
      const entry = existing(name, 'heartbeat');
      checkNode('heartbeat', node);
      checkLeaseMs('heartbeat', leaseMs);
      expireMembers(entry, now);
      const joined = !entry.members.has(node.id);
      entry.members.set(node.id, { label: node.label, expiresAt: now + leaseMs });
      entry.labels.set(node.id, node.label);
      for (const slot of entry.slots) if (slot.owner === node.id) slot.leaseUntil = now + leaseMs;
      const members = [...entry.members].map(([id, member]) => ({ id, label: member.label })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const owners = entry.slots.map((slot) => (slot.owner !== undefined && slot.leaseUntil > now ? slot.owner : undefined));
      return { membership: { members, owners }, joined };
    },
    claim(name, node, slots, leaseMs, now) {
      const entry = existing(name, 'claimSlots');
      checkNode('claimSlots', node);
      checkLeaseMs('claimSlots', leaseMs);
      checkSlotRange(entry, 'claimSlots', slots);
      entry.labels.set(node.id, node.label);
      const claims: SlotClaim[] = [];
      for (const slot of [...slots].sort((a, b) => a - b)) {
        const state = entry.slots[slot] as SlotState;
        const free = state.owner === undefined || state.owner === node.id || state.leaseUntil <= now;
        if (!free) continue;
        const takenFrom = state.owner !== undefined && state.owner !== node.id ? state.owner : undefined;
        const suspects = countCrashes(state.inflight, state.inflightAlone, state.suspects, state.cursor).map((suspect) => Object.freeze(suspect));
        Object.assign(state, { owner: node.id, leaseUntil: now + leaseMs, epoch: state.epoch + 1, inflight: [], inflightAlone: false, suspects });
        claims.push(Object.freeze({ slot, epoch: state.epoch, cursor: freezeCursor(state.cursor), takenFrom, suspects: Object.freeze([...suspects]) }));
      }
      return claims;
    },
    release(name, nodeId, slots) {
      const entry = existing(name, 'releaseSlots');
      if (slots !== 'all') checkSlotRange(entry, 'releaseSlots', slots);
      let changed = false;
      entry.slots.forEach((state, slot) => {
        if (state.owner !== nodeId || (slots !== 'all' && !slots.includes(slot))) return;
        Object.assign(state, { owner: undefined, leaseUntil: 0 });
        changed = true;
      });
      return changed;
    },
    leave(name, nodeId) {
      const entry = existing(name, 'leave');
      const wasMember = entry.members.delete(nodeId);
      return this.release(name, nodeId, 'all') || wasMember;
    },
    saveSlotCursors(name, nodeId, cursors, now) {
      const entry = existing(name, 'saveSlotCursors');
      checkSlotCursors(cursors);
      checkSlotRange(entry, 'saveSlotCursors', cursors.map((entry) => entry.slot));
      const lost: number[] = [];
      for (const { slot, epoch, cursor } of cursors) {
        const state = entry.slots[slot] as SlotState;
        if (state.owner !== nodeId || state.epoch !== epoch) lost.push(slot);
        else if (notBehind(cursor, state.cursor)) state.cursor = copyCursor(cursor);
      }
      if (cursors.length > lost.length) entry.updatedAt = now;
      if (lost.length > 0) throw new LeaseLostError(name, lost);
      return lowest(entry);
    },
    noteInFlight(name, nodeId, notes) {
      const entry = existing(name, 'noteInFlight');
      checkInFlightNotes(notes);
      checkSlotRange(entry, 'noteInFlight', notes.map((note) => note.slot));
      const lost: number[] = [];
      for (const { slot, epoch, events, alone } of notes) {
        const state = entry.slots[slot] as SlotState;
        if (state.owner !== nodeId || state.epoch !== epoch) lost.push(slot);
        else Object.assign(state, { inflight: addToNote(state.inflight, events, state.cursor), inflightAlone: alone === true });
      }
      if (lost.length > 0) throw new LeaseLostError(name, lost);
    },
    clearInFlight(name, nodeId, slots) {
      const entry = existing(name, 'clearInFlight');
      checkSlotRange(entry, 'clearInFlight', slots.map((held) => held.slot));
      for (const { slot, epoch } of slots) {
        const state = entry.slots[slot] as SlotState;
        if (state.owner === nodeId && state.epoch === epoch) Object.assign(state, { inflight: [], inflightAlone: false });
      }
    },
  };
}

/**
 * Whether a saved cursor is at least the stored one (a higher position, or the same with every acknowledgement kept):
 * a save sent before another one committed arrives older, and is not written.
 */
function notBehind(saved: CursorState, stored: CursorState): boolean {
  if (saved.position !== stored.position) return saved.position > stored.position;
  const acked = new Set(saved.acked);
  return stored.acked.every((eventNumber) => acked.has(eventNumber));
}

function copyCursor(state: CursorState): CursorState {
  return freezeCursor({ position: state.position, acked: [...state.acked] });
}

function freezeCursor(cursor: CursorState): CursorState {
  Object.freeze(cursor.acked);
  return Object.freeze(cursor);
}

function toRecord(entry: Entry): HandlerRecord {
  return Object.freeze({
    name: entry.name,
    subscribeTo: entry.subscribeTo,
    consistency: entry.consistency,
    initialPosition: entry.initialPosition,
    cursor: freezeCursor(combineSlotCursors(entry.slots.map((slot) => slot.cursor))),
    slots: entry.slots.length,
    updatedAt: new Date(entry.updatedAt),
  });
}
