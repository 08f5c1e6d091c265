import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandlerConfigError } from '../src/errors.ts';
import type { RecordedEvent } from '../src/events/types.ts';
import { backoff, backoffDelay, type BackoffOptions } from '../src/handler/backoff.ts';
import type { FailureContext } from '../src/handler/types.ts';

const event: RecordedEvent = {
  eventId: 'e1',
  eventNumber: 1,
  streamId: 's',
  streamVersion: 1,
  type: 'T',
  data: null,
  metadata: {},
  createdAt: new Date(0),
};

function failure(attempt: number, context: Record<string, unknown> = {}): FailureContext {
  return { attempt, context, error: new Error('x'), handlerName: 'H', state: undefined, event };
}

function delayAt(options: BackoffOptions, attempt: number): number {
  const action = backoff(options)(new Error('x'), event, failure(attempt));
  assert.equal(action.action, 'retry');
  return action.action === 'retry' ? action.delayMs : -1;
}

function assertConfigError(options: unknown, field: string | undefined, pattern: RegExp): void {
  assert.throws(
    () => backoff(options as BackoffOptions),
    (error: unknown) => error instanceof HandlerConfigError && error.field === field && pattern.test(error.message),
  );
}

describe('backoff', () => {
  it('doubles the delay ceiling per attempt from baseMs (random 1 gives the ceiling)', () => {
    const top = { baseMs: 100, maxMs: 30_000, maxAttempts: 10, random: () => 1 };
    assert.deepEqual([1, 2, 3, 4].map((n) => delayAt(top, n)), [100, 200, 400, 800]);
  });

  it('uses equal jitter: random 0 gives half the ceiling', () => {
    const bottom = { baseMs: 100, maxMs: 30_000, maxAttempts: 10, random: () => 0 };
    assert.deepEqual([1, 2, 3, 4].map((n) => delayAt(bottom, n)), [50, 100, 200, 400]);
  });

  it('stays within [ceiling / 2, ceiling] for any random draw', () => {
    for (const r of [0, 0.1, 0.5, 0.999]) {
      const delay = delayAt({ baseMs: 1000, maxAttempts: 10, random: () => r }, 3);
      assert.ok(delay >= 2000 && delay <= 4000, `delay ${delay} for random ${r}`);
    }
  });

  it('caps the ceiling at maxMs', () => {
    assert.equal(delayAt({ baseMs: 100, maxMs: 1000, maxAttempts: 50, random: () => 1 }, 8), 1000);
    assert.equal(delayAt({ baseMs: 100, maxMs: 1000, maxAttempts: 50, random: () => 0 }, 8), 500);
  });

  it('stays finite and capped on very high attempts, even with baseMs 0', () => {
    assert.equal(delayAt({ baseMs: 100, maxMs: 5000, maxAttempts: Infinity, random: () => 1 }, 5000), 5000);
    assert.equal(delayAt({ baseMs: 0, maxMs: 5000, maxAttempts: Infinity, random: () => 1 }, 5000), 0);
  });

  it('clamps a random source that strays outside [0, 1]', () => {
    const settings = { baseMs: 100, maxMs: 1000 };
    assert.equal(backoffDelay(1, { ...settings, random: () => 7 }), 100);
    assert.equal(backoffDelay(1, { ...settings, random: () => -3 }), 50);
    assert.equal(backoffDelay(1, { ...settings, random: () => NaN }), 50);
  });

  it('stops with the error on the maxAttempts-th failure by default', () => {
    const error = new Error('poison');
    const callback = backoff({ maxAttempts: 3 });
    assert.equal(callback(error, event, failure(2)).action, 'retry');
    assert.deepEqual(callback(error, event, failure(3)), { action: 'stop', reason: error });
    assert.deepEqual(callback(error, event, failure(4)), { action: 'stop', reason: error });
  });

  it("skips after maxAttempts failures with then: 'skip'", () => {
    const callback = backoff({ maxAttempts: 2, then: 'skip' });
    assert.equal(callback(new Error('x'), event, failure(1)).action, 'retry');
    assert.deepEqual(callback(new Error('x'), event, failure(2)), { action: 'skip' });
  });

  it('never retries with maxAttempts 1', () => {
    assert.equal(backoff({ maxAttempts: 1 })(new Error('x'), event, failure(1)).action, 'stop');
  });

  it('uses 5 attempts, 100 ms base and a 30 s cap by default', () => {
    const callback = backoff({ random: () => 1 });
    const delays = [1, 2, 3, 4].map((n) => {
      const action = callback(new Error('x'), event, failure(n));
      return action.action === 'retry' ? action.delayMs : -1;
    });
    assert.deepEqual(delays, [100, 200, 400, 800]);
    assert.equal(callback(new Error('x'), event, failure(5)).action, 'stop');
    assert.equal(delayAt({ maxAttempts: 100, random: () => 1 }, 20), 30_000);
  });

  it('raises the default cap to baseMs when baseMs is larger', () => {
    assert.equal(delayAt({ baseMs: 60_000, random: () => 1 }, 3), 60_000);
  });

  it('carries the retry context of the previous failure on', () => {
    const action = backoff()(new Error('x'), event, failure(1, { note: 'kept' }));
    assert.deepEqual(action, { action: 'retry', delayMs: action.action === 'retry' ? action.delayMs : -1, context: { note: 'kept' } });
  });

  it('treats options given as undefined as not given', () => {
    assert.doesNotThrow(() => backoff({ maxAttempts: undefined, then: undefined } as unknown as BackoffOptions));
  });

  it('rejects a bad maxAttempts', () => {
    for (const value of [0, -1, 1.5, NaN, '3']) assertConfigError({ maxAttempts: value }, 'maxAttempts', /positive integer or Infinity/);
  });

  it('rejects a bad baseMs or maxMs', () => {
    for (const value of [-1, NaN, Infinity, '100', 2 ** 31]) assertConfigError({ baseMs: value, maxMs: 2 ** 31 - 1 }, 'baseMs', /baseMs/);
    assertConfigError({ maxMs: -5 }, 'maxMs', /got -5/);
    assertConfigError({ baseMs: 500, maxMs: 100 }, 'maxMs', /from baseMs \(500\)/);
  });

  it("rejects a then other than 'skip' or 'stop'", () => {
    assertConfigError({ then: 'retry' }, 'then', /'skip' or 'stop', got "retry"/);
  });

  it('rejects a random that is not a function', () => {
    assertConfigError({ random: 0.5 }, 'random', /function/);
  });

  it('rejects an unknown option, suggesting the closest known one', () => {
    assertConfigError({ maxAttempt: 3 }, 'maxAttempt', /unknown option "maxAttempt" \(did you mean "maxAttempts"\?\)/);
  });

  it('rejects options that are not an object', () => {
    assertConfigError(null, undefined, /options must be an object/);
  });
});
