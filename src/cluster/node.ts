import { hostname } from 'node:os';
import { monotonicFactory } from 'ulid';
import type { NodeIdentity } from '../store/types.ts';

const newId = monotonicFactory();

/**
 * This app run's identity among the processes running the same handlers: a fresh ULID (so a restarted process
 * is a new member, ordered after the ones already running) and a label for people, `host:pid` by default.
 */
export function createNodeIdentity(label?: string): NodeIdentity {
  return Object.freeze({ id: newId(), label: label ?? `${hostname()}:${process.pid}` });
}
