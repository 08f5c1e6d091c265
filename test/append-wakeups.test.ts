/** The wake-up policy of PostgreSQL appends: local readers always, other processes at most one NOTIFY per window. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAppendWakeups } from '../src/store/postgres/append-wakeups.ts';
import type { WakeupClock } from '../src/store/postgres/append-wakeups.ts';

function fakeClock(): WakeupClock & { advance(ms: number): void; pending: number } {
  let time = 0;
  let timers: { at: number; callback: () => void }[] = [];
  return {
    now: () => time,
    setTimeout(callback, ms) {
      timers.push({ at: time + ms, callback });
      return undefined;
    },
    advance(ms) {
      time += ms;
      const due = timers.filter((t) => t.at <= time);
      timers = timers.filter((t) => t.at > time);
      for (const t of due) t.callback();
    },
    get pending() {
      return timers.length;
    },
  };
}

function setUp(): { clock: ReturnType<typeof fakeClock>; local: { n: number }; sent: { n: number }; wakeups: ReturnType<typeof createAppendWakeups> } {
  const clock = fakeClock();
  const local = { n: 0 };
  const sent = { n: 0 };
  const wakeups = createAppendWakeups({
    wakeLocal: () => void local.n++,
    notify: async () => void sent.n++,
    everyMs: 3,
    clock,
  });
  return { clock, local, sent, wakeups };
}

describe('append wake-ups', () => {
  it('notifies in the commit of the first append after a quiet spell, and not again within the window', () => {
    const { clock, local, sent, wakeups } = setUp();
    assert.equal(wakeups.notifyNow(), true);
    wakeups.settled(true);
    assert.equal(wakeups.notifyNow(), false);
    assert.deepEqual([local.n, sent.n, clock.pending], [1, 0, 0]);
    clock.advance(3);
    assert.equal(wakeups.notifyNow(), true);
  });

  it('sends one trailing NOTIFY after the silent appends settled, once the window passed', () => {
    const { clock, local, sent, wakeups } = setUp();
    wakeups.settled(wakeups.notifyNow());
    const a = wakeups.notifyNow();
    const b = wakeups.notifyNow();
    wakeups.settled(a);
    wakeups.settled(b);
    assert.deepEqual([a, b, local.n, sent.n, clock.pending], [false, false, 3, 0, 1]);
    clock.advance(2);
    assert.equal(sent.n, 0);
    clock.advance(1);
    assert.deepEqual([sent.n, clock.pending], [1, 0]);
    // The trailing NOTIFY opened a new window: an append right after it stays silent and is owed again.
    const c = wakeups.notifyNow();
    wakeups.settled(c);
    assert.deepEqual([c, clock.pending], [false, 1]);
    clock.advance(3);
    assert.equal(sent.n, 2);
  });

  it('owes a NOTIFY for a silent append that failed (it may have committed) and swallows a failing NOTIFY', async () => {
    const clock = fakeClock();
    let attempts = 0;
    const wakeups = createAppendWakeups({ wakeLocal: () => {}, notify: async () => {
        attempts++;
        throw new Error('down');
      }, everyMs: 3, clock });
    wakeups.settled(wakeups.notifyNow());
    wakeups.settled(wakeups.notifyNow());
    clock.advance(3);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(attempts, 1);
  });
});
