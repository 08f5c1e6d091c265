/** Telemetry: a throwing listener never disturbs the runtime, and its exception is reported, not swallowed. */
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { createApp, defineHandler, inMemoryStore, telemetryChannel, type ListenerErrorPayload } from '../src/index.ts';
import { createTelemetry } from '../src/telemetry/emitter.ts';

describe('telemetry listener exceptions', () => {
  it('reports an app.on listener that throws as telemetry:listener_error, and the other listeners still run', () => {
    const telemetry = createTelemetry('shop');
    const reports: ListenerErrorPayload[] = [];
    const seen: string[] = [];
    const boom = new Error('listener bug');
    telemetry.on('telemetry:listener_error', (payload) => reports.push(payload));
    telemetry.on('store:warning', () => {
      throw boom;
    });
    telemetry.on('store:warning', ({ message }) => seen.push(message));
    telemetry.emit('store:warning', { app: 'shop', message: 'read failed' });
    assert.deepEqual(seen, ['read failed']);
    assert.deepEqual(reports, [{ app: 'shop', event: 'store:warning', error: boom }]);
  });

  it('publishes the report on the herald:telemetry:listener_error channel too', () => {
    const telemetry = createTelemetry('shop');
    const published: unknown[] = [];
    const onReport = (message: unknown): void => void published.push(message);
    diagnosticsChannel.subscribe(telemetryChannel('telemetry:listener_error').name, onReport);
    try {
      telemetry.on('handler:state', () => {
        throw new Error('bad listener');
      });
      telemetry.emit('handler:state', { app: 'shop', handlerName: 'H', from: 'starting', to: 'live' });
    } finally {
      diagnosticsChannel.unsubscribe(telemetryChannel('telemetry:listener_error').name, onReport);
    }
    assert.equal(published.length, 1);
    assert.equal((published[0] as ListenerErrorPayload).event, 'handler:state');
  });

  it('drops the exception of a telemetry:listener_error listener itself (no loop)', () => {
    const telemetry = createTelemetry();
    let calls = 0;
    telemetry.on('telemetry:listener_error', () => {
      calls++;
      throw new Error('the reporter is broken too');
    });
    telemetry.on('store:warning', () => {
      throw new Error('bug');
    });
    assert.doesNotThrow(() => telemetry.emit('store:warning', { app: 'herald', message: 'm' }));
    assert.equal(calls, 1);
  });

  it('in an app: a throwing handle:start listener does not stop the handler, and app.on sees the report', async () => {
    const app = createApp({ name: 'shop', store: inMemoryStore() });
    const reports: ListenerErrorPayload[] = [];
    const handled: number[] = [];
    app.on('telemetry:listener_error', (payload) => reports.push(payload));
    app.on('handle:start', () => {
      throw new Error('listener bug');
    });
    await app.start([defineHandler({ name: 'H', consistency: 'strong', handle: (event) => void handled.push(event.eventNumber) })]);
    try {
      await app.dispatch('s', [{ type: 'A', data: {} }, { type: 'B', data: {} }], { consistency: 'strong' });
      assert.deepEqual(handled, [1, 2]);
      assert.deepEqual(reports.map((report) => [report.app, report.event, (report.error as Error).message]), [
        ['shop', 'handle:start', 'listener bug'],
        ['shop', 'handle:start', 'listener bug'],
      ]);
    } finally {
      await app.stop();
    }
  });
});
