import { systemClock, type Clock } from '../clock.ts';
import { HandlerConfigError } from '../errors.ts';
import type { EventStore } from '../store/types.ts';
import type { AppOptions } from './types.ts';

const defaults = {
  name: 'herald',
  clock: systemClock,
  batchSize: 1000,
  pollMs: 1000,
  flushEvery: 1000,
  flushAfterMs: 1000,
} satisfies Required<Omit<AppOptions, 'store'>>;

/** App options with defaults applied. */
export interface ResolvedAppOptions {
  readonly store: EventStore | undefined;
  readonly name: string;
  readonly clock: Clock;
  readonly batchSize: number;
  readonly pollMs: number;
  readonly flushEvery: number;
  readonly flushAfterMs: number;
}

/** Validates `createApp` options at once, throwing `HandlerConfigError` naming the field. */
export function resolveAppOptions(options: AppOptions): ResolvedAppOptions {
  if (typeof options !== 'object' || options === null) throw new HandlerConfigError('createApp options must be an object');
  const known = new Set(['store', ...Object.keys(defaults)]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new HandlerConfigError(`unknown app option "${key}" (known: ${[...known].join(', ')})`, key);
  }
  const merged = { ...defaults, ...stripUndefined(options) };
  if (typeof merged.name !== 'string' || merged.name.length === 0) {
    throw new HandlerConfigError(`name must be a non-empty string, got ${JSON.stringify(merged.name)}`, 'name');
  }
  for (const field of ['batchSize', 'flushEvery'] as const) {
    if (!Number.isSafeInteger(merged[field]) || merged[field] < 1) {
      throw new HandlerConfigError(`${field} must be a positive integer, got ${String(merged[field])}`, field);
    }
  }
  for (const field of ['pollMs', 'flushAfterMs'] as const) {
    if (typeof merged[field] !== 'number' || !Number.isFinite(merged[field]) || merged[field] < 0) {
      throw new HandlerConfigError(`${field} must be a non-negative number, got ${String(merged[field])}`, field);
    }
  }
  const store = options.store;
  if (store !== undefined && (typeof store !== 'object' || store === null || typeof store.append !== 'function')) {
    throw new HandlerConfigError('store must be an EventStore (inMemoryStore() or postgresStore(...))', 'store');
  }
  return { ...merged, store };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
