import diagnosticsChannel from 'node:diagnostics_channel';
import type { TelemetryEventName, TelemetryEvents } from './types.ts';

/** Listener of one telemetry event. */
export type TelemetryListener<K extends TelemetryEventName> = (payload: TelemetryEvents[K]) => void;

/**
 * One app's telemetry: a typed emitter that also publishes on `diagnostics_channel` (`herald:<name>`).
 * A listener's exception never disturbs the runtime: it is reported as a `telemetry:listener_error` event (and an
 * exception thrown by a listener of that event is dropped, so a broken reporter cannot loop).
 */
export interface Telemetry {
  /** Publishes `payload` to this app's listeners and to the `herald:<name>` channel. */
  emit<K extends TelemetryEventName>(name: K, payload: TelemetryEvents[K]): void;
  /** Subscribes; returns an unsubscribe function. */
  on<K extends TelemetryEventName>(name: K, listener: TelemetryListener<K>): () => void;
  /** Whether anybody listens, so hot paths can skip building a payload nobody reads. */
  hasListeners(name: TelemetryEventName): boolean;
}

const channels = new Map<TelemetryEventName, diagnosticsChannel.Channel>();

/** The `diagnostics_channel` herald publishes `name` on. */
export function telemetryChannel(name: TelemetryEventName): diagnosticsChannel.Channel {
  let channel = channels.get(name);
  if (channel === undefined) {
    channel = diagnosticsChannel.channel(`herald:${name}`);
    channels.set(name, channel);
  }
  return channel;
}

/** Creates an app's telemetry; `app` names it in `telemetry:listener_error` payloads. */
export function createTelemetry(app = 'herald'): Telemetry {
  const listeners = new Map<TelemetryEventName, Set<(payload: never) => void>>();

  function hasListeners(name: TelemetryEventName): boolean {
    return (listeners.get(name)?.size ?? 0) > 0 || telemetryChannel(name).hasSubscribers;
  }

  /** Reports a listener's exception; one thrown while reporting one is dropped. */
  function onListenerError(event: TelemetryEventName, error: unknown): void {
    if (event === 'telemetry:listener_error' || !hasListeners('telemetry:listener_error')) return;
    emit('telemetry:listener_error', { app, event, error });
  }

  function emit<K extends TelemetryEventName>(name: K, payload: TelemetryEvents[K]): void {
    const local = listeners.get(name);
    if (local !== undefined) {
      for (const listener of local) {
        try {
          (listener as TelemetryListener<K>)(payload);
        } catch (error) {
          onListenerError(name, error);
        }
      }
    }
    const channel = telemetryChannel(name);
    if (channel.hasSubscribers) {
      try {
        channel.publish(payload);
      } catch (error) {
        // diagnostics_channel rethrows subscriber errors asynchronously; a synchronous throw is still caught here.
        onListenerError(name, error);
      }
    }
  }

  return {
    hasListeners,
    emit,
    on(name, listener) {
      let set = listeners.get(name);
      if (set === undefined) {
        set = new Set();
        listeners.set(name, set);
      }
      const entry = listener as (payload: never) => void;
      set.add(entry);
      return () => {
        set.delete(entry);
      };
    },
  };
}
