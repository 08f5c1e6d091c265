import { PoisonEventError } from '../errors.ts';
import type { RecordedEvent } from '../events/types.ts';
import type { NewDeadLetter, Suspect } from '../store/types.ts';
import type { Telemetry } from '../telemetry/emitter.ts';
import type { HandlerConfig } from './types.ts';

/** What parking an event needs from the worker (a plain or batch worker's env). */
export interface ParkEnv {
  readonly config: HandlerConfig;
  readonly appName: string;
  readonly telemetry: Telemetry;
  readonly workerIndex: number;
  /** Records the dead letter (in the batch's transaction for a transactional handler). */
  deadLetter(deadLetter: NewDeadLetter): Promise<void>;
  recordError(error: unknown): void;
}

/**
 * Parks an event that was in flight each of `crashLimit` times the process died: records a dead letter with a
 * {@link PoisonEventError} (`attempts`: the crashes) without calling `handle`, and emits `handle:poison`. The
 * caller acknowledges it like a skipped event.
 */
export async function parkPoison(
  delivery: { readonly event: RecordedEvent; readonly source?: RecordedEvent | undefined },
  poison: Suspect,
  env: ParkEnv,
): Promise<{ readonly kind: 'skipped' }> {
  const stored = delivery.source ?? delivery.event;
  const error = new PoisonEventError(env.config.name, stored.eventNumber, poison.crashes);
  env.recordError(error);
  await env.deadLetter({
    handlerName: env.config.name,
    event: stored,
    error: { message: error.message, ...(error.stack === undefined ? {} : { stack: error.stack }), code: error.code },
    attempts: poison.crashes,
  });
  if (env.telemetry.hasListeners('handle:poison')) {
    env.telemetry.emit('handle:poison', { app: env.appName, handlerName: env.config.name, workerIndex: env.workerIndex, event: stored, crashes: poison.crashes, error });
  }
  return { kind: 'skipped' };
}
