import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Clock } from '../src/clock.ts';
import {
  createApp,
  defineHandler,
  HandlerConfigError,
  inMemoryStore,
  PoisonEventError,
  type App,
  type EventStore,
  type HandlePoisonPayload,
  type RecordedEvent,
} from '../src/index.ts';
import { deferred, waitFor } from './support/wait.ts';

/**
 * A process that can die: its app runs on a view of the shared store and a clock that both go silent at `kill()`
 * (store calls never settle, timers never fire, notifications stop), which is what the database and the other
 * processes see of a process that exited. Several of them in turn on one in-memory store stand for the restarts
 * of one process on one database (test/postgres-poison covers real processes).
 */
interface Mortal {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly dead: boolean;
  kill(): void;
}

const never = new Promise<never>(() => {});

function mortal(shared: EventStore): Mortal {
  let dead = false;
  const store = new Proxy(shared, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (typeof key === 'string' && key.startsWith('on')) {
        return (listener: (...args: unknown[]) => void) => method.call(target, (...args: unknown[]) => void (dead || listener(...args)));
      }
      return (...args: unknown[]) => (dead ? never : method.apply(target, args));
    },
  });
  const clock: Clock = {
    now: () => Date.now(),
    setTimeout: (callback, ms) => setTimeout(() => void (dead || callback()), ms),
    clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  };
  return {
    store,
    clock,
    get dead() {
      return dead;
    },
    kill: () => void (dead = true),
  };
}

/** Short leases: a dead process's slots are taken over quickly. */
const node = { leaseMs: 200, heartbeatMs: 50 };
const keyOf = (event: RecordedEvent): string => (event.data as { key: string }).key;

interface Scenario {
  readonly events: number;
  /** Event number whose `handle` kills the process (while `kills(delivery)` says so). */
  readonly poison: number;
  readonly crashLimit?: number;
  readonly concurrency?: number;
  readonly partitioned?: boolean;
  /** Whether the `n`th delivery (1-based) of the poison event kills. @default always */
  readonly kills?: (delivery: number) => boolean;
  /** Most processes started before the run is called off. */
  readonly maxRuns?: number;
}

interface Outcome {
  readonly crashes: number;
  readonly poisonDeliveries: number;
  /** Event numbers handled at least once (the poison one only if it was handled without killing). */
  readonly handled: ReadonlySet<number>;
  readonly app: App;
  readonly shared: EventStore;
  readonly parked: HandlePoisonPayload[];
  readonly inFlightAtCrash: number[][];
}

/** Runs processes in turn (a supervisor restarting the one that died) until every event was handled or parked. */
async function superviseUntilDone(scenario: Scenario): Promise<Outcome> {
  const shared = inMemoryStore();
  const seed = createApp({ store: shared });
  for (let n = 1; n <= scenario.events; n++) await seed.dispatch(`s-${n % 7}`, [{ type: 'T', data: { key: `k${n % 5}`, n } }]);
  const handled = new Set<number>();
  const parked: HandlePoisonPayload[] = [];
  const inFlightAtCrash: number[][] = [];
  let poisonDeliveries = 0;
  let crashes = 0;
  for (let run = 1; ; run++) {
    const proc = mortal(shared);
    const inFlight = new Set<number>();
    const handler = defineHandler({
      name: 'Poisoned',
      concurrency: scenario.concurrency ?? 1,
      crashLimit: scenario.crashLimit,
      ...(scenario.partitioned === true ? { partitionBy: keyOf, slots: 8 } : {}),
      async handle(event) {
        if (proc.dead) return never;
        inFlight.add(event.eventNumber);
        await new Promise((resolve) => setImmediate(resolve));
        if (proc.dead) return never;
        if (event.eventNumber === scenario.poison && (scenario.kills ?? (() => true))(++poisonDeliveries)) {
          inFlightAtCrash.push([...inFlight].sort((a, b) => a - b));
          proc.kill();
          return never;
        }
        handled.add(event.eventNumber);
        inFlight.delete(event.eventNumber);
      },
    });
    const app = createApp({ store: proc.store, clock: proc.clock, node });
    app.on('handle:poison', (payload) => parked.push(payload));
    await app.start([handler]);
    const done = async (): Promise<boolean> => {
      const letters = await shared.listDeadLetters();
      return handled.size + letters.length >= scenario.events && app.status()[0]?.lag === 0;
    };
    await waitFor(async () => proc.dead || (await done()), `run ${run} to die or finish`);
    if (!proc.dead) return { crashes, poisonDeliveries, handled, app, shared, parked, inFlightAtCrash };
    crashes++;
    if (run >= (scenario.maxRuns ?? 10)) return { crashes, poisonDeliveries, handled, app, shared, parked, inFlightAtCrash };
  }
}

const everyEventBut = (count: number, poison: number): number[] => Array.from({ length: count }, (_, i) => i + 1).filter((n) => n !== poison);

describe('events that crash the process (crashLimit)', () => {
  it('parks an event after crashLimit crashes with it in flight, with a PoisonEventError, and handles every other event', async () => {
    const outcome = await superviseUntilDone({ events: 60, poison: 23 });
    assert.equal(outcome.crashes, 3);
    assert.equal(outcome.poisonDeliveries, 3);
    assert.deepEqual([...outcome.handled].sort((a, b) => a - b), everyEventBut(60, 23));
    const letters = await outcome.shared.listDeadLetters();
    assert.equal(letters.length, 1);
    const [letter] = letters;
    assert.deepEqual([letter?.event.eventNumber, letter?.attempts, letter?.error.code, letter?.handlerName], [23, 3, 'POISON_EVENT', 'Poisoned']);
    assert.match(letter?.error.message ?? '', /event 23 was in flight each of the 3 times the process died/);
    assert.deepEqual(outcome.parked.map((payload) => [payload.event.eventNumber, payload.crashes, payload.error instanceof PoisonEventError]), [[23, 3, true]]);
    await outcome.app.stop();
  });

  it('with concurrency 4 and partitionBy, narrows it down: after the first crash the suspects go one at a time, no innocent event is parked', async () => {
    const outcome = await superviseUntilDone({ events: 120, poison: 61, concurrency: 4, partitioned: true, crashLimit: 2 });
    assert.equal(outcome.crashes, 2);
    // The second crash found the poison event alone in flight.
    assert.deepEqual(outcome.inFlightAtCrash[1], [61]);
    assert.ok((outcome.inFlightAtCrash[0]?.length ?? 0) > 1, 'the first crash had other events in flight beside it');
    assert.deepEqual([...outcome.handled].sort((a, b) => a - b), everyEventBut(120, 61));
    assert.deepEqual((await outcome.shared.listDeadLetters()).map((letter) => [letter.event.eventNumber, letter.error.code]), [[61, 'POISON_EVENT']]);
    await outcome.app.stop();
  });

  it('with crashLimit 1, parks only the event a crash was pinned on: innocent events in flight beside it are handed over again', async () => {
    const outcome = await superviseUntilDone({ events: 40, poison: 12, crashLimit: 1 });
    // The first crash had the later events in flight too; the second found the poison event alone.
    assert.equal(outcome.crashes, 2);
    assert.deepEqual(outcome.inFlightAtCrash[1], [12]);
    assert.deepEqual([...outcome.handled].sort((a, b) => a - b), everyEventBut(40, 12));
    assert.deepEqual((await outcome.shared.listDeadLetters()).map((letter) => [letter.event.eventNumber, letter.attempts]), [[12, 2]]);
    await outcome.app.stop();
  });

  it('with crashLimit 1, parks an event after one crash when it was the only event in flight', async () => {
    const outcome = await superviseUntilDone({ events: 1, poison: 1, crashLimit: 1 });
    assert.equal(outcome.crashes, 1);
    assert.deepEqual((await outcome.shared.listDeadLetters()).map((letter) => [letter.event.eventNumber, letter.attempts]), [[1, 1]]);
    await outcome.app.stop();
  });

  it('forgets the crashes of an event once it was handled (the cursor passed it)', async () => {
    // The event kills the process on its first delivery only: one crash, then handled; it is never parked.
    const outcome = await superviseUntilDone({ events: 30, poison: 10, crashLimit: 2, kills: (delivery) => delivery === 1 });
    assert.equal(outcome.crashes, 1);
    assert.ok(outcome.handled.has(10));
    assert.deepEqual(await outcome.shared.listDeadLetters(), []);
    await outcome.app.stop();
    // Nothing is left to count: a later claim of the slot finds no suspects.
    const [claim] = await outcome.shared.claimSlots('Poisoned', { id: 'probe', label: 'probe' }, [0], 60_000);
    assert.deepEqual(claim?.suspects, []);
  });

  it('with crashLimit 0, hands the event over again after every crash', async () => {
    const outcome = await superviseUntilDone({ events: 20, poison: 5, crashLimit: 0, maxRuns: 5 });
    assert.equal(outcome.crashes, 5);
    assert.equal(outcome.poisonDeliveries, 5);
    assert.deepEqual(await outcome.shared.listDeadLetters(), []);
  });

  it('does not count a graceful stop, even one that abandons an event still running', async () => {
    const shared = inMemoryStore();
    const first = createApp({ store: shared, node });
    await first.dispatch('s', Array.from({ length: 5 }, (_, i) => ({ type: 'T', data: { n: i + 1 } })));
    const stuck = deferred();
    const started = deferred();
    await first.start([
      defineHandler({
        name: 'Slow',
        crashLimit: 1,
        async handle(event) {
          if (event.eventNumber === 3) {
            started.resolve();
            await stuck.promise;
          }
        },
      }),
    ]);
    await started.promise;
    await first.stop({ timeoutMs: 20 });
    stuck.resolve();
    const handled: number[] = [];
    const second = createApp({ store: shared, node });
    await second.start([defineHandler({ name: 'Slow', crashLimit: 1, handle: (event) => void handled.push(event.eventNumber) })]);
    await second.caughtUp();
    assert.ok(handled.includes(3), 'the abandoned event is handed over again, not parked');
    assert.deepEqual(await shared.listDeadLetters(), []);
    await second.stop();
  });

  it('parks a poison event of a batch handler alone, and hands the rest over in batches', async () => {
    const shared = inMemoryStore();
    const seed = createApp({ store: shared });
    await seed.dispatch('s', Array.from({ length: 12 }, (_, i) => ({ type: 'T', data: { n: i + 1 } })));
    const batches: number[][] = [];
    let crashes = 0;
    for (let run = 1; run <= 4; run++) {
      const proc = mortal(shared);
      const app = createApp({ store: proc.store, clock: proc.clock, node });
      await app.start([
        defineHandler({
          name: 'Batched',
          crashLimit: 2,
          batchSize: 4,
          handleBatch(events) {
            if (proc.dead) return never;
            const numbers = events.map((event) => event.eventNumber);
            if (numbers.includes(7)) {
              proc.kill();
              return never;
            }
            batches.push(numbers);
          },
        }),
      ]);
      const finished = async () => new Set(batches.flat()).size + (await shared.listDeadLetters()).length >= 12;
      await waitFor(async () => proc.dead || (await finished()), `batch run ${run}`);
      if (!proc.dead) {
        await app.stop();
        break;
      }
      crashes++;
    }
    assert.equal(crashes, 2);
    assert.deepEqual([...new Set(batches.flat())].sort((a, b) => a - b), everyEventBut(12, 7));
    assert.deepEqual((await shared.listDeadLetters()).map((letter) => [letter.event.eventNumber, letter.attempts, letter.error.code]), [[7, 2, 'POISON_EVENT']]);
  });

  it('writes one note per page read, not per event, and clears it once at a stop; none with crashLimit 0', async () => {
    for (const [crashLimit, notes, clears] of [[3, 3, 1], [0, 0, 0]] as const) {
      const shared = inMemoryStore();
      const calls = { noteInFlight: 0, clearInFlight: 0 };
      const counted = new Proxy(shared, {
        get(target, key, receiver) {
          if (key === 'noteInFlight' || key === 'clearInFlight') calls[key]++;
          return Reflect.get(target, key, receiver);
        },
      });
      const app = createApp({ store: counted, batchSize: 1000 });
      for (let page = 0; page < 25; page++) await app.dispatch(`s-${page}`, Array.from({ length: 100 }, (_, i) => ({ type: 'T', data: { i } })));
      await app.start([defineHandler({ name: 'Counted', concurrency: 4, crashLimit, handle() {} })]);
      await app.caughtUp();
      await app.stop();
      // 2,500 events read in pages of 1,000: three pages.
      assert.deepEqual(calls, { noteInFlight: notes, clearInFlight: clears }, `crashLimit ${crashLimit}`);
    }
  });

  describe('the crashLimit option', () => {
    it('defaults to 3 and can be overridden per child', () => {
      assert.equal(defineHandler({ name: 'A', handle() {} }).config.crashLimit, 3);
      assert.equal(defineHandler({ name: 'A', crashLimit: 0, handle() {} }).config.crashLimit, 0);
    });

    for (const bad of [-1, 1.5, '3', Number.NaN, null, Number.POSITIVE_INFINITY]) {
      it(`rejects crashLimit ${String(bad)} with a HandlerConfigError naming the field and value`, () => {
        assert.throws(
          () => defineHandler({ name: 'A', crashLimit: bad as number, handle() {} }),
          (error: unknown) =>
            error instanceof HandlerConfigError &&
            error.field === 'crashLimit' &&
            error.message.includes('"crashLimit"') &&
            error.message.includes('non-negative integer'),
        );
      });
    }
  });
});
