import { systemClock, type Clock } from '../clock.ts';
import { HandlerConfigError } from '../errors.ts';
import type { LeaseSettings } from '../cluster/ownership.ts';
import type { EventStore } from '../store/types.ts';
import { resolveTypedOptions, TYPED_OPTION_NAMES, type ResolvedTypedOptions } from './typed-options.ts';
import type { EventShapes } from '../events/define-events.ts';
import type { AppOptions, NodeOptions } from './types.ts';

const defaults = {
  name: 'herald',
  clock: systemClock,
  batchSize: 1000,
  pollMs: 1000,
  flushEvery: 1000,
  flushAfterMs: 1000,
  storeRetryMs: 300_000,
} satisfies Required<Omit<AppOptions, 'store' | 'node' | (typeof TYPED_OPTION_NAMES)[number]>>;

/** Default lease (a dead process without a stable label keeps its slots this long); a heartbeat every quarter of it. */
const DEFAULT_LEASE_MS = 4000;

/** App options with defaults applied. */
export interface ResolvedAppOptions extends ResolvedTypedOptions {
  readonly store: EventStore | undefined;
  readonly name: string;
  readonly clock: Clock;
  readonly batchSize: number;
  readonly pollMs: number;
  readonly flushEvery: number;
  readonly flushAfterMs: number;
  readonly storeRetryMs: number;
  /** `node.label`, if given. */
  readonly nodeLabel: string | undefined;
  readonly lease: LeaseSettings;
}

/** Validates `createApp` options at once, throwing `HandlerConfigError` naming the field. */
export function resolveAppOptions(options: AppOptions<EventShapes>): ResolvedAppOptions {
  if (typeof options !== 'object' || options === null) throw new HandlerConfigError('createApp options must be an object');
  const known = new Set(['store', 'node', ...TYPED_OPTION_NAMES, ...Object.keys(defaults)]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new HandlerConfigError(`unknown app option "${key}" (known: ${[...known].join(', ')})`, key);
  }
  const { node, events, strictEvents, upcasters, ...rest } = options;
  const merged = { ...defaults, ...stripUndefined(rest) };
  if (typeof merged.name !== 'string' || merged.name.length === 0) {
    throw new HandlerConfigError(`name must be a non-empty string, got ${JSON.stringify(merged.name)}`, 'name');
  }
  for (const field of ['batchSize', 'flushEvery'] as const) {
    if (!Number.isSafeInteger(merged[field]) || merged[field] < 1) {
      throw new HandlerConfigError(`${field} must be a positive integer, got ${String(merged[field])}`, field);
    }
  }
  for (const field of ['pollMs', 'flushAfterMs', 'storeRetryMs'] as const) {
    if (typeof merged[field] !== 'number' || !Number.isFinite(merged[field]) || merged[field] < 0) {
      throw new HandlerConfigError(`${field} must be a non-negative number, got ${String(merged[field])}`, field);
    }
  }
  const store = options.store;
  if (store !== undefined && (typeof store !== 'object' || store === null || typeof store.append !== 'function')) {
    throw new HandlerConfigError('store must be an EventStore (inMemoryStore() or postgresStore(...))', 'store');
  }
  return { ...merged, store, ...resolveNode(node), ...resolveTypedOptions({ events, strictEvents, upcasters }) };
}

/** Validates `node`: a label and a lease whose heartbeat comes well before it runs out. */
function resolveNode(node: NodeOptions | undefined): { nodeLabel: string | undefined; lease: LeaseSettings } {
  if (node === undefined) return { nodeLabel: undefined, lease: { leaseMs: DEFAULT_LEASE_MS, heartbeatMs: DEFAULT_LEASE_MS / 4 } };
  if (typeof node !== 'object' || node === null) throw new HandlerConfigError('node must be an object', 'node');
  for (const key of Object.keys(node)) {
    if (!['label', 'leaseMs', 'heartbeatMs'].includes(key)) {
      throw new HandlerConfigError(`unknown node option "${key}" (known: label, leaseMs, heartbeatMs)`, `node.${key}`);
    }
  }
  const { label, leaseMs = DEFAULT_LEASE_MS } = node;
  if (label !== undefined && (typeof label !== 'string' || label === '')) {
    throw new HandlerConfigError(`node.label must be a non-empty string, got ${String(label)}`, 'node.label');
  }
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 100) {
    throw new HandlerConfigError(`node.leaseMs must be an integer of at least 100, got ${String(leaseMs)}`, 'node.leaseMs');
  }
  const heartbeatMs = node.heartbeatMs ?? leaseMs / 4;
  if (typeof heartbeatMs !== 'number' || !Number.isFinite(heartbeatMs) || heartbeatMs <= 0 || heartbeatMs > leaseMs / 2) {
    throw new HandlerConfigError(
      `node.heartbeatMs must be positive and at most half of leaseMs (${leaseMs / 2}), got ${String(heartbeatMs)}`,
      'node.heartbeatMs',
    );
  }
  return { nodeLabel: label, lease: { leaseMs, heartbeatMs } };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
