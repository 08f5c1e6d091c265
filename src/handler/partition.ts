import type { PartitionKey } from './types.ts';

/**
 * Maps a partition key to a worker index: a stable FNV-1a hash of the key's string form modulo the
 * number of workers, so the same key always lands on the same worker (across restarts and processes).
 */
export function workerForKey(key: PartitionKey, workers: number): number {
  return hashKey(key) % workers;
}

/**
 * Maps a partition key to one of `slots` slots, stable across processes. It takes the hash's high bits
 * (where {@link workerForKey} takes the low ones), so a process owning a range of slots still spreads
 * its keys over all its workers.
 */
export function slotForKey(key: PartitionKey, slots: number): number {
  // FNV-1a's high bits barely depend on the last characters ('k1' … 'k9' share them): mix first (murmur3's finalizer).
  let hash = hashKey(key);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return Math.floor(((hash >>> 0) / 0x1_0000_0000) * slots);
}

/** 32-bit FNV-1a hash of a key's string form (numbers prefixed, so 1 and '1' differ). */
function hashKey(key: PartitionKey): number {
  const text = typeof key === 'number' ? `n:${key}` : key;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
