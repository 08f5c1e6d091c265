import type { PartitionKey } from './types.ts';

/**
 * Maps a partition key to a worker index: a stable FNV-1a hash of the key's string form modulo the
 * number of workers, so the same key always lands on the same worker (across restarts and processes).
 */
export function workerForKey(key: PartitionKey, workers: number): number {
  const text = typeof key === 'number' ? `n:${key}` : key;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % workers;
}
