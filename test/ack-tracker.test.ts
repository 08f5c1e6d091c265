import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAckTracker } from '../src/handler/ack-tracker.ts';

describe('ack tracker', () => {
  it('advances the mark only when every earlier delivered event is acknowledged', () => {
    const tracker = createAckTracker(0);
    for (const n of [1, 2, 3, 4]) tracker.track(n);
    assert.equal(tracker.ack(3), false);
    assert.equal(tracker.ack(2), false);
    assert.equal(tracker.position, 0);
    assert.equal(tracker.ack(1), true);
    assert.equal(tracker.position, 3);
    assert.equal(tracker.pending, 1);
    tracker.ack(4);
    assert.equal(tracker.position, 4);
  });

  it('snapshots the events acknowledged above the mark', () => {
    const tracker = createAckTracker(10);
    for (const n of [11, 12, 13, 15]) tracker.track(n);
    tracker.ack(12);
    tracker.ack(15);
    assert.deepEqual(tracker.snapshot(), { position: 10, acked: [12, 15] });
  });

  it('moves the mark to the gap before the first unacknowledged event of a sparse subscription', () => {
    const tracker = createAckTracker(0);
    tracker.track(5);
    tracker.track(9);
    tracker.ack(5);
    assert.equal(tracker.position, 8);
  });

  it('moves past events the handler never sees when everything delivered is acknowledged', () => {
    const tracker = createAckTracker(0);
    tracker.track(2);
    tracker.ack(2);
    assert.equal(tracker.readThrough(50), true);
    assert.equal(tracker.position, 50);
  });

  it('does not move past read-through while an event is still pending', () => {
    const tracker = createAckTracker(0);
    tracker.track(3);
    tracker.readThrough(100);
    assert.equal(tracker.position, 2);
    tracker.ack(3);
    assert.equal(tracker.position, 100);
  });

  it('ignores acknowledgements of unknown or already acknowledged events', () => {
    const tracker = createAckTracker(0);
    tracker.track(1);
    assert.equal(tracker.ack(7), false);
    assert.equal(tracker.ack(1), true);
    assert.equal(tracker.ack(1), false);
    assert.equal(tracker.pending, 0);
  });

  it('keeps working across compaction of a long run', () => {
    const tracker = createAckTracker(0);
    for (let n = 1; n <= 10_000; n++) {
      tracker.track(n);
      if (n % 2 === 0) tracker.ack(n);
    }
    for (let n = 1; n <= 9_999; n += 2) tracker.ack(n);
    assert.equal(tracker.position, 10_000);
    assert.equal(tracker.pending, 0);
  });
});
