import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { SupervisorError, createApp, defineHandler, stop, supervisor, telemetryChannel } from '../src/index.ts';
import { waitFor } from './support/wait.ts';

const failing = (name: string) =>
  defineHandler({ name, handle: () => { throw new Error(`${name} failed`); }, error: () => stop('crash') });

describe('supervision through the app', () => {
  it('rejects app.done with SupervisorError when the root gives up, and status shows nothing running', async () => {
    const app = createApp();
    const giveUps: unknown[] = [];
    app.on('supervisor:giveup', (payload) => giveUps.push(payload.supervisor));
    await app.start([failing('Crashy'), defineHandler({ name: 'Fine', handle() {} })], { maxRestarts: 2, withinMs: 60_000 });
    await app.dispatch('s', { type: 'E', data: {} });
    const error = await app.done.then(() => undefined, (err: unknown) => err);
    assert.ok(error instanceof SupervisorError);
    assert.equal(error.code, 'SUPERVISOR_GAVE_UP');
    assert.equal((error.cause as unknown), 'crash');
    assert.deepEqual(giveUps, ['root']);
    await waitFor(() => app.status().every((s) => s.state === 'stopped' || s.state === 'failed'));
    assert.equal(app.status().find((s) => s.name === 'Crashy')?.restarts, 2);
    await app.stop();
  });

  it('restarts siblings under one_for_all in a nested supervisor', async () => {
    const app = createApp();
    const starts: string[] = [];
    const counted = (name: string) =>
      defineHandler({ name, afterStart: () => void starts.push(name), handle() {} });
    let crashed = false;
    const crashOnce = defineHandler({
      name: 'CrashOnce',
      afterStart: () => void starts.push('CrashOnce'),
      handle() {
        if (!crashed) {
          crashed = true;
          throw new Error('once');
        }
      },
      error: () => stop('once'),
    });
    await app.start([supervisor({ name: 'group', strategy: 'one_for_all', children: [counted('A'), crashOnce, counted('B')] })]);
    await app.dispatch('s', { type: 'E', data: {} });
    await waitFor(() => starts.length === 6, 'all three restarted');
    assert.deepEqual(starts, ['A', 'CrashOnce', 'B', 'A', 'CrashOnce', 'B']);
    await app.stop();
  });

  it('publishes telemetry on diagnostics_channel and app.on, and a throwing listener disturbs nothing', async () => {
    const app = createApp({ name: 'telemetry-app' });
    const channelEvents: string[] = [];
    const onStart = (payload: unknown) => {
      if ((payload as { app: string }).app === 'telemetry-app') channelEvents.push('start');
    };
    diagnosticsChannel.subscribe(telemetryChannel('handle:start').name, onStart);
    const stops: number[] = [];
    app.on('handle:stop', (payload) => stops.push(payload.event.eventNumber));
    app.on('handle:start', () => { throw new Error('listener bug'); });
    const states: string[] = [];
    app.on('handler:state', (payload) => states.push(payload.to));
    const unsubscribe = app.on('handle:stop', () => stops.push(-1));
    unsubscribe();
    await app.start([defineHandler({ name: 'T', handle() {} })]);
    await app.dispatch('s', [{ type: 'E', data: {} }, { type: 'E', data: {} }]);
    await waitFor(() => stops.length === 2);
    diagnosticsChannel.unsubscribe(telemetryChannel('handle:start').name, onStart);
    assert.deepEqual(stops, [1, 2]);
    assert.deepEqual(channelEvents, ['start', 'start']);
    await app.stop();
    assert.ok(states.includes('live'));
    assert.equal(states.at(-1), 'stopped');
  });

  it('reports status fields for each handler', async () => {
    const app = createApp();
    await app.start([defineHandler({ name: 'S', concurrency: 3, handle() {} })]);
    await app.dispatch('s', [{ type: 'E', data: {} }, { type: 'E', data: {} }]);
    await waitFor(() => app.status()[0]?.cursor === 2);
    const [status] = app.status();
    assert.deepEqual(
      { name: status?.name, state: status?.state, cursor: status?.cursor, lag: status?.lag, workers: status?.workers, restarts: status?.restarts },
      { name: 'S', state: 'live', cursor: 2, lag: 0, workers: 3, restarts: 0 },
    );
    await app.stop();
  });
});
