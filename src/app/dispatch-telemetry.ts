/**
 * `dispatch:start` / `dispatch:stop` around one `app.dispatch`, published only when someone listens (nothing is paid
 * otherwise): the start runs synchronously in the caller's async context; what its listeners put in `metadata` is
 * written into every event.
 */
import type { Clock } from '../clock.ts';
import type { NewEvent } from '../events/types.ts';
import type { Telemetry } from '../telemetry/emitter.ts';
import type { DispatchStartPayload } from '../telemetry/types.ts';

/** One observed dispatch. */
export interface DispatchObservation {
  /** The events with the listeners' metadata entries added. */
  withMetadata(events: NewEvent[]): NewEvent[];
  /** Publishes `dispatch:stop` (`error` when the dispatch rejected). */
  stop(error?: unknown): void;
}

/** Publishes `dispatch:start` and returns the observation; `undefined` (and nothing published) when nobody listens. */
export function observeDispatch(telemetry: Telemetry, clock: Clock, app: string, streamId: string, eventCount: number): DispatchObservation | undefined {
  if (!telemetry.hasListeners('dispatch:start') && !telemetry.hasListeners('dispatch:stop')) return undefined;
  const started = clock.now();
  const start: DispatchStartPayload = { app, streamId, eventCount, metadata: {} };
  telemetry.emit('dispatch:start', start);
  return {
    withMetadata(events) {
      const added = Object.entries(start.metadata).filter(([, value]) => typeof value === 'string');
      if (added.length === 0) return events;
      const extra = Object.fromEntries(added);
      return events.map((event) => ({ ...event, metadata: { ...event.metadata, ...extra } }));
    },
    stop(error) {
      if (!telemetry.hasListeners('dispatch:stop')) return;
      telemetry.emit('dispatch:stop', { app, streamId, eventCount, durationMs: clock.now() - started, error, start });
    },
  };
}
