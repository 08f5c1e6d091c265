import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  HandlerConfigError,
  HandlerTimeoutError,
  createApp,
  defineHandler,
  manualClock,
  retry,
  skip,
  stop,
  type FailureContext,
} from '../src/index.ts';
import { flushAsync, waitFor } from './support/wait.ts';

const event = (n: number) => ({ type: 'Tick', data: { n } });

describe('error routing', () => {
  it('retries with the context carried to the next failure and counts attempts per event', async () => {
    const app = createApp();
    const failures: Pick<FailureContext, 'attempt' | 'context'>[] = [];
    const handled: number[] = [];
    let calls = 0;
    await app.start([
      defineHandler({
        name: 'Flaky',
        handle(e) {
          calls++;
          if (e.eventNumber === 1 && calls < 3) throw new Error(`boom ${calls}`);
          handled.push(e.eventNumber);
        },
        error: (_err, _e, failure) => {
          failures.push({ attempt: failure.attempt, context: failure.context });
          return retry({ tries: failure.attempt });
        },
      }),
    ]);
    await app.dispatch('s', [event(1), event(2)]);
    await waitFor(() => handled.length === 2);
    assert.deepEqual(failures, [
      { attempt: 1, context: {} },
      { attempt: 2, context: { tries: 1 } },
    ]);
    assert.deepEqual(handled, [1, 2]);
    await app.stop();
  });

  it('never leaks a retry context into the next event', async () => {
    const app = createApp();
    const contexts: unknown[] = [];
    const failedOnce = new Set<number>();
    await app.start([
      defineHandler({
        name: 'Ctx',
        handle(e) {
          if (!failedOnce.has(e.eventNumber)) {
            failedOnce.add(e.eventNumber);
            throw new Error('first try fails');
          }
        },
        error: (_err, e, failure) => {
          contexts.push(failure.context);
          return retry({ from: e.eventNumber });
        },
      }),
    ]);
    await app.dispatch('s', [event(1), event(2)]);
    await waitFor(() => contexts.length === 2 && app.status()[0]?.cursor === 2);
    assert.deepEqual(contexts, [{}, {}]);
    await app.stop();
  });

  it('waits the retry delay on the injected clock', async () => {
    const clock = manualClock(1_000);
    const app = createApp({ clock });
    let calls = 0;
    await app.start([
      defineHandler({
        name: 'Later',
        handle() {
          calls++;
          if (calls === 1) throw new Error('not yet');
        },
        error: () => retry(5_000),
      }),
    ]);
    await app.dispatch('s', event(1));
    await waitFor(() => calls === 1);
    clock.advance(4_999);
    await flushAsync();
    assert.equal(calls, 1);
    clock.advance(1);
    await waitFor(() => calls === 2);
    await waitFor(() => app.status()[0]?.cursor === 1);
    await app.stop();
  });

  it('skip() acknowledges the event and records a dead letter with the error and attempts', async () => {
    const app = createApp();
    const handled: number[] = [];
    await app.start([
      defineHandler({
        name: 'Skipper',
        handle(e) {
          if (e.eventNumber === 2) throw new Error('poison');
          handled.push(e.eventNumber);
        },
        error: (_err, _e, failure) => (failure.attempt < 2 ? retry() : skip()),
      }),
    ]);
    await app.dispatch('s', [event(1), event(2), event(3)]);
    await waitFor(() => handled.length === 2 && app.status()[0]?.cursor === 3);
    const letters = await app.deadLetters({ handler: 'Skipper' });
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.event.eventNumber, 2);
    assert.equal(letters[0]?.error.message, 'poison');
    assert.equal(letters[0]?.attempts, 2);
    await app.stop();
  });

  it('replays a dead letter and removes it once handled', async () => {
    const app = createApp();
    let healthy = false;
    const handled: number[] = [];
    await app.start([
      defineHandler({
        name: 'Heal',
        handle(e) {
          if (!healthy) throw new Error('down');
          handled.push(e.eventNumber);
        },
        error: () => skip(),
      }),
    ]);
    await app.dispatch('s', event(1));
    await waitFor(async () => (await app.deadLetters()).length === 1);
    const [letter] = await app.deadLetters();
    healthy = true;
    assert.equal(await app.replayDeadLetter(letter!.id), 'handled');
    assert.deepEqual(handled, [1]);
    assert.deepEqual(await app.deadLetters(), []);
    await assert.rejects(app.replayDeadLetter('missing'), { code: 'HANDLER_CONFIG' });
    await app.stop();
  });

  it('replaces a dead letter that is skipped again on replay', async () => {
    const app = createApp();
    await app.start([defineHandler({ name: 'Still', handle: () => { throw new Error('still down'); }, error: () => skip() })]);
    await app.dispatch('s', event(1));
    await waitFor(async () => (await app.deadLetters()).length === 1);
    const [first] = await app.deadLetters();
    assert.equal(await app.replayDeadLetter(first!.id), 'skipped');
    const after = await app.deadLetters();
    assert.equal(after.length, 1);
    assert.notEqual(after[0]?.id, first?.id);
    await app.stop();
  });

  it('stops the handler on stop(reason), and its supervisor restarts it from the cursor', async () => {
    const app = createApp();
    const reasons: unknown[] = [];
    app.on('supervisor:restart', (payload) => reasons.push(payload.reason));
    let failNext = true;
    const handled: number[] = [];
    await app.start([
      defineHandler({
        name: 'Stopper',
        handle(e) {
          if (e.eventNumber === 2 && failNext) {
            failNext = false;
            throw new Error('fatal');
          }
          handled.push(e.eventNumber);
        },
        error: () => stop('broken'),
      }),
    ]);
    await app.dispatch('s', [event(1), event(2), event(3)]);
    await waitFor(() => handled.length === 3);
    assert.deepEqual(handled, [1, 2, 3]);
    assert.deepEqual(reasons, ['broken']);
    assert.equal(app.status()[0]?.restarts, 1);
    await app.stop();
  });

  it('stops by default when there is no error callback, with the error as reason', async () => {
    const app = createApp();
    const reasons: unknown[] = [];
    app.on('supervisor:restart', (payload) => reasons.push(payload.reason));
    let thrown = false;
    await app.start([
      [
        defineHandler({
          name: 'NoCallback',
          handle() {
            if (!thrown) {
              thrown = true;
              throw new Error('unhandled');
            }
          },
        }),
        { restart: 'permanent' },
      ],
    ]);
    await app.dispatch('s', event(1));
    await waitFor(() => reasons.length === 1);
    assert.equal((reasons[0] as Error).message, 'unhandled');
    await app.stop();
  });

  it('stops with the thrown error when the error callback itself throws', async () => {
    const app = createApp();
    const reasons: unknown[] = [];
    app.on('supervisor:restart', (payload) => reasons.push(payload.reason));
    await app.start(
      [
        [
          defineHandler({
            name: 'BadCallback',
            handle: () => { throw new Error('handle failed'); },
            error: () => { throw new Error('callback failed'); },
          }),
          { restart: 'temporary' },
        ],
      ],
    );
    await app.dispatch('s', event(1));
    await waitFor(() => app.status()[0]?.state === 'failed');
    assert.equal(app.status()[0]?.restarts, 0);
    assert.deepEqual(reasons, []);
    await app.stop();
  });

  it('stops with a HandlerConfigError reason when error() returns garbage', async () => {
    const app = createApp();
    const exceptions: unknown[] = [];
    app.on('handle:exception', (payload) => exceptions.push(payload.action));
    const reasons: unknown[] = [];
    app.on('supervisor:restart', (payload) => reasons.push(payload.reason));
    let first = true;
    await app.start([
      defineHandler({
        name: 'Garbage',
        handle() {
          if (first) {
            first = false;
            throw new Error('x');
          }
        },
        error: () => 'please retry' as never,
      }),
    ]);
    await app.dispatch('s', event(1));
    await waitFor(() => reasons.length === 1);
    assert.ok(reasons[0] instanceof HandlerConfigError);
    assert.deepEqual(exceptions, ['stop']);
    await app.stop();
  });

  it('fails a handle that runs past timeoutMs with HandlerTimeoutError', async () => {
    const clock = manualClock();
    const app = createApp({ clock });
    const errors: unknown[] = [];
    await app.start([
      defineHandler({
        name: 'Slow',
        timeoutMs: 100,
        handle: (e) => (e.eventNumber === 1 ? new Promise(() => {}) : undefined),
        error: (err) => {
          errors.push(err);
          return skip();
        },
      }),
    ]);
    await app.dispatch('s', [event(1), event(2)]);
    await flushAsync();
    clock.advance(100);
    await waitFor(() => app.status()[0]?.cursor === 2);
    assert.ok(errors[0] instanceof HandlerTimeoutError);
    assert.equal((errors[0] as HandlerTimeoutError).code, 'HANDLER_TIMEOUT');
    await app.stop();
  });

  it('routes a throwing partitionBy to error like a failing handle', async () => {
    const app = createApp();
    const errors: string[] = [];
    const handled: number[] = [];
    await app.start([
      defineHandler({
        name: 'Router',
        concurrency: 2,
        partitionBy: (e) => {
          if (e.eventNumber === 2) throw new Error('no key');
          return e.streamId;
        },
        handle: (e) => void handled.push(e.eventNumber),
        error: (err) => {
          errors.push((err as Error).message);
          return skip();
        },
      }),
    ]);
    await app.dispatch('s', [event(1), event(2), event(3)]);
    await waitFor(() => app.status()[0]?.cursor === 3);
    assert.deepEqual(errors, ['no key']);
    assert.deepEqual(handled.sort(), [1, 3]);
    await app.stop();
  });

  it('records the last failure in status', async () => {
    const app = createApp();
    await app.start([defineHandler({ name: 'Err', handle: () => { throw new Error('kaput'); }, error: () => skip() })]);
    await app.dispatch('s', event(1));
    await waitFor(() => app.status()[0]?.lastError !== undefined);
    assert.equal(app.status()[0]?.lastError?.message, 'kaput');
    await app.stop();
  });
});
