import { describeValue } from '../describe.ts';
import { InvalidEventError } from '../errors.ts';

/** Deeper nesting is refused: it would overflow the walk's stack (and PostgreSQL's). */
export const MAX_JSON_DEPTH = 1000;

/** Returned by the walk for a value JSON leaves out (an `undefined` property). */
const OMIT: unique symbol = Symbol('omit');
/** Strings that may hold `\u0000` or a surrogate; only those get the slower exact check. */
// eslint-disable-next-line no-control-regex -- \u0000 is precisely what this looks for
const SUSPECT = /[\u0000\ud800-\udfff]/;

/** Why a value is not storable JSON; `segments` grow while the walk unwinds. */
class NotJson extends Error {
  readonly segments: (string | number)[] = [];
}

/**
 * Whether `value` is a plain object: its prototype is `Object.prototype` or `null`.
 * @example
 * isPlainObject({}); // true
 * isPlainObject(new Map()); // false
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Why a string cannot be stored in PostgreSQL (`text` or `jsonb`), or `undefined` when it can:
 * `\u0000` and lone UTF-16 surrogates are refused there.
 * @example
 * stringProblem('a\u0000b'); // 'a string containing \\u0000 cannot be stored'
 */
export function stringProblem(text: string): string | undefined {
  if (!SUSPECT.test(text)) return undefined;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0) return 'a string containing \\u0000 cannot be stored';
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return 'a string containing a lone UTF-16 surrogate cannot be stored';
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return 'a string containing a lone UTF-16 surrogate cannot be stored';
    }
  }
  return undefined;
}

/**
 * Checks that `value` is JSON PostgreSQL's `jsonb` can hold and returns a fresh copy normalized as
 * `JSON.stringify` would: `toJSON()` applied (so a `Date` becomes its ISO string), `undefined`
 * properties left out, `undefined` and holes in arrays turned into `null`. Unlike `JSON.stringify`,
 * it refuses rather than drops or changes: functions, symbols, BigInt (without `toJSON`), NaN and
 * ±Infinity, cycles, invalid Dates, `\u0000` and lone surrogates (in keys too), objects other than
 * plain objects and arrays that have no `toJSON` (Map, Set, Error, class instances), and a top-level
 * `undefined`. Symbol-keyed and non-enumerable properties are ignored, as by JSON.
 * @param label where the value sits, starting the error message (e.g. `events[2].data`).
 * @throws InvalidEventError naming the path and the problem, e.g. `events[2].data.items[0].price: BigInt is not JSON`.
 * @example
 * toStorableJson({ at: new Date(0), gone: undefined }, 'data'); // { at: '1970-01-01T00:00:00.000Z' }
 */
export function toStorableJson(value: unknown, label: string): unknown {
  try {
    const quick = plainCopy(value, 0);
    if (quick !== SLOW) return quick;
  } catch {
    // A getter threw: the full walk reads it again and reports where.
  }
  try {
    const result = walk(value, '', []);
    if (result === OMIT) throw new NotJson('undefined is not JSON (use null for "no value")');
    return result;
  } catch (error) {
    const failure = error instanceof NotJson ? error : new NotJson(`its toJSON() threw ${describeError(error)}`);
    throw new InvalidEventError(`${label}${formatPath(failure.segments)}: ${failure.message}`);
  }
}

/** Returned by {@link plainCopy} for anything it leaves to the full walk. */
const SLOW: unique symbol = Symbol('slow');
/** Deeper values take the full walk, which also finds cycles. */
const PLAIN_COPY_DEPTH = 32;

/**
 * The common case of {@link toStorableJson}, without its bookkeeping (ancestors, paths, `toJSON`): a copy of
 * a value made only of plain objects, arrays, clean strings, finite numbers, booleans and null, or `SLOW`
 * at the first thing that is anything else (an `undefined`, a Date, a suspect string, a deep value...), so
 * that the full walk decides it and words any error. Both give the same copy where this one succeeds.
 */
function plainCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      return SUSPECT.test(value) ? SLOW : value;
    case 'number':
      return Number.isFinite(value) ? value : SLOW;
    case 'boolean':
      return value;
    case 'object':
      break;
    default:
      return SLOW;
  }
  if (value === null) return null;
  if (depth >= PLAIN_COPY_DEPTH || (value as { toJSON?: unknown }).toJSON !== undefined) return SLOW;
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = plainCopy(value[i], depth + 1);
      if (item === SLOW) return SLOW;
      copy[i] = item;
    }
    return copy;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return SLOW;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key === '__proto__' || SUSPECT.test(key)) return SLOW;
    const item = plainCopy((value as Record<string, unknown>)[key], depth + 1);
    if (item === SLOW) return SLOW;
    copy[key] = item;
  }
  return copy;
}

function walk(value: unknown, key: string | number, ancestors: object[]): unknown {
  switch (typeof value) {
    case 'string': {
      const problem = stringProblem(value);
      if (problem !== undefined) throw new NotJson(`${problem}: ${describeValue(value)}`);
      return value;
    }
    case 'number':
      if (!Number.isFinite(value)) throw new NotJson(`${value} is not JSON`);
      return value;
    case 'boolean':
      return value;
    case 'undefined':
      return OMIT;
    case 'object':
      if (value === null) return null;
      return walkObject(value, key, ancestors);
    case 'bigint': {
      // JSON.stringify honours a BigInt.prototype.toJSON (a common polyfill); so does this walk.
      const toJSON: unknown = Reflect.get(BigInt.prototype, 'toJSON');
      if (typeof toJSON === 'function') return walkConverted(toJSON.call(value, String(key)), ancestors);
      throw new NotJson('BigInt is not JSON');
    }
    case 'function':
      throw new NotJson(`a function is not JSON (${describeValue(value)})`);
    case 'symbol':
      throw new NotJson(`a symbol is not JSON (${describeValue(value)})`);
  }
}

function walkObject(value: object, key: string | number, ancestors: object[]): unknown {
  const toJSON: unknown = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON !== 'function') return walkStructure(value, ancestors);
  const converted: unknown = toJSON.call(value, String(key));
  if (converted === null && value instanceof Date) throw new NotJson('Invalid Date is not JSON');
  return walkConverted(converted, ancestors);
}

/** Walks what a `toJSON()` returned: JSON does not call `toJSON` on that value again. */
function walkConverted(converted: unknown, ancestors: object[]): unknown {
  if (typeof converted === 'object' && converted !== null) return walkStructure(converted, ancestors);
  if (converted === undefined) throw new NotJson('toJSON() returned undefined, which is not JSON');
  return walk(converted, '', ancestors);
}

function walkStructure(value: object, ancestors: object[]): unknown {
  if (ancestors.includes(value)) throw new NotJson('a cycle is not JSON (the value contains itself)');
  if (ancestors.length >= MAX_JSON_DEPTH) throw new NotJson(`nested deeper than ${MAX_JSON_DEPTH} levels`);
  ancestors.push(value);
  let result: unknown;
  if (Array.isArray(value)) result = walkArray(value, ancestors);
  else if (isPlainObject(value)) result = walkPlain(value, ancestors);
  else result = unboxed(value);
  ancestors.pop();
  return result;
}

function walkArray(array: readonly unknown[], ancestors: object[]): unknown[] {
  const copy: unknown[] = [];
  let i = 0;
  try {
    for (; i < array.length; i++) {
      const item = walk(array[i], i, ancestors);
      copy.push(item === OMIT ? null : item);
    }
  } catch (error) {
    throw located(error, i);
  }
  return copy;
}

function walkPlain(object: Record<string, unknown>, ancestors: object[]): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  let key = '';
  try {
    for (key of Object.keys(object)) {
      const problem = stringProblem(key);
      if (problem !== undefined) throw new NotJson(`${problem} as a key: ${describeValue(key)}`);
      const item = walk(object[key], key, ancestors);
      if (item === OMIT) continue;
      if (key === '__proto__') Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
      else copy[key] = item;
    }
  } catch (error) {
    throw located(error, key);
  }
  return copy;
}

/** Boxed primitives (`new Number(1)`) stand for their value, as in JSON; other objects are refused. */
function unboxed(value: object): unknown {
  if (value instanceof Number || value instanceof String || value instanceof Boolean) return walk(value.valueOf(), '', []);
  throw new NotJson(`${describeValue(value)} is not JSON (convert it to a plain object or array, or give it a toJSON())`);
}

/** Adds a path segment to a walk failure; an exception from a user's getter or `toJSON` becomes one. */
function located(error: unknown, segment: string | number): NotJson {
  const failure = error instanceof NotJson ? error : new NotJson(`reading it (or its toJSON()) threw ${describeError(error)}`);
  failure.segments.unshift(segment);
  return failure;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : describeValue(error);
}

function formatPath(segments: readonly (string | number)[]): string {
  return segments
    .map((segment) =>
      typeof segment === 'number' ? `[${segment}]` : /^[A-Za-z_$][\w$]*$/.test(segment) ? `.${segment}` : `[${describeValue(segment)}]`,
    )
    .join('');
}
