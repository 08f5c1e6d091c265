import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock } from '../src/clock.ts';
import { takeLabel } from '../src/cluster/label.ts';
import { HandlerConfigError } from '../src/errors.ts';
import { inMemoryStore } from '../src/store/memory.ts';
import type { EventStore, LabelHolder } from '../src/store/types.ts';
import { flushAsync } from './support/wait.ts';

const node = { id: '01NEW', label: 'pod-0' };
const lease = { leaseMs: 4000, heartbeatMs: 1000 };
const holder = (state: LabelHolder['state'], expiresAt = 10_000): LabelHolder => ({ nodeId: '01OLD', handlerName: 'P', expiresAt, state });

/** A store whose label checks answer in turn from `answers` (the last one repeats). */
function scripted(answers: LabelHolder[][]): { store: EventStore; calls: () => number } {
  let calls = 0;
  const store = { ...inMemoryStore(), claimLabel: async () => answers[Math.min(calls++, answers.length - 1)] ?? [] } as EventStore;
  return { store, calls: () => calls };
}

/** Runs takeLabel on a manual clock, advancing it until it settles. */
async function settle(store: EventStore): Promise<unknown> {
  const clock = manualClock();
  let outcome: unknown = 'pending';
  const done = takeLabel({ store, clock, node, lease, handlerNames: ['P'] }).then(() => 'taken', (error: unknown) => error);
  void done.then((value) => (outcome = value));
  for (let step = 0; step < 100 && outcome === 'pending'; step++) {
    await flushAsync();
    clock.advance(250);
  }
  return done;
}

describe('taking up a stable node label', () => {
  it('goes on when nobody else has the label, or every holder is dead (the store freed its slots)', async () => {
    assert.equal(await settle(scripted([[]]).store), 'taken');
    assert.equal(await settle(scripted([[holder('dead')]]).store), 'taken');
  });

  it('refuses with HandlerConfigError naming node.label when the holder\'s session stays open', async () => {
    const { store, calls } = scripted([[holder('alive')]]);
    const error = await settle(store);
    assert.ok(error instanceof HandlerConfigError);
    assert.equal(error.field, 'node.label');
    assert.match(error.message, /node\.label "pod-0" is already used by a live process \(node 01OLD, running handler "P"; its session is open\)/);
    assert.ok(calls() > 1, 'checked again before refusing');
  });

  it('goes on when a session seen open a moment after a kill is gone at the next check', async () => {
    assert.equal(await settle(scripted([[holder('alive')], [holder('dead')]]).store), 'taken');
  });

  it('watches a holder without a session: goes on once it expired, refuses when it renews', async () => {
    assert.equal(await settle(scripted([[holder('unknown')], [holder('unknown')], []]).store), 'taken');
    const renewed = await settle(scripted([[holder('unknown', 10_000)], [holder('unknown', 11_000)]]).store);
    assert.ok(renewed instanceof HandlerConfigError && /renewed its membership/.test(renewed.message));
  });

  it('does nothing on a store without labels (in memory) or without handlers', async () => {
    assert.equal(await settle(inMemoryStore()), 'taken');
    const { store, calls } = scripted([[holder('alive')]]);
    await takeLabel({ store, clock: manualClock(), node, lease, handlerNames: [] });
    assert.equal(calls(), 0);
  });
});
