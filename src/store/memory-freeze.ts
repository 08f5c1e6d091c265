/**
 * Copy-and-freeze for what the in-memory store keeps: the store owns its copy, frozen once when it is
 * stored, so nobody holding a returned value can change the log through it, and reads need not copy it.
 */

/** Freezes `value` and everything reachable from it, in place; returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}

/**
 * A deep-frozen copy of a JSON value (what an event's `data` and `metadata` are once validated), in one pass:
 * several times cheaper than `structuredClone` on small payloads. As `JSON.stringify` would, it leaves out
 * object properties whose value is `undefined`. Throws a `TypeError` for anything JSON cannot hold
 * (functions, symbols, BigInt, non-finite numbers, `undefined` in an array, non-plain objects such as `Date`).
 */
export function frozenJsonCopy(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${value} is not a JSON number`);
      return value;
    case 'object':
      if (value === null) return null;
      if (Array.isArray(value)) return Object.freeze(value.map(frozenJsonCopy));
      return Object.freeze(copyObject(value));
    default:
      throw new TypeError(`a ${typeof value} is not a JSON value`);
  }
}

function copyObject(value: object): Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new TypeError(`${Object.prototype.toString.call(value)} is not a plain JSON object`);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined) copy[key] = frozenJsonCopy(field);
  }
  return copy;
}

/** A deep-frozen structured clone, for values that hold more than JSON (a dead letter's `Date`s). */
export function frozenCopy<T>(value: T): T {
  return deepFreeze(structuredClone(value));
}
