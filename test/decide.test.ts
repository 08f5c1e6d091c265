import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandlerConfigError } from '../src/errors.ts';
import { retry, skip, stop } from '../src/handler/actions.ts';
import { decideOnFailure, telemetryAction, type FailureDecision } from '../src/handler/decide.ts';

function stopReason(decision: FailureDecision): unknown {
  assert.equal(decision.kind, 'stop');
  return decision.kind === 'stop' ? decision.reason : undefined;
}

function assertGarbage(value: unknown, pattern: RegExp): void {
  const reason = stopReason(decideOnFailure({ kind: 'returned', value }, 'Mailer'));
  assert.ok(reason instanceof HandlerConfigError, `expected a HandlerConfigError for ${String(value)}`);
  assert.equal(reason.field, 'error');
  assert.match(reason.message, /error\(\) of handler "Mailer"/);
  assert.match(reason.message, pattern);
}

describe('decideOnFailure', () => {
  it('stops with the handle error when the handler has no error callback', () => {
    const error = new Error('handle failed');
    assert.deepEqual(decideOnFailure({ kind: 'none', error }, 'A'), { kind: 'stop', reason: error });
  });

  it('stops with what the error callback threw', () => {
    const thrown = new TypeError('callback bug');
    assert.deepEqual(decideOnFailure({ kind: 'threw', error: thrown }, 'A'), { kind: 'stop', reason: thrown });
  });

  it('retries at once on retry()', () => {
    assert.deepEqual(decideOnFailure({ kind: 'returned', value: retry() }, 'A'), { kind: 'retry', delayMs: 0, context: {} });
  });

  it('retries later with the context on retry(delayMs, context)', () => {
    assert.deepEqual(decideOnFailure({ kind: 'returned', value: retry(500, { n: 1 }) }, 'A'), {
      kind: 'retry',
      delayMs: 500,
      context: { n: 1 },
    });
  });

  it('skips on skip()', () => {
    assert.deepEqual(decideOnFailure({ kind: 'returned', value: skip() }, 'A'), { kind: 'skip' });
  });

  it('stops with the given reason on stop(reason), and with undefined on stop()', () => {
    assert.deepEqual(decideOnFailure({ kind: 'returned', value: stop('normal') }, 'A'), { kind: 'stop', reason: 'normal' });
    assert.deepEqual(decideOnFailure({ kind: 'returned', value: stop() }, 'A'), { kind: 'stop', reason: undefined });
  });

  it('accepts hand-built actions that leave out optional fields', () => {
    assert.deepEqual(decideOnFailure({ kind: 'returned', value: { action: 'retry' } }, 'A'), { kind: 'retry', delayMs: 0, context: {} });
    assert.deepEqual(decideOnFailure({ kind: 'returned', value: { action: 'stop' } }, 'A'), { kind: 'stop', reason: undefined });
  });

  it('stops with a HandlerConfigError naming the handler when the callback returns undefined', () => {
    assertGarbage(undefined, /returned undefined, which is not an error action/);
  });

  it('stops with a HandlerConfigError showing a returned string', () => {
    assertGarbage('retry', /returned "retry"/);
  });

  it('stops with a HandlerConfigError for an object with an unknown action', () => {
    assertGarbage({ action: 'ignore' }, /returned \{"action":"ignore"\}/);
    assertGarbage({}, /not an error action/);
    assertGarbage(null, /returned null/);
    assertGarbage(42, /returned 42/);
  });

  it('stops with a HandlerConfigError for a retry with a negative delay', () => {
    assertGarbage({ action: 'retry', delayMs: -5, context: {} }, /delayMs must be a non-negative finite number.*got -5/);
  });

  it('stops with a HandlerConfigError for a retry with a NaN, string or too long delay', () => {
    assertGarbage({ action: 'retry', delayMs: NaN, context: {} }, /got NaN/);
    assertGarbage({ action: 'retry', delayMs: '10', context: {} }, /got "10"/);
    assertGarbage({ action: 'retry', delayMs: 2 ** 31, context: {} }, /at most 2147483647/);
  });

  it('stops with a HandlerConfigError for a retry whose context is not a plain object', () => {
    assertGarbage({ action: 'retry', delayMs: 0, context: 'ctx' }, /context must be a plain object, got "ctx"/);
    assertGarbage({ action: 'retry', delayMs: 0, context: new Map() }, /got a Map/);
  });

  it('treats an unawaited promise as garbage', () => {
    assertGarbage(Promise.resolve(skip()), /returned a Promise/);
  });
});

describe('telemetryAction', () => {
  it('names the decision kind', () => {
    assert.equal(telemetryAction({ kind: 'retry', delayMs: 1, context: {} }), 'retry');
    assert.equal(telemetryAction({ kind: 'skip' }), 'skip');
    assert.equal(telemetryAction({ kind: 'stop', reason: 'x' }), 'stop');
  });
});
