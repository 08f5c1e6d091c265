import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTraceState, TraceFlags } from '@opentelemetry/api';
import { contextFromMetadata, traceMetadata } from '../src/otel/trace-context.ts';

const traceId = '0af7651916cd43dd8448eb211c80319c';
const spanId = 'b7ad6b7169203331';

describe('W3C trace context in event metadata', () => {
  it('writes traceparent and tracestate, and reads them back as a remote parent', () => {
    const written = traceMetadata({ traceId, spanId, traceFlags: TraceFlags.SAMPLED, traceState: createTraceState('vendor=abc') });
    assert.deepEqual(written, { traceparent: `00-${traceId}-${spanId}-01`, tracestate: 'vendor=abc' });
    const read = contextFromMetadata(written);
    assert.equal(read?.traceId, traceId);
    assert.equal(read?.spanId, spanId);
    assert.equal(read?.traceFlags, TraceFlags.SAMPLED);
    assert.equal(read?.isRemote, true);
    assert.equal(read?.traceState?.get('vendor'), 'abc');
  });

  it('writes nothing for an invalid span context', () => {
    assert.deepEqual(traceMetadata({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 }), {});
  });

  it('ignores missing, malformed or invalid traceparents', () => {
    for (const traceparent of [undefined, 42, '', 'garbage', `ff-${traceId}-${spanId}-01`, `00-${'0'.repeat(32)}-${spanId}-01`, `00-${traceId}-${'0'.repeat(16)}-01`, `00-${traceId.slice(1)}-${spanId}-01`]) {
      assert.equal(contextFromMetadata({ traceparent }), undefined, String(traceparent));
    }
  });

  it('accepts a future version with extra fields and upper case', () => {
    assert.equal(contextFromMetadata({ traceparent: `01-${traceId.toUpperCase()}-${spanId}-00-extra` })?.traceFlags, 0);
  });
});
