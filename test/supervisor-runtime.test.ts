import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { manualClock, type ManualClock } from '../src/clock.ts';
import { HandlerConfigError, SupervisorError } from '../src/errors.ts';
import { createTelemetry, type Telemetry } from '../src/telemetry/emitter.ts';
import type { SupervisorGiveUpPayload, SupervisorRestartPayload, SupervisorStopErrorPayload } from '../src/telemetry/types.ts';
import { startRootSupervisor, supervisorFactory, type SupervisorDeps } from '../src/supervisor/runtime.ts';
import type { ResolvedSupervisorOptions } from '../src/supervisor/spec.ts';
import type { ChildExit, ChildFactory, RestartType } from '../src/supervisor/types.ts';

/** Lets every queued promise callback run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve: () => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface FakeInstance {
  readonly id: string;
  exit(exit: ChildExit): void;
  crash(reason?: unknown): void;
}

interface FakeOptions {
  restart?: RestartType;
  /** Returns what `start()` of the n-th instance (1-based) does: resolve, reject with a reason, or wait. */
  start?: (n: number) => Promise<void> | undefined;
  stopError?: unknown;
}

interface World {
  readonly log: string[];
  readonly clock: ManualClock;
  readonly telemetry: Telemetry;
  readonly deps: SupervisorDeps;
  readonly restarts: SupervisorRestartPayload[];
  readonly giveUps: SupervisorGiveUpPayload[];
  readonly stopErrors: SupervisorStopErrorPayload[];
  child(name: string, options?: FakeOptions): ChildFactory & { readonly instances: FakeInstance[]; last(): FakeInstance };
}

function world(): World {
  const log: string[] = [];
  const clock = manualClock(1_000);
  const telemetry = createTelemetry();
  const restarts: SupervisorRestartPayload[] = [];
  const giveUps: SupervisorGiveUpPayload[] = [];
  const stopErrors: SupervisorStopErrorPayload[] = [];
  telemetry.on('supervisor:restart', (p) => restarts.push(p));
  telemetry.on('supervisor:giveup', (p) => giveUps.push(p));
  telemetry.on('supervisor:stop_error', (p) => stopErrors.push(p));
  return {
    log, clock, telemetry, restarts, giveUps, stopErrors,
    deps: { clock, telemetry, app: 'shop' },
    child(name, options = {}) {
      const instances: FakeInstance[] = [];
      return {
        name,
        restart: options.restart ?? 'permanent',
        instances,
        last() {
          const instance = instances.at(-1);
          assert.ok(instance, `${name} was never created`);
          return instance;
        },
        create(onExit) {
          const id = `${name}#${instances.length + 1}`;
          const n = instances.length + 1;
          instances.push({ id, exit: onExit, crash: (reason = new Error(`${id} crashed`)) => onExit({ kind: 'abnormal', reason }) });
          return {
            async start() {
              log.push(`start ${id}`);
              await options.start?.(n);
            },
            async stop() {
              log.push(`stop ${id}`);
              if (options.stopError !== undefined) throw options.stopError;
            },
          };
        },
      };
    },
  };
}

function spec(overrides: Partial<ResolvedSupervisorOptions> = {}): ResolvedSupervisorOptions {
  return { name: 'sup', strategy: 'one_for_one', maxRestarts: 3, withinMs: 5000, restart: 'permanent', ...overrides };
}

function run(w: World, options: Partial<ResolvedSupervisorOptions>, children: ChildFactory[]) {
  const exits: ChildExit[] = [];
  const process = supervisorFactory(spec(options), children, w.deps).create((exit) => exits.push(exit));
  return { process, exits };
}

describe('supervisor runtime: start and stop', () => {
  it('starts children in order, each after the previous one has started', async () => {
    const w = world();
    const gate = deferred();
    const a = w.child('a', { start: () => gate.promise });
    const { process } = run(w, {}, [a, w.child('b')]);
    const started = process.start();
    await flush();
    assert.deepEqual(w.log, ['start a#1']);
    gate.resolve();
    await started;
    assert.deepEqual(w.log, ['start a#1', 'start b#1']);
  });

  it('stops running children in reverse order, once, without reporting an exit', async () => {
    const w = world();
    const { process, exits } = run(w, {}, [w.child('a'), w.child('b'), w.child('c')]);
    await process.start();
    w.log.length = 0;
    const first = process.stop();
    const second = process.stop();
    assert.equal(first, second);
    await first;
    await process.stop();
    assert.deepEqual(w.log, ['stop c#1', 'stop b#1', 'stop a#1']);
    assert.deepEqual(exits, []);
  });

  it('swallows an error thrown by a child stop and reports it through telemetry', async () => {
    const w = world();
    const failure = new Error('stop failed');
    const { process } = run(w, { name: 'projections' }, [w.child('a'), w.child('b', { stopError: failure })]);
    await process.start();
    await process.stop();
    assert.deepEqual(w.log.slice(2), ['stop b#1', 'stop a#1']);
    assert.deepEqual(w.stopErrors, [{ app: 'shop', supervisor: 'projections', child: 'b', error: failure }]);
  });

  it('stopped before it started, it never starts its children', async () => {
    const w = world();
    const { process } = run(w, {}, [w.child('a')]);
    await process.stop();
    await process.start();
    assert.deepEqual(w.log, []);
  });

  it('stopped while starting, it starts no further child and stops the started ones', async () => {
    const w = world();
    const gate = deferred();
    const { process } = run(w, {}, [w.child('a'), w.child('b', { start: () => gate.promise }), w.child('c')]);
    const started = process.start();
    await flush();
    const stopped = process.stop();
    gate.resolve();
    await started;
    await stopped;
    assert.deepEqual(w.log, ['start a#1', 'start b#1', 'stop b#1', 'stop a#1']);
  });

  it('rejects two children with the same name', () => {
    const w = world();
    assert.throws(() => supervisorFactory(spec(), [w.child('a'), w.child('a')], w.deps), HandlerConfigError);
  });

  it('exposes its name and restart type as a child factory', () => {
    const w = world();
    const factory = supervisorFactory(spec({ name: 'inner', restart: 'transient' }), [], w.deps);
    assert.equal(factory.name, 'inner');
    assert.equal(factory.restart, 'transient');
  });
});

describe('supervisor runtime: strategies', () => {
  it('one_for_one restarts only the crashed child and reports the restart', async () => {
    const w = world();
    const b = w.child('b');
    const { process } = run(w, { name: 'projections' }, [w.child('a'), b, w.child('c')]);
    await process.start();
    w.log.length = 0;
    const reason = new Error('poison');
    b.last().crash(reason);
    await flush();
    assert.deepEqual(w.log, ['start b#2']);
    assert.deepEqual(w.restarts, [{ app: 'shop', supervisor: 'projections', child: 'b', reason, restarts: 1 }]);
    b.last().crash(reason);
    await flush();
    assert.equal(w.restarts.at(-1)?.restarts, 2);
  });

  it('one_for_all stops the other children in reverse order, then restarts all in order', async () => {
    const w = world();
    const b = w.child('b');
    const { process } = run(w, { strategy: 'one_for_all' }, [w.child('a'), b, w.child('c')]);
    await process.start();
    w.log.length = 0;
    b.last().crash('boom');
    await flush();
    assert.deepEqual(w.log, ['stop c#1', 'stop a#1', 'start a#2', 'start b#2', 'start c#2']);
    assert.deepEqual(w.restarts.map((r) => [r.child, r.reason, r.restarts]), [['a', 'boom', 1], ['b', 'boom', 1], ['c', 'boom', 1]]);
  });

  it('one_for_all stops a running temporary sibling and does not restart it', async () => {
    const w = world();
    const a = w.child('a');
    const { process } = run(w, { strategy: 'one_for_all' }, [a, w.child('t', { restart: 'temporary' }), w.child('c')]);
    await process.start();
    w.log.length = 0;
    a.last().crash('boom');
    await flush();
    assert.deepEqual(w.log, ['stop c#1', 'stop t#1', 'start a#2', 'start c#2']);
    w.log.length = 0;
    a.last().crash('again');
    await flush();
    assert.deepEqual(w.log, ['stop c#2', 'start a#3', 'start c#3']);
  });

  it('rest_for_one restarts the crashed child and the children started after it', async () => {
    const w = world();
    const b = w.child('b');
    const { process } = run(w, { strategy: 'rest_for_one' }, [w.child('a'), b, w.child('c'), w.child('d')]);
    await process.start();
    w.log.length = 0;
    b.last().crash('boom');
    await flush();
    assert.deepEqual(w.log, ['stop d#1', 'stop c#1', 'start b#2', 'start c#2', 'start d#2']);
  });

  it('leaves a transient child that ended normally stopped, and a crashed temporary child too', async () => {
    const w = world();
    const tr = w.child('tr', { restart: 'transient' });
    const te = w.child('te', { restart: 'temporary' });
    const { process, exits } = run(w, {}, [tr, te]);
    await process.start();
    w.log.length = 0;
    tr.last().exit({ kind: 'normal' });
    te.last().crash('boom');
    await flush();
    assert.deepEqual(w.log, []);
    assert.deepEqual(w.restarts, []);
    assert.deepEqual(exits, [], 'with every child gone the supervisor stays up');
    await process.stop();
    assert.deepEqual(w.log, []);
  });

  it('restarts a transient child that crashed', async () => {
    const w = world();
    const tr = w.child('tr', { restart: 'transient' });
    const { process } = run(w, {}, [tr]);
    await process.start();
    tr.last().crash('boom');
    await flush();
    assert.deepEqual(w.log, ['start tr#1', 'start tr#2']);
  });

  it('one_for_all revives a transient sibling that had ended normally, as OTP does', async () => {
    const w = world();
    const a = w.child('a');
    const tr = w.child('tr', { restart: 'transient' });
    const { process } = run(w, { strategy: 'one_for_all' }, [a, tr]);
    await process.start();
    tr.last().exit({ kind: 'normal' });
    await flush();
    w.log.length = 0;
    a.last().crash('boom');
    await flush();
    assert.deepEqual(w.log, ['start a#2', 'start tr#2']);
  });
});

describe('supervisor runtime: restart intensity', () => {
  it('gives up after more than maxRestarts restarts within withinMs: stops all, reports, exits abnormally', async () => {
    const w = world();
    const b = w.child('b');
    const { process, exits } = run(w, { name: 'projections', maxRestarts: 2, withinMs: 1000 }, [w.child('a'), b, w.child('c')]);
    await process.start();
    b.last().crash('one');
    await flush();
    w.clock.advance(400);
    b.last().crash('two');
    await flush();
    w.log.length = 0;
    w.clock.advance(400);
    b.last().crash('three');
    await flush();
    assert.deepEqual(w.log, ['stop c#1', 'stop a#1']);
    assert.deepEqual(w.giveUps, [{ app: 'shop', supervisor: 'projections', reason: 'three' }]);
    assert.deepEqual(exits, [{ kind: 'abnormal', reason: 'three' }]);
    w.log.length = 0;
    await process.stop();
    assert.deepEqual(w.log, [], 'nothing is left to stop');
  });

  it('keeps restarting when the restarts are spread wider than the window', async () => {
    const w = world();
    const b = w.child('b');
    const { process, exits } = run(w, { maxRestarts: 1, withinMs: 1000 }, [b]);
    await process.start();
    for (let i = 0; i < 5; i++) {
      b.last().crash(`crash ${i}`);
      await flush();
      w.clock.advance(1000);
    }
    assert.equal(b.instances.length, 6);
    assert.deepEqual(exits, []);
  });

  it('with maxRestarts 0 gives up on the first crash', async () => {
    const w = world();
    const b = w.child('b');
    const { process, exits } = run(w, { maxRestarts: 0 }, [b]);
    await process.start();
    b.last().crash('boom');
    await flush();
    assert.equal(b.instances.length, 1);
    assert.deepEqual(exits, [{ kind: 'abnormal', reason: 'boom' }]);
  });

  it('ignores exits that arrive after it gave up', async () => {
    const w = world();
    const a = w.child('a');
    const b = w.child('b');
    const { process, exits } = run(w, { maxRestarts: 0 }, [a, b]);
    await process.start();
    b.last().crash('boom');
    a.last().crash('late');
    await flush();
    assert.deepEqual(exits, [{ kind: 'abnormal', reason: 'boom' }]);
  });
});

describe('supervisor runtime: children that fail to start', () => {
  it('counts a rejected start as an abnormal exit and restarts the child', async () => {
    const w = world();
    const b = w.child('b', { start: (n) => (n === 1 ? Promise.reject(new Error('no connection')) : undefined) });
    const { process } = run(w, {}, [w.child('a'), b, w.child('c')]);
    await process.start();
    assert.deepEqual(w.log, ['start a#1', 'start b#1', 'start b#2', 'start c#1']);
    assert.equal((w.restarts[0]?.reason as Error).message, 'no connection');
  });

  it('in one_for_all, starts the children not started yet as part of the restart', async () => {
    const w = world();
    const b = w.child('b', { start: (n) => (n === 1 ? Promise.reject(new Error('no')) : undefined) });
    const { process } = run(w, { strategy: 'one_for_all' }, [w.child('a'), b, w.child('c')]);
    await process.start();
    assert.deepEqual(w.log, ['start a#1', 'start b#1', 'stop a#1', 'start a#2', 'start b#2', 'start c#1']);
    await process.stop();
    assert.deepEqual(w.log.slice(-3), ['stop c#1', 'stop b#2', 'stop a#2']);
  });

  it('counts a factory that throws in create as a failed start', async () => {
    const w = world();
    let calls = 0;
    const flaky: ChildFactory = {
      name: 'flaky',
      restart: 'permanent',
      create(onExit) {
        calls++;
        if (calls === 1) throw new Error('bad config');
        return w.child('flaky').create(onExit);
      },
    };
    const { process } = run(w, {}, [flaky]);
    await process.start();
    assert.equal(calls, 2);
    assert.deepEqual(w.log, ['start flaky#1']);
  });

  it('rejects its own start with the last reason when it gives up while starting, without reporting an exit', async () => {
    const w = world();
    let n = 0;
    const b = w.child('b', { start: () => Promise.reject(new Error(`attempt ${++n}`)) });
    const { process, exits } = run(w, { name: 'projections', maxRestarts: 2 }, [w.child('a'), b, w.child('c')]);
    await assert.rejects(process.start(), { message: 'attempt 3' });
    assert.deepEqual(w.log, ['start a#1', 'start b#1', 'start b#2', 'start b#3', 'stop a#1']);
    assert.equal(w.giveUps.length, 1);
    assert.deepEqual(exits, []);
  });

  it('leaves a temporary child that fails to start stopped and starts the rest', async () => {
    const w = world();
    const t = w.child('t', { restart: 'temporary', start: () => Promise.reject(new Error('no')) });
    const { process } = run(w, { strategy: 'one_for_all' }, [t, w.child('a')]);
    await process.start();
    assert.deepEqual(w.log, ['start t#1', 'start a#1']);
  });
});

describe('supervisor runtime: exits are handled one at a time', () => {
  it('ignores an exit from an instance it already replaced', async () => {
    const w = world();
    const a = w.child('a');
    const { process } = run(w, {}, [a]);
    await process.start();
    const first = a.last();
    first.crash('boom');
    await flush();
    first.crash('again');
    first.exit({ kind: 'normal' });
    await flush();
    assert.deepEqual(w.log, ['start a#1', 'start a#2']);
  });

  it('handles a repeated exit of the same instance once', async () => {
    const w = world();
    const a = w.child('a');
    const { process } = run(w, {}, [a]);
    await process.start();
    a.last().crash('boom');
    a.last().crash('boom');
    await flush();
    assert.deepEqual(w.log, ['start a#1', 'start a#2']);
  });

  it('ignores an exit from a sibling it stopped for a restart', async () => {
    const w = world();
    const a = w.child('a');
    const c = w.child('c');
    const { process } = run(w, { strategy: 'one_for_all' }, [a, c]);
    await process.start();
    const oldC = c.last();
    a.last().crash('boom');
    oldC.crash('stopped by the supervisor');
    await flush();
    assert.deepEqual(w.log, ['start a#1', 'start c#1', 'stop c#1', 'start a#2', 'start c#2']);
  });

  it('queues an exit that arrives while a restart is in progress', async () => {
    const w = world();
    const gate = deferred();
    const a = w.child('a', { start: (n) => (n === 2 ? gate.promise : undefined) });
    const b = w.child('b');
    const { process } = run(w, {}, [a, b]);
    await process.start();
    a.last().crash('a broke');
    await flush();
    b.last().crash('b broke');
    await flush();
    assert.deepEqual(w.log.slice(2), ['start a#2']);
    gate.resolve();
    await flush();
    assert.deepEqual(w.log.slice(2), ['start a#2', 'start b#2']);
  });

  it('ignores exits once stop has begun', async () => {
    const w = world();
    const a = w.child('a');
    const { process, exits } = run(w, {}, [a, w.child('b')]);
    await process.start();
    const stopped = process.stop();
    a.last().crash('during stop');
    await stopped;
    await flush();
    assert.deepEqual(w.log, ['start a#1', 'start b#1', 'stop b#1', 'stop a#1']);
    assert.deepEqual(exits, []);
  });
});

describe('supervisor runtime: nesting', () => {
  it('a nested supervisor that gives up is restarted by its parent, with the failure as the reason', async () => {
    const w = world();
    const y = w.child('y');
    const inner = supervisorFactory(spec({ name: 'inner', maxRestarts: 0 }), [y, w.child('z')], w.deps);
    const { process, exits } = run(w, { name: 'outer' }, [w.child('x'), inner]);
    await process.start();
    w.log.length = 0;
    y.last().crash('poison');
    await flush();
    assert.deepEqual(w.log, ['stop z#1', 'start y#2', 'start z#2']);
    assert.deepEqual(w.giveUps, [{ app: 'shop', supervisor: 'inner', reason: 'poison' }]);
    assert.deepEqual(w.restarts, [{ app: 'shop', supervisor: 'outer', child: 'inner', reason: 'poison', restarts: 1 }]);
    assert.deepEqual(exits, []);
    await process.stop();
    assert.deepEqual(w.log.slice(-3), ['stop z#2', 'stop y#2', 'stop x#1']);
  });

  it('keeps counting a child\'s restarts across restarts of its supervisor', async () => {
    const w = world();
    const y = w.child('y');
    const inner = supervisorFactory(spec({ name: 'inner', maxRestarts: 1 }), [y], w.deps);
    const { process } = run(w, { name: 'outer' }, [inner]);
    await process.start();
    for (const reason of ['1', '2', '3']) {
      y.last().crash(reason);
      await flush();
    }
    assert.deepEqual(w.restarts.map((r) => [r.supervisor, r.child, r.restarts]), [
      ['inner', 'y', 1], ['outer', 'inner', 1], ['inner', 'y', 2],
    ]);
  });

  it('a nested supervisor that gives up while starting counts as a failed start of that child', async () => {
    const w = world();
    const y = w.child('y', { start: (n) => (n === 1 ? Promise.reject(new Error('cold start')) : undefined) });
    const inner = supervisorFactory(spec({ name: 'inner', maxRestarts: 0 }), [y], w.deps);
    const { process } = run(w, { name: 'outer' }, [inner]);
    await process.start();
    assert.deepEqual(w.log, ['start y#1', 'start y#2']);
    assert.equal((w.restarts[0]?.reason as Error).message, 'cold start');
  });

  it('a failure repeated under a nested supervisor escalates up to the root, which rejects done', async () => {
    const w = world();
    const y = w.child('y');
    const inner = supervisorFactory(spec({ name: 'inner', maxRestarts: 0 }), [y], w.deps);
    const root = startRootSupervisor(spec({ name: 'root', maxRestarts: 1 }), [w.child('x'), inner], w.deps);
    await root.start();
    y.last().crash(new Error('first'));
    await flush();
    const last = new Error('second');
    y.last().crash(last);
    await flush();
    await assert.rejects(root.done, (error: unknown) => {
      assert.ok(error instanceof SupervisorError);
      assert.equal(error.code, 'SUPERVISOR_GAVE_UP');
      assert.equal(error.supervisor, 'root');
      assert.equal(error.cause, last);
      return true;
    });
    assert.deepEqual(w.log.slice(-1), ['stop x#1']);
    assert.deepEqual(w.giveUps.map((g) => g.supervisor), ['inner', 'inner', 'root']);
  });
});

describe('root supervisor', () => {
  it('resolves done after stop', async () => {
    const w = world();
    const root = startRootSupervisor(spec({ name: 'root' }), [w.child('a')], w.deps);
    await root.start();
    await root.stop();
    await root.done;
    assert.deepEqual(w.log, ['start a#1', 'stop a#1']);
  });

  it('rejects start and done with a SupervisorError when it gives up while starting', async () => {
    const w = world();
    const reason = new Error('database down');
    const root = startRootSupervisor(spec({ name: 'root', maxRestarts: 0 }), [w.child('a', { start: () => Promise.reject(reason) })], w.deps);
    await assert.rejects(root.start(), (error: unknown) => error instanceof SupervisorError && error.cause === reason);
    await assert.rejects(root.done, (error: unknown) => error instanceof SupervisorError && error.cause === reason);
  });

  it('does not leave an unhandled rejection when nobody awaits done', async () => {
    const w = world();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const a = w.child('a');
      const root = startRootSupervisor(spec({ name: 'root', maxRestarts: 0 }), [a], w.deps);
      await root.start();
      a.last().crash('boom');
      await flush();
      await flush();
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
