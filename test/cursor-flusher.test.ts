import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock } from '../src/clock.ts';
import { createCursorFlusher } from '../src/handler/cursor-flusher.ts';
import type { CursorState } from '../src/store/types.ts';

function setup(everyEvents: number, afterMs: number, save?: (state: CursorState) => Promise<void>) {
  const clock = manualClock();
  const saved: CursorState[] = [];
  const errors: unknown[] = [];
  let position = 0;
  let savedPosition = -1;
  const flusher = createCursorFlusher<CursorState>({
    clock,
    everyEvents,
    afterMs,
    snapshot: () => (position === savedPosition ? undefined : { position, acked: [] }),
    save: save ?? (async (state) => void saved.push(state)),
    saved: (state) => (savedPosition = state.position),
    onError: (error) => errors.push(error),
  });
  return { clock, saved, errors, flusher, advance: (to: number) => (position = to) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('cursor flusher', () => {
  it('saves once per batch of acknowledgements, not per event', async () => {
    const { saved, flusher, advance } = setup(100, 1000);
    for (let n = 1; n <= 250; n++) {
      advance(n);
      flusher.acknowledged();
    }
    await tick();
    // The second save was requested while the first ran, so it saved the latest state when it got its turn.
    assert.deepEqual(saved.map((s) => s.position), [100, 250]);
  });

  it('saves an idle cursor once the time threshold passes', async () => {
    const { clock, saved, flusher, advance } = setup(1000, 1000);
    advance(3);
    flusher.acknowledged();
    clock.advance(999);
    await tick();
    assert.equal(saved.length, 0);
    clock.advance(1);
    await tick();
    assert.deepEqual(saved, [{ position: 3, acked: [] }]);
  });

  it('coalesces saves requested while one is in flight into one more save', async () => {
    let release: () => void = () => {};
    const positions: number[] = [];
    const { flusher, advance } = setup(1, 0, (state) => {
      positions.push(state.position);
      return new Promise<void>((resolve) => (release = resolve));
    });
    for (let n = 1; n <= 50; n++) {
      advance(n);
      flusher.acknowledged();
    }
    release();
    await tick();
    await tick();
    release();
    await tick();
    assert.deepEqual(positions, [1, 50]);
  });

  it('flush saves the latest state and skips an unchanged one', async () => {
    const { saved, flusher, advance } = setup(1000, 1000);
    advance(7);
    await flusher.flush();
    await flusher.flush();
    assert.deepEqual(saved, [{ position: 7, acked: [] }]);
  });

  it('reports a failed background save and retries it on the timer', async () => {
    let fail = true;
    const saved: number[] = [];
    const { clock, errors, flusher, advance } = setup(1, 500, async (state) => {
      if (fail) throw new Error('db down');
      saved.push(state.position);
    });
    advance(4);
    flusher.acknowledged();
    await tick();
    assert.equal(errors.length, 1);
    fail = false;
    clock.advance(500);
    await tick();
    assert.deepEqual(saved, [4]);
  });

  it('stops saving in the background once closed, but flush still saves', async () => {
    const { clock, saved, flusher, advance } = setup(1000, 100);
    advance(1);
    flusher.acknowledged();
    flusher.close();
    clock.advance(1000);
    await tick();
    assert.equal(saved.length, 0);
    await flusher.flush();
    assert.equal(saved.length, 1);
  });
});
