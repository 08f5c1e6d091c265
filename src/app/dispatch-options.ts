import { HandlerConfigError } from '../errors.ts';
import type { ExpectedVersion } from '../events/types.ts';
import type { DispatchOptions } from './types.ts';

const KNOWN_OPTIONS = new Set(['expectedVersion', 'consistency', 'timeoutMs', 'sql']);

/** Dispatch options after validation, with defaults. */
export interface ResolvedDispatchOptions {
  readonly expectedVersion: ExpectedVersion;
  readonly consistency: 'eventual' | 'strong' | readonly string[];
  readonly timeoutMs: number;
  readonly sql: DispatchOptions['sql'];
}

/** Validates `dispatch` options, throwing `HandlerConfigError` naming the bad field. */
export function resolveDispatchOptions(options: DispatchOptions | undefined): ResolvedDispatchOptions {
  if (options === undefined) return { expectedVersion: 'any', consistency: 'eventual', timeoutMs: 5000, sql: undefined };
  if (typeof options !== 'object' || options === null) throw new HandlerConfigError('dispatch options must be an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new HandlerConfigError(`unknown dispatch option "${key}" (known: ${[...KNOWN_OPTIONS].join(', ')})`, key);
    }
  }
  const expectedVersion = options.expectedVersion ?? 'any';
  if (
    !(typeof expectedVersion === 'number' && Number.isSafeInteger(expectedVersion) && expectedVersion >= 0) &&
    expectedVersion !== 'any' && expectedVersion !== 'no_stream' && expectedVersion !== 'stream_exists'
  ) {
    throw new HandlerConfigError(
      `expectedVersion must be a non-negative integer, 'any', 'no_stream' or 'stream_exists', got ${JSON.stringify(expectedVersion)}`,
      'expectedVersion',
    );
  }
  const consistency = options.consistency ?? 'eventual';
  if (
    consistency !== 'eventual' && consistency !== 'strong' &&
    !(Array.isArray(consistency) && consistency.every((name) => typeof name === 'string' && name.length > 0))
  ) {
    throw new HandlerConfigError(
      `consistency must be 'eventual', 'strong' or an array of handler names, got ${JSON.stringify(consistency)}`,
      'consistency',
    );
  }
  const timeoutMs = options.timeoutMs ?? 5000;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new HandlerConfigError(`timeoutMs must be a non-negative number, got ${String(timeoutMs)}`, 'timeoutMs');
  }
  if (options.sql !== undefined && consistency !== 'eventual') {
    throw new HandlerConfigError(
      'consistency other than "eventual" cannot be combined with `sql`: the events become visible only when your transaction commits',
      'consistency',
    );
  }
  return { expectedVersion, consistency, timeoutMs, sql: options.sql };
}

/** Whether a subscription (`'$all'` or one stream id) covers `streamId`. */
export function covers(subscribeTo: string, streamId: string): boolean {
  return subscribeTo === '$all' || subscribeTo === streamId;
}
