import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignSlots } from '../src/cluster/assignment.ts';
import { slotForKey, workerForKey } from '../src/handler/partition.ts';
import { createSlotTracks } from '../src/handler/slot-tracks.ts';
import type { SlotClaim } from '../src/store/types.ts';

const claim = (slot: number, position: number, acked: number[] = [], epoch = 1): SlotClaim => ({
  slot, epoch, cursor: { position, acked }, takenFrom: undefined,
});

describe('slot assignment', () => {
  it('splits slots into contiguous ranges within one of each other, covering every slot once', () => {
    const members = ['c', 'a', 'b'];
    const ranges = members.map((id) => assignSlots(64, members, id));
    assert.deepEqual(ranges.map((range) => range.length), [21, 22, 21]);
    assert.deepEqual(ranges.flat().sort((x, y) => x - y), Array.from({ length: 64 }, (_, i) => i));
    assert.deepEqual(assignSlots(64, members, 'a').slice(0, 2), [0, 1]);
  });

  it('gives a single slot to the oldest member (lowest id) and nothing to a node that is not a member', () => {
    assert.deepEqual(assignSlots(1, ['01B', '01A', '01C'], '01A'), [0]);
    assert.deepEqual(assignSlots(1, ['01B', '01A', '01C'], '01C'), []);
    assert.deepEqual(assignSlots(8, ['01A'], 'stranger'), []);
  });

  it('gives some members nothing when there are more members than slots', () => {
    const members = ['a', 'b', 'c', 'd'];
    assert.deepEqual(members.map((id) => assignSlots(2, members, id)), [[0], [], [1], []]);
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
