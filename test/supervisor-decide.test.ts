import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideOnExit, type DecisionChild, type DecisionInput } from '../src/supervisor/decide.ts';
import type { ChildExit, RestartStrategy, RestartType } from '../src/supervisor/types.ts';

const crash: ChildExit = { kind: 'abnormal', reason: new Error('boom') };
const normal: ChildExit = { kind: 'normal' };

function child(name: string, restart: RestartType = 'permanent', running = true): DecisionChild {
  return { name, restart, running };
}

function input(overrides: Partial<DecisionInput>): DecisionInput {
  return {
    strategy: 'one_for_one',
    maxRestarts: 3,
    withinMs: 5000,
    children: [child('a', 'permanent', false)],
    exited: 'a',
    exit: crash,
    now: 10_000,
    history: { restarts: [] },
    ...overrides,
  };
}

describe('decideOnExit: restart types', () => {
  const cases: [RestartType, ChildExit, boolean][] = [
    ['permanent', crash, true],
    ['permanent', normal, true],
    ['transient', crash, true],
    ['transient', normal, false],
    ['temporary', crash, false],
    ['temporary', normal, false],
  ];
  for (const strategy of ['one_for_one', 'one_for_all', 'rest_for_one'] as RestartStrategy[]) {
    for (const [restart, exit, restarted] of cases) {
      it(`${strategy}: a ${restart} child exiting ${exit.kind === 'normal' ? 'normally' : 'abnormally'} is ${restarted ? 'restarted' : 'left stopped'}`, () => {
        const { decision, history } = decideOnExit(input({ strategy, children: [child('a', restart, false)], exit }));
        if (restarted) {
          assert.deepEqual(decision, { kind: 'restart', children: ['a'], discard: [] });
          assert.deepEqual(history.restarts, [10_000]);
        } else {
          assert.deepEqual(decision, { kind: 'ignore' });
          assert.deepEqual(history.restarts, []);
        }
      });
    }
  }
});

describe('decideOnExit: strategies', () => {
  const children = [child('a'), child('b', 'permanent', false), child('c'), child('d', 'transient')];

  it('one_for_one restarts only the exited child', () => {
    const { decision } = decideOnExit(input({ strategy: 'one_for_one', children, exited: 'b' }));
    assert.deepEqual(decision, { kind: 'restart', children: ['b'], discard: [] });
  });

  it('one_for_all restarts every child, in start order', () => {
    const { decision } = decideOnExit(input({ strategy: 'one_for_all', children, exited: 'b' }));
    assert.deepEqual(decision, { kind: 'restart', children: ['a', 'b', 'c', 'd'], discard: [] });
  });

  it('rest_for_one restarts the exited child and every child started after it', () => {
    const { decision } = decideOnExit(input({ strategy: 'rest_for_one', children, exited: 'b' }));
    assert.deepEqual(decision, { kind: 'restart', children: ['b', 'c', 'd'], discard: [] });
  });

  it('rest_for_one restarts only the last child when the last child exits', () => {
    const { decision } = decideOnExit(input({ strategy: 'rest_for_one', children: [child('a'), child('b', 'permanent', false)], exited: 'b' }));
    assert.deepEqual(decision, { kind: 'restart', children: ['b'], discard: [] });
  });

  it('one_for_all stops running temporary siblings without restarting them', () => {
    const mixed = [child('t1', 'temporary'), child('a', 'permanent', false), child('t2', 'temporary', false), child('b')];
    const { decision } = decideOnExit(input({ strategy: 'one_for_all', children: mixed, exited: 'a' }));
    assert.deepEqual(decision, { kind: 'restart', children: ['a', 'b'], discard: ['t1'] });
  });

  it('rest_for_one discards only the temporary siblings after the exited child', () => {
    const mixed = [child('t1', 'temporary'), child('a', 'permanent', false), child('t2', 'temporary'), child('b')];
    const { decision } = decideOnExit(input({ strategy: 'rest_for_one', children: mixed, exited: 'a' }));
    assert.deepEqual(decision, { kind: 'restart', children: ['a', 'b'], discard: ['t2'] });
  });

  it('one_for_all also restarts a transient sibling that had ended normally, as OTP does', () => {
    const mixed = [child('a', 'permanent', false), child('gone', 'transient', false)];
    const { decision } = decideOnExit(input({ strategy: 'one_for_all', children: mixed, exited: 'a' }));
    assert.deepEqual(decision, { kind: 'restart', children: ['a', 'gone'], discard: [] });
  });

  it('one_for_all leaves the other children alone when the exit is not restarted', () => {
    const { decision } = decideOnExit(input({ strategy: 'one_for_all', children: [child('a'), child('t', 'temporary', false)], exited: 't' }));
    assert.deepEqual(decision, { kind: 'ignore' });
  });

  it('rejects an exited name that is not a child', () => {
    assert.throws(() => decideOnExit(input({ exited: 'nobody' })), RangeError);
  });
});

describe('decideOnExit: restart intensity', () => {
  it('gives up when one more restart would exceed maxRestarts within the window', () => {
    const { decision, history } = decideOnExit(input({ maxRestarts: 3, now: 10_000, history: { restarts: [6_000, 7_000, 8_000] } }));
    assert.deepEqual(decision, { kind: 'give_up', reason: (crash as { reason: unknown }).reason });
    assert.deepEqual(history.restarts, [6_000, 7_000, 8_000, 10_000]);
  });

  it('restarts while the count stays at maxRestarts', () => {
    const { decision, history } = decideOnExit(input({ maxRestarts: 3, now: 10_000, history: { restarts: [7_000, 8_000] } }));
    assert.equal(decision.kind, 'restart');
    assert.deepEqual(history.restarts, [7_000, 8_000, 10_000]);
  });

  it('no longer counts a restart exactly withinMs ago', () => {
    const { decision, history } = decideOnExit(input({ maxRestarts: 3, now: 10_000, history: { restarts: [5_000, 7_000, 8_000] } }));
    assert.equal(decision.kind, 'restart');
    assert.deepEqual(history.restarts, [7_000, 8_000, 10_000]);
  });

  it('still counts a restart one millisecond inside the window', () => {
    const { decision } = decideOnExit(input({ maxRestarts: 3, now: 10_000, history: { restarts: [5_001, 7_000, 8_000] } }));
    assert.equal(decision.kind, 'give_up');
  });

  it('counts restarts made at the same instant', () => {
    const { decision } = decideOnExit(input({ maxRestarts: 2, now: 10_000, history: { restarts: [10_000, 10_000] } }));
    assert.equal(decision.kind, 'give_up');
  });

  it('prunes timestamps older than the window, even when the exit is ignored', () => {
    const { decision, history } = decideOnExit(
      input({ children: [child('t', 'temporary', false)], exited: 't', now: 20_000, history: { restarts: [1_000, 14_000, 16_000] } }),
    );
    assert.deepEqual(decision, { kind: 'ignore' });
    assert.deepEqual(history.restarts, [16_000]);
  });

  it('with maxRestarts 0 gives up on the first restart', () => {
    const { decision } = decideOnExit(input({ maxRestarts: 0 }));
    assert.equal(decision.kind, 'give_up');
  });

  it('with maxRestarts 0 still ignores an exit that needs no restart', () => {
    const { decision } = decideOnExit(input({ maxRestarts: 0, children: [child('a', 'transient', false)], exit: normal }));
    assert.deepEqual(decision, { kind: 'ignore' });
  });

  it("gives up with 'normal' as the reason when a permanent child keeps exiting normally", () => {
    const { decision } = decideOnExit(input({ maxRestarts: 0, exit: normal }));
    assert.deepEqual(decision, { kind: 'give_up', reason: 'normal' });
  });

  it('counts one restart per decision, however many children it restarts', () => {
    const { history } = decideOnExit(input({ strategy: 'one_for_all', children: [child('a', 'permanent', false), child('b'), child('c')] }));
    assert.deepEqual(history.restarts, [10_000]);
  });

  it('does not change the history it was given', () => {
    const restarts = [9_000];
    decideOnExit(input({ history: { restarts } }));
    assert.deepEqual(restarts, [9_000]);
  });
});
