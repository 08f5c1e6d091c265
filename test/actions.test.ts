import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandlerConfigError } from '../src/errors.ts';
import { MAX_DELAY_MS, delayProblem, isNormalStop, retry, skip, stop } from '../src/handler/actions.ts';

function assertConfigError(fn: () => unknown, field: string, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HandlerConfigError);
    assert.equal(error.code, 'HANDLER_CONFIG');
    assert.equal(error.field, field);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('retry', () => {
  it('retries at once with an empty context when given nothing', () => {
    assert.deepEqual(retry(), { action: 'retry', delayMs: 0, context: {} });
  });

  it('retries at once carrying a context', () => {
    assert.deepEqual(retry({ tries: 2 }), { action: 'retry', delayMs: 0, context: { tries: 2 } });
  });

  it('retries after a delay, with or without a context', () => {
    assert.deepEqual(retry(250), { action: 'retry', delayMs: 250, context: {} });
    assert.deepEqual(retry(250, { why: 'busy' }), { action: 'retry', delayMs: 250, context: { why: 'busy' } });
    assert.deepEqual(retry(0), { action: 'retry', delayMs: 0, context: {} });
  });

  it('accepts a null-prototype context', () => {
    const context = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    assert.deepEqual({ ...retry(context).context }, { a: 1 });
  });

  it('copies the context so later changes to the caller object do not leak into the action', () => {
    const context: Record<string, unknown> = { n: 1 };
    const action = retry(context);
    context.n = 2;
    assert.equal(action.context.n, 1);
  });

  it('returns a frozen action', () => {
    assert.ok(Object.isFrozen(retry(5)));
  });

  it('rejects a negative, non-finite or NaN delay', () => {
    for (const delay of [-1, -0.5, Infinity, -Infinity, NaN]) {
      assertConfigError(() => retry(delay), 'delayMs', /delayMs must be a non-negative finite number/);
    }
  });

  it("rejects a delay longer than Node's timers allow, which would otherwise fire at once", () => {
    assert.doesNotThrow(() => retry(MAX_DELAY_MS));
    assertConfigError(() => retry(MAX_DELAY_MS + 1), 'delayMs', /at most 2147483647/);
  });

  it('rejects a context that is not a plain object', () => {
    for (const context of [null, [1], new Map(), 'ctx', new Date()]) {
      assertConfigError(() => retry(10, context as unknown as Record<string, unknown>), 'context', /context must be a plain object/);
    }
    assertConfigError(() => retry(null as unknown as Record<string, unknown>), 'context', /plain object/);
  });

  it('rejects a delay given as a string', () => {
    assertConfigError(() => retry('100' as unknown as number), 'delayMs', /got "100"/);
  });

  it('rejects a context followed by a second argument', () => {
    assertConfigError(() => retry({} as unknown as number, {}), 'context', /retry\(\) takes/);
  });
});

describe('skip', () => {
  it('returns the skip action', () => {
    assert.deepEqual(skip(), { action: 'skip' });
    assert.ok(Object.isFrozen(skip()));
  });
});

describe('stop', () => {
  it('carries the reason given', () => {
    const reason = new Error('boom');
    assert.deepEqual(stop(reason), { action: 'stop', reason });
    assert.deepEqual(stop('normal'), { action: 'stop', reason: 'normal' });
  });

  it('has an undefined reason when given none, which counts as abnormal', () => {
    const action = stop();
    assert.equal(action.action, 'stop');
    assert.ok('reason' in action);
    assert.equal(action.reason, undefined);
    assert.equal(isNormalStop(action.reason), false);
  });
});

describe('isNormalStop', () => {
  it("is true only for the string 'normal'", () => {
    assert.equal(isNormalStop('normal'), true);
    for (const reason of [undefined, null, 'Normal', 'shutdown', new Error('normal'), { reason: 'normal' }]) {
      assert.equal(isNormalStop(reason), false);
    }
  });
});

describe('delayProblem', () => {
  it('accepts 0 and the longest timer, and explains anything else', () => {
    assert.equal(delayProblem(0), undefined);
    assert.equal(delayProblem(MAX_DELAY_MS), undefined);
    assert.match(delayProblem('5') ?? '', /non-negative finite/);
    assert.match(delayProblem(MAX_DELAY_MS + 1) ?? '', /at most/);
  });
});
