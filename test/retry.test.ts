/** The one retry policy: what is transient, how long to wait, and the helper that repeats a call on the clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock } from '../src/clock.ts';
import { HandlerConfigError, LeaseLostError, StoreError, WrongExpectedVersionError } from '../src/errors.ts';
import { backoffDelay, isTransient, retrying } from '../src/store/retry.ts';

const lost = (): Error => Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' });

describe('isTransient', () => {
  it('says yes to lost or refused connections, on the error or in its cause chain, and to store errors', () => {
    for (const code of ['CONNECTION_CLOSED', 'ECONNREFUSED', 'ECONNRESET', '57P01', '57P03', '08006']) {
      assert.equal(isTransient({ code }), true, code);
    }
    assert.equal(isTransient(new Error('outer', { cause: lost() })), true);
    assert.equal(isTransient(new Error('outer', { cause: new Error('middle', { cause: lost() }) })), true);
    assert.equal(isTransient(new StoreError('read failed: connection refused')), true);
  });

  it('says no to everything else: bad queries, lost leases, config errors, expected versions, non-errors', () => {
    const others: unknown[] = [
      { code: 'CONNECTION_ENDED' },
      { code: '23505' },
      new Error('bad query'),
      new LeaseLostError('H', [1]),
      new HandlerConfigError('bad', 'x'),
      new WrongExpectedVersionError('s', 1, 2),
      undefined,
      null,
      'text',
      42,
    ];
    for (const error of others) assert.equal(isTransient(error), false, String(error));
  });

  it('does not loop on a cause chain that points back at itself', () => {
    const error: Error & { cause?: unknown } = new Error('self');
    error.cause = error;
    assert.equal(isTransient(error), false);
  });
});

describe('backoffDelay', () => {
  it('doubles from baseMs up to capMs, keeping a random half of each ceiling', () => {
    const policy = { baseMs: 100, capMs: 1000 };
    assert.deepEqual([0, 1, 2, 3, 4, 10].map((failures) => backoffDelay(failures, policy, () => 0)), [50, 100, 200, 400, 500, 500]);
    assert.deepEqual([0, 1, 2, 3, 4, 10].map((failures) => backoffDelay(failures, policy, () => 0.999_999)), [100, 200, 400, 800, 1000, 1000]);
  });

  it('never exceeds capMs however many failures there were', () => {
    assert.equal(backoffDelay(10_000, { baseMs: 100, capMs: 5000 }, () => 0.999_999), 5000);
  });
});

describe('retrying', () => {
  it('repeats transient failures on the injected clock until the work succeeds, reporting each', async () => {
    const clock = manualClock();
    const retried: number[] = [];
    let calls = 0;
    const result = retrying(
      async () => {
        calls++;
        if (calls < 3) throw lost();
        return 'done';
      },
      { clock, baseMs: 100, capMs: 1000, random: () => 0.999_999, onRetry: (_error, failures) => retried.push(failures) },
    );
    while (calls < 3) {
      await new Promise((resolve) => setImmediate(resolve));
      clock.advance(1000);
    }
    assert.equal(await result, 'done');
    assert.deepEqual(retried, [1, 2]);
  });

  it('throws at once a failure that is not transient', async () => {
    let calls = 0;
    await assert.rejects(
      retrying(
        async () => {
          calls++;
          throw new Error('bad query');
        },
        { clock: manualClock(), baseMs: 100, capMs: 1000 },
      ),
      /bad query/,
    );
    assert.equal(calls, 1);
  });

  it('gives up once its budget of waiting is spent', async () => {
    const clock = manualClock();
    let calls = 0;
    const result = retrying(
      async () => {
        calls++;
        throw lost();
      },
      { clock, baseMs: 100, capMs: 100, budgetMs: 250, random: () => 0.999_999 },
    );
    result.catch(() => undefined);
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      clock.advance(100);
    }
    await assert.rejects(result, /CONNECTION_CLOSED/);
    // Waits of 100, 100 and the 50 left: four calls in all.
    assert.equal(calls, 4);
  });

  it('stops retrying once its signal is aborted, with the last failure', async () => {
    const clock = manualClock();
    const signal = { aborted: false };
    let calls = 0;
    const result = retrying(
      async () => {
        calls++;
        throw new StoreError(`read failed ${calls}`);
      },
      { clock, baseMs: 100, capMs: 100, signal },
    );
    result.catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    signal.aborted = true;
    clock.advance(100);
    await assert.rejects(result, /read failed 1/);
    assert.equal(calls, 1);
  });
});
