import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rebalance, targetSlotCount } from '../src/cluster/assignment.ts';
import { slotForKey, workerForKey } from '../src/handler/partition.ts';
import { createSlotTracks } from '../src/handler/slot-tracks.ts';
import type { SlotClaim } from '../src/store/types.ts';

const claim = (slot: number, position: number, acked: number[] = [], epoch = 1): SlotClaim => ({
  slot, epoch, cursor: { position, acked }, takenFrom: undefined,
});

describe('slot assignment', () => {
  const plan = (current: number[], owners: (string | undefined)[], memberIds = ['a', 'b', 'c'], nodeId = 'b') =>
    rebalance({ slotCount: owners.length, memberIds, nodeId, current, owners });

  it('gives every member a target within one of the others, earlier members taking the extra slots', () => {
    assert.deepEqual(['c', 'a', 'b'].map((id) => targetSlotCount(64, ['c', 'a', 'b'], id)), [21, 22, 21]);
    assert.deepEqual(['a', 'b', 'c', 'd'].map((id) => targetSlotCount(2, ['a', 'b', 'c', 'd'], id)), [1, 1, 0, 0]);
    assert.equal(targetSlotCount(8, ['a'], 'stranger'), 0);
  });

  it('gives a single slot nobody holds to the oldest member (lowest id)', () => {
    assert.equal(targetSlotCount(1, ['01B', '01A', '01C'], '01A'), 1);
    assert.equal(targetSlotCount(1, ['01B', '01A', '01C'], '01C'), 0);
    assert.equal(targetSlotCount(1, ['01B', '01A', '01C'], '01C', [undefined]), 0);
  });

  it('leaves a single slot with its holder when older members join, until the holder leaves', () => {
    assert.equal(targetSlotCount(1, ['01B', '01A', '01C'], '01C', ['01C']), 1, 'the holder keeps it');
    assert.equal(targetSlotCount(1, ['01B', '01A', '01C'], '01A', ['01C']), 0, 'the oldest does not take it');
    assert.deepEqual(
      rebalance({ slotCount: 1, memberIds: ['01A', '01C'], nodeId: '01A', current: [], owners: ['01C'] }),
      { release: [], claim: [] },
    );
    assert.deepEqual(rebalance({ slotCount: 1, memberIds: ['01A', '01C'], nodeId: '01C', current: [0], owners: ['01C'] }), { release: [], claim: [] });
    assert.deepEqual(rebalance({ slotCount: 1, memberIds: ['01A'], nodeId: '01A', current: [], owners: [undefined] }), { release: [], claim: [0] }, 'the holder left');
  });

  it('gives the extra slots of an uneven split to the members holding more than the even share', () => {
    // 4 slots, all on c; a and b (older) join: c keeps two (within one of balanced), a and b get one each.
    const allOnC = ['c', 'c', 'c', 'c'];
    assert.deepEqual(['a', 'b', 'c'].map((id) => targetSlotCount(4, ['a', 'b', 'c'], id, allOnC)), [1, 1, 2]);
    // 2 slots held by b and c; a (older) joins: nothing moves.
    assert.deepEqual(['a', 'b', 'c'].map((id) => targetSlotCount(2, ['a', 'b', 'c'], id, ['c', 'b'])), [0, 1, 1]);
    // Two holders above the even share compete for one extra slot: the one holding most, then the lower id.
    assert.deepEqual(['a', 'b', 'c'].map((id) => targetSlotCount(4, ['a', 'b', 'c'], id, ['a', 'c', 'c', 'c'])), [1, 1, 2]);
    assert.deepEqual(['a', 'b', 'c'].map((id) => targetSlotCount(4, ['a', 'b', 'c'], id, ['a', 'a', 'c', 'c'])), [2, 1, 1]);
  });

  it('keeps every target within one of the others and the sum equal to the slot count, whoever holds what', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    for (let seed = 1; seed <= 200; seed++) {
      const slotCount = 1 + (seed % 13);
      const members = ids.slice(0, 1 + (seed % ids.length));
      const owners = Array.from({ length: slotCount }, (_, slot) => (((seed * 7 + slot * 3) % 4) === 0 ? undefined : ids[(seed + slot * slot) % ids.length]));
      const targets = [...members].map((id) => targetSlotCount(slotCount, members, id, owners));
      assert.equal(targets.reduce((sum, n) => sum + n, 0), slotCount, `seed ${seed}`);
      assert.ok(Math.max(...targets) - Math.min(...targets) <= 1, `seed ${seed}: ${targets.join(',')}`);
      for (const [i, id] of members.entries()) {
        const held = owners.filter((owner) => owner === id).length;
        assert.ok((targets[i] ?? 0) >= Math.min(held, Math.floor(slotCount / members.length)), `seed ${seed}: ${id} keeps its even share`);
      }
    }
  });

  it('keeps the slots a node has up to its target and releases its highest ones above it', () => {
    const owners = Array.from({ length: 6 }, () => 'b');
    assert.deepEqual(plan([0, 1, 2, 3, 4, 5], owners), { release: [2, 3, 4, 5], claim: [] });
    assert.deepEqual(plan([0, 1, 2, 3, 4, 5], owners, ['b']), { release: [], claim: [] });
  });

  it('claims free slots up to its target, starting at its share of the range, never slots others hold', () => {
    const owners = ['a', 'a', undefined, undefined, 'c', undefined];
    assert.deepEqual(plan([], owners), { release: [], claim: [2, 3] });
    assert.deepEqual(plan([], owners, ['a', 'b', 'c'], 'c'), { release: [], claim: [4, 5] }, 'slot 4 is still leased to c');
  });

  it('claims back the slots still leased to it that its pump does not handle, or releases them without room', () => {
    assert.deepEqual(plan([], ['b', undefined, 'a', 'a', 'c', 'c']), { release: [], claim: [0, 1] });
    assert.deepEqual(plan([1, 2], ['b', 'b', 'b', 'a', 'c', 'c']), { release: [0], claim: [] });
  });
});

describe('slot of a key', () => {
  it('is stable, in range, and spreads similar keys over the slots', () => {
    assert.equal(slotForKey('order-1', 64), slotForKey('order-1', 64));
    assert.notEqual(slotForKey(1, 1024), slotForKey('1', 1024));
    const slots = new Set(Array.from({ length: 100 }, (_, k) => slotForKey(`k${k}`, 16)));
    assert.ok(slots.size >= 14, `100 keys reach ${slots.size} of 16 slots`);
    for (let k = 0; k < 100; k++) assert.ok(slotForKey(k, 7) >= 0 && slotForKey(k, 7) < 7);
  });

  it('spreads the keys of a range of slots over every worker', () => {
    const workers = new Set<number>();
    for (let k = 0; k < 1000; k++) if (slotForKey(`key-${k}`, 64) < 21) workers.add(workerForKey(`key-${k}`, 8));
    assert.equal(workers.size, 8);
  });
});

describe('slot tracks', () => {
  it('keeps a low-water mark per slot and reports the lowest', () => {
    const tracks = createSlotTracks([claim(0, 10), claim(3, 4)], 0);
    assert.deepEqual(tracks.owned, [0, 3]);
    assert.equal(tracks.readFrom, 4);
    assert.equal(tracks.admit(3, 5), true);
    assert.equal(tracks.admit(0, 5), false, 'slot 0 acknowledged up to 10 already');
    assert.equal(tracks.admit(0, 11), true);
    assert.equal(tracks.admit(1, 12), false, 'a slot this run does not own');
    assert.equal(tracks.pending, 2);
    tracks.readThrough(12);
    assert.equal(tracks.position, 4);
    assert.equal(tracks.ack(5), true);
    assert.equal(tracks.position, 10);
    assert.equal(tracks.ack(11), true);
    assert.equal(tracks.position, 12);
    assert.equal(tracks.pending, 0);
  });

  it('skips the events a slot acknowledged above its position before, and keeps those not reached yet', () => {
    const tracks = createSlotTracks([claim(2, 5, [7, 9])], 0);
    assert.equal(tracks.admit(2, 6), true);
    assert.equal(tracks.admit(2, 7), false);
    assert.deepEqual(tracks.current()[0]?.cursor, { position: 5, acked: [7, 9] });
    tracks.ack(6);
    assert.deepEqual(tracks.current()[0]?.cursor, { position: 7, acked: [9] });
    assert.deepEqual(tracks.unsaved()[0]?.cursor, { position: 7, acked: [9] });
  });

  it('reports only the slots changed since their last save, with their epochs', () => {
    const tracks = createSlotTracks([claim(0, 0, [], 3), claim(1, 0, [], 4)], 0);
    assert.deepEqual(tracks.unsaved(), []);
    tracks.admit(1, 1);
    tracks.ack(1);
    const first = tracks.unsaved();
    assert.deepEqual(first.map(({ slot, epoch, cursor }) => ({ slot, epoch, cursor })), [{ slot: 1, epoch: 4, cursor: { position: 1, acked: [] } }]);
    tracks.saved(first);
    assert.deepEqual(tracks.unsaved(), []);
    tracks.readThrough(5);
    assert.deepEqual(tracks.unsaved().map((entry) => [entry.slot, entry.cursor.position]), [[0, 5], [1, 5]]);
  });

  it('reports the fallback position and reads nothing when it owns no slot', () => {
    const tracks = createSlotTracks([], 42);
    assert.deepEqual(tracks.owned, []);
    assert.equal(tracks.position, 42);
    assert.equal(tracks.admit(0, 43), false);
    assert.equal(tracks.readThrough(50), false);
  });
});
