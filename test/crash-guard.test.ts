import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock } from '../src/clock.ts';
import { LeaseLostError } from '../src/errors.ts';
import type { RecordedEvent } from '../src/events/types.ts';
import { createCrashGuard, type CrashGuardDeps } from '../src/handler/crash-guard.ts';
import type { Route } from '../src/handler/router.ts';
import type { EventStore, InFlightNote, SlotClaim, Suspect } from '../src/store/types.ts';

/** A route of event `n` to `slot` (worker = slot). */
function route(n: number, slot = 0): Route {
  const event: RecordedEvent = { eventId: `e${n}`, eventNumber: n, streamId: 's', streamVersion: n, type: 'T', data: {}, metadata: {}, createdAt: new Date(0) };
  return { worker: slot, slot, delivery: { event, partition: undefined } };
}

function claim(slot: number, suspects: Suspect[] = []): SlotClaim {
  return { slot, epoch: 7, cursor: { position: 0, acked: [] }, takenFrom: undefined, suspects };
}

/** A guard over a store that records notes (or fails them), with a log of what happened in which order. */
function harness(options: { crashLimit?: number; claims?: SlotClaim[]; failNote?: unknown; pending?: number } = {}) {
  const log: string[] = [];
  const signals: string[] = [];
  let active = true;
  const store = {
    async noteInFlight(_name: string, _node: string, notes: readonly InFlightNote[]) {
      if (options.failNote !== undefined) throw options.failNote;
      log.push(`note ${notes.map((note) => `${note.slot}:[${note.events.join(',')}]${note.alone === true ? ' alone' : ''}`).join(' ')}`);
    },
    async clearInFlight(_name: string, _node: string, slots: readonly { slot: number }[]) {
      log.push(`clear ${slots.map((held) => held.slot).join(',')}`);
    },
  } as unknown as EventStore;
  const deps: CrashGuardDeps = {
    handlerName: 'H',
    crashLimit: options.crashLimit ?? 3,
    store,
    clock: manualClock(),
    nodeId: 'node',
    claims: options.claims ?? [claim(0)],
    flush: async () => void log.push('flush'),
    active: () => active,
    pending: () => options.pending ?? 2,
    signals: {
      storeTrouble: (error) => signals.push(`trouble ${String(error)}`),
      leaseLost: (error) => signals.push(`lost ${error.slots.join(',')}`),
      failed: (error) => signals.push(`failed ${String(error)}`),
    },
  };
  const guard = createCrashGuard(deps);
  const to = {
    push: (r: Route, poison: Suspect | undefined) => log.push(`push ${r.delivery.event.eventNumber}${poison === undefined ? '' : ` poison(${poison.crashes})`}`),
    idle: async (r: Route) => void log.push(`idle ${r.delivery.event.eventNumber}`),
  };
  return { guard, to, log, signals, stop: () => (active = false) };
}

describe('the crash guard', () => {
  it('notes a page once, per slot, before handing it over', async () => {
    const { guard, to, log } = harness({ claims: [claim(0), claim(1)] });
    guard.handOver([route(1, 0), route(2, 1), route(3, 0)], to);
    await guard.settled();
    assert.deepEqual(log, ['note 0:[1,3] 1:[2]', 'push 1', 'push 2', 'push 3']);
  });

  it('marks the note alone when the page is one event and nothing else is pending', async () => {
    const { guard, to, log } = harness({ pending: 1 });
    guard.handOver([route(4)], to);
    await guard.settled();
    assert.deepEqual(log, ['note 0:[4] alone', 'push 4']);
  });

  it('writes nothing with crashLimit 0, and hands everything over at once', async () => {
    const { guard, to, log } = harness({ crashLimit: 0, claims: [claim(0, [{ eventNumber: 2, crashes: 9, alone: true }])] });
    guard.handOver([route(1), route(2), route(3)], to);
    await guard.settled();
    await guard.clear();
    assert.deepEqual(log, ['push 1', 'push 2', 'push 3']);
  });

  it('after a crash, hands every event up to the highest suspect over alone: saved, noted, handed over, waited for', async () => {
    const suspects = [{ eventNumber: 2, crashes: 1, alone: false }, { eventNumber: 3, crashes: 1, alone: false }];
    const { guard, to, log } = harness({ claims: [claim(0, suspects)] });
    guard.handOver([route(1), route(2), route(3), route(4), route(5)], to);
    await guard.settled();
    assert.deepEqual(log, [
      'flush', 'note 0:[1] alone', 'push 1', 'idle 1',
      'flush', 'note 0:[2] alone', 'push 2', 'idle 2',
      'flush', 'note 0:[3] alone', 'push 3', 'idle 3',
      'note 0:[4,5]', 'push 4', 'push 5',
    ]);
  });

  it('parks a suspect at crashLimit whose last crash was its own, and hands one whose last crash was shared over alone once more', async () => {
    const suspects = [{ eventNumber: 1, crashes: 3, alone: true }, { eventNumber: 2, crashes: 3, alone: false }];
    const { guard, to, log } = harness({ claims: [claim(0, suspects)] });
    guard.handOver([route(1), route(2)], to);
    await guard.settled();
    assert.deepEqual(log, ['push 1 poison(3)', 'idle 1', 'flush', 'note 0:[2] alone', 'push 2', 'idle 2']);
  });

  it('hands pages over in order, each once its note is written', async () => {
    const { guard, to, log } = harness();
    guard.handOver([route(1), route(2)], to);
    guard.handOver([route(3)], to);
    assert.deepEqual(log, [], 'nothing is handed over before its note');
    await guard.settled();
    assert.deepEqual(log, ['note 0:[1,2]', 'push 1', 'push 2', 'note 0:[3]', 'push 3']);
  });

  it('reports an unexpected failure while handing over, so the run stops', async () => {
    const { guard, log, signals } = harness();
    guard.handOver([route(1)], { push: () => { throw new Error('bug'); }, idle: async () => {} });
    await guard.settled();
    assert.deepEqual([log, signals], [['note 0:[1]'], ['failed Error: bug']]);
  });

  it('hands nothing more over once the pump stops', async () => {
    const { guard, to, log, stop } = harness({ claims: [claim(0, [{ eventNumber: 3, crashes: 1, alone: false }])] });
    const stopping = { ...to, idle: async (r: Route) => { log.push(`idle ${r.delivery.event.eventNumber}`); stop(); } };
    guard.handOver([route(1), route(2), route(3)], stopping);
    await guard.settled();
    assert.deepEqual(log, ['flush', 'note 0:[1] alone', 'push 1', 'idle 1']);
  });

  it('hands nothing over when a note finds a slot lost, and nothing after', async () => {
    const { guard, to, log, signals } = harness({ failNote: new LeaseLostError('H', [0]) });
    guard.handOver([route(1)], to);
    await guard.settled();
    guard.handOver([route(2)], to);
    await guard.settled();
    assert.deepEqual([log, signals], [[], ['lost 0']]);
  });

  it('keeps the suspects the cursor has not passed for the next pump, and clears the notes of its slots at a stop', async () => {
    const suspects = [{ eventNumber: 2, crashes: 1, alone: false }, { eventNumber: 5, crashes: 2, alone: true }];
    const { guard, log } = harness({ claims: [claim(0, suspects), claim(3)] });
    assert.deepEqual(guard.suspectsOf(0, { position: 2, acked: [] }), [suspects[1]]);
    assert.deepEqual(guard.suspectsOf(0, { position: 1, acked: [5] }), [suspects[0]]);
    assert.deepEqual(guard.suspectsOf(3, { position: 0, acked: [] }), []);
    await guard.clear();
    assert.deepEqual(log, ['clear 0,3']);
  });
});
