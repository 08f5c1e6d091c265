import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidEventError } from '../src/errors.ts';
import { MAX_JSON_DEPTH, isPlainObject, stringProblem, toStorableJson } from '../src/events/json.ts';
import { isValidStreamId, normalizeEvents, validateStreamId } from '../src/events/validate.ts';

function ids(): () => string {
  let n = 0;
  return () => `id-${++n}`;
}

function assertInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof InvalidEventError, `expected InvalidEventError, got ${String(error)}`);
    assert.equal(error.code, 'INVALID_EVENT');
    assert.match(error.message, pattern);
    return true;
  });
}

/** Normalizes `data` as the only event of a dispatch and returns the stored data. */
function storedData(data: unknown): unknown {
  return normalizeEvents({ type: 'T', data }, ids())[0]?.data;
}

function assertDataRejected(data: unknown, pattern: RegExp): void {
  assertInvalid(() => normalizeEvents({ type: 'T', data }, ids()), pattern);
}

describe('validateStreamId', () => {
  it('returns a valid stream id', () => {
    assert.equal(validateStreamId('order-1'), 'order-1');
    assert.equal(validateStreamId('a$b'), 'a$b');
  });

  it('rejects an empty, non-string or $-prefixed stream id', () => {
    for (const id of ['', 42, null, undefined, ['order-1']]) assertInvalid(() => validateStreamId(id), /stream id must be a non-empty string not starting with '\$'/);
    assertInvalid(() => validateStreamId('$all'), /reserved names such as '\$all'\), got "\$all"/);
    assertInvalid(() => validateStreamId('$orders'), /got "\$orders"/);
  });

  it('rejects a stream id PostgreSQL cannot store', () => {
    assert.equal(isValidStreamId('a\u0000b'), false);
    assert.equal(isValidStreamId('a\ud800'), false);
    assertInvalid(() => validateStreamId('a\u0000b'), /stream id/);
  });
});

describe('normalizeEvents', () => {
  it('accepts one event and assigns a new id, empty metadata and a copy of the data', () => {
    const data = { total: 42 };
    const [event, ...rest] = normalizeEvents({ type: 'OrderPlaced', data }, ids());
    assert.deepEqual(rest, []);
    assert.deepEqual(event, { eventId: 'id-1', type: 'OrderPlaced', data: { total: 42 }, metadata: {} });
    assert.notEqual(event?.data, data);
  });

  it('accepts an array of events, in order, keeping a caller eventId', () => {
    const events = normalizeEvents(
      [
        { type: 'A', data: 1, eventId: 'msg-7' },
        { type: 'B', data: null, metadata: { correlationId: 'c1' } },
      ],
      ids(),
    );
    assert.deepEqual(events, [
      { eventId: 'msg-7', type: 'A', data: 1, metadata: {} },
      { eventId: 'id-1', type: 'B', data: null, metadata: { correlationId: 'c1' } },
    ]);
  });

  it('accepts any JSON value as data, including null, strings, numbers, booleans and arrays', () => {
    for (const data of [null, 'text', 0, -1.5, true, false, [], [1, 'a', null], {}]) assert.deepEqual(storedData(data), data);
  });

  it('returns copies the caller cannot change afterwards', () => {
    const data = { items: [{ qty: 1 }] };
    const metadata = { user: { id: 'u1' } };
    const [event] = normalizeEvents({ type: 'T', data, metadata }, ids());
    data.items[0]!.qty = 99;
    data.items.push({ qty: 2 });
    metadata.user.id = 'u2';
    assert.deepEqual(event?.data, { items: [{ qty: 1 }] });
    assert.deepEqual(event?.metadata, { user: { id: 'u1' } });
  });

  it('drops undefined properties and turns undefined and holes in arrays into null, as JSON does', () => {
    // eslint-disable-next-line no-sparse-arrays
    const data = { keep: 1, gone: undefined, list: [1, undefined, , 4] };
    assert.deepEqual(storedData(data), { keep: 1, list: [1, null, null, 4] });
    assert.deepEqual(storedData(data), JSON.parse(JSON.stringify(data)));
  });

  it('stores a Date as its ISO string, also in metadata', () => {
    const at = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6));
    const [event] = normalizeEvents({ type: 'T', data: { at, list: [at] }, metadata: { at } }, ids());
    assert.deepEqual(event?.data, { at: '2024-01-02T03:04:05.006Z', list: ['2024-01-02T03:04:05.006Z'] });
    assert.deepEqual(event?.metadata, { at: '2024-01-02T03:04:05.006Z' });
    assert.equal(storedData(at), '2024-01-02T03:04:05.006Z');
  });

  it('uses toJSON like JSON.stringify, passing the key, and validates what it returns', () => {
    const keys: string[] = [];
    const money = { toJSON: (key: string) => (keys.push(key), { amount: 5, currency: 'EUR' }) };
    assert.deepEqual(storedData({ price: money, list: [money] }), { price: { amount: 5, currency: 'EUR' }, list: [{ amount: 5, currency: 'EUR' }] });
    assert.deepEqual(keys, ['price', '0']);
    class Point {
      constructor(readonly x: number) {}
      toJSON(): unknown { return { x: this.x, bad: 10n }; }
    }
    assertDataRejected({ p: new Point(1) }, /events\[0\]\.data\.p\.bad: BigInt is not JSON/);
  });

  it('accepts a Buffer through its toJSON and boxed primitives as their values', () => {
    assert.deepEqual(storedData({ b: Buffer.from([1, 2]) }), { b: { type: 'Buffer', data: [1, 2] } });
    assert.deepEqual(storedData([new Number(1), new String('s'), new Boolean(false)]), [1, 's', false]);
  });

  it('keeps a __proto__ key as an own property without changing the copy\'s prototype', () => {
    const data = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as unknown;
    const copy = storedData(data) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(copy), Object.prototype);
    assert.deepEqual(Object.keys(copy), ['__proto__', 'a']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(JSON.stringify(copy), '{"__proto__":{"polluted":true},"a":1}');
  });

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { v: 1 };
    assert.deepEqual(storedData({ a: shared, b: [shared, shared] }), { a: { v: 1 }, b: [{ v: 1 }, { v: 1 }] });
  });

  it('accepts null-prototype objects and strings with surrogate pairs (emoji)', () => {
    const bare = Object.assign(Object.create(null) as object, { a: '😀' });
    assert.deepEqual(storedData(bare), { a: '😀' });
  });

  it('names the event index and the path of a BigInt', () => {
    const events = [
      { type: 'A', data: {} },
      { type: 'B', data: {} },
      { type: 'C', data: { items: [{ price: 10n }] } },
    ];
    assertInvalid(() => normalizeEvents(events, ids()), /^events\[2\]\.data\.items\[0\]\.price: BigInt is not JSON$/);
  });

  it('rejects functions and symbols, as values or array items, instead of dropping them', () => {
    assertDataRejected({ f: () => 1 }, /events\[0\]\.data\.f: a function is not JSON/);
    assertDataRejected([Symbol('s')], /events\[0\]\.data\[0\]: a symbol is not JSON/);
    assertDataRejected(() => 1, /events\[0\]\.data: a function is not JSON/);
  });

  it('rejects NaN and infinities', () => {
    assertDataRejected({ n: NaN }, /\.data\.n: NaN is not JSON/);
    assertDataRejected({ n: Infinity }, /Infinity is not JSON/);
    assertDataRejected([-Infinity], /\.data\[0\]: -Infinity is not JSON/);
  });

  it('rejects a cycle, in objects and arrays', () => {
    const node: Record<string, unknown> = { name: 'n' };
    node.self = node;
    assertDataRejected({ node }, /\.data\.node\.self: a cycle is not JSON/);
    const list: unknown[] = [];
    list.push(list);
    assertDataRejected(list, /\.data\[0\]: a cycle/);
  });

  it('rejects \\u0000 in a string and in a key', () => {
    assertDataRejected({ s: 'a\u0000b' }, /\.data\.s: a string containing \\u0000 cannot be stored/);
    assertDataRejected({ 'a\u0000b': 1 }, /\\u0000 cannot be stored as a key/);
  });

  it('rejects lone surrogates, which PostgreSQL refuses', () => {
    assertDataRejected({ s: 'x\ud800' }, /lone UTF-16 surrogate/);
    assertDataRejected({ s: '\udc00x' }, /lone UTF-16 surrogate/);
  });

  it('rejects Map, Set, Error, typed arrays and class instances without toJSON', () => {
    class Order {
      id = 1;
    }
    const cases: [unknown, RegExp][] = [
      [new Map([[1, 2]]), /a Map is not JSON/],
      [new Set([1]), /a Set is not JSON/],
      [new Error('x'), /an Error is not JSON/],
      [new Uint8Array(2), /a Uint8Array is not JSON/],
      [new Order(), /an Order is not JSON/],
      [Object(1n), /a BigInt is not JSON/],
    ];
    for (const [value, pattern] of cases) assertDataRejected({ v: value }, pattern);
  });

  it('rejects an invalid Date rather than storing null', () => {
    assertDataRejected({ at: new Date(Number.NaN) }, /\.data\.at: Invalid Date is not JSON/);
  });

  it('rejects a toJSON that returns undefined at the top, and reports one that throws with its path', () => {
    assertDataRejected({ toJSON: () => undefined }, /toJSON\(\) returned undefined/);
    assertDataRejected({ deep: { toJSON: () => { throw new Error('nope'); } } }, /\.data\.deep: reading it \(or its toJSON\(\)\) threw Error: nope/);
    assertDataRejected({ toJSON: () => { throw new Error('top'); } }, /events\[0\]\.data: its toJSON\(\) threw Error: top/);
  });

  it('reports a throwing getter with its path', () => {
    const data = { get broken(): never { throw new TypeError('no access'); } };
    assertDataRejected({ outer: data }, /\.data\.outer\.broken: reading it .* threw TypeError: no access/);
  });

  it('quotes path segments that are not identifiers', () => {
    assertDataRejected({ 'order items': [{ 'unit-price': NaN }] }, /\.data\["order items"\]\[0\]\["unit-price"\]: NaN/);
  });

  it(`rejects nesting deeper than ${MAX_JSON_DEPTH} levels instead of overflowing the stack`, () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH + 1; i++) deep = [deep];
    assertDataRejected(deep, /nested deeper than 1000 levels/);
    let ok: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH; i++) ok = { a: ok };
    assert.doesNotThrow(() => storedData(ok));
  });

  it('honours a BigInt.prototype.toJSON polyfill, as JSON.stringify does', () => {
    const proto = BigInt.prototype as unknown as { toJSON?: () => string };
    proto.toJSON = function (this: bigint) { return this.toString(); };
    try {
      assert.deepEqual(storedData({ big: 12345678901234567890n }), { big: '12345678901234567890' });
    } finally {
      delete proto.toJSON;
    }
  });

  it('requires data, suggesting null', () => {
    assertInvalid(() => normalizeEvents({ type: 'T' }, ids()), /events\[0\]\.data is required .*use null/);
  });

  it('rejects an event that is not an object', () => {
    for (const event of [null, 'OrderPlaced', 42]) assertInvalid(() => normalizeEvents(event, ids()), /events\[0\] must be an object/);
    assertInvalid(() => normalizeEvents([{ type: 'A', data: 1 }, null], ids()), /events\[1\] must be an object/);
  });

  it('rejects an empty array and reports a hole in a sparse array', () => {
    assertInvalid(() => normalizeEvents([], ids()), /non-empty array/);
    // eslint-disable-next-line no-sparse-arrays
    assertInvalid(() => normalizeEvents([{ type: 'A', data: 1 }, , { type: 'C', data: 1 }], ids()), /events\[1\] must be an object .*got undefined/);
  });

  it('rejects a missing, empty or non-string type', () => {
    for (const type of [undefined, '', 7, null]) {
      assertInvalid(() => normalizeEvents({ type, data: 1 }, ids()), /events\[0\]\.type must be a non-empty string/);
    }
    assertInvalid(() => normalizeEvents({ type: 'a\u0000', data: 1 }, ids()), /type must be a non-empty string \(a string containing \\u0000/);
  });

  it('rejects metadata that is not a plain object', () => {
    for (const metadata of [null, 'm', [1], new Map(), { toJSON: () => 'flat' }]) {
      assertInvalid(() => normalizeEvents({ type: 'T', data: 1, metadata }, ids()), /events\[0\]\.metadata/);
    }
    assertInvalid(() => normalizeEvents({ type: 'T', data: 1, metadata: { f: () => 1 } }, ids()), /events\[0\]\.metadata\.f: a function is not JSON/);
  });

  it('rejects an eventId that is not a non-empty string of at most 200 characters', () => {
    for (const eventId of ['', 42, null, 'x'.repeat(201), 'a\u0000']) {
      assertInvalid(() => normalizeEvents({ type: 'T', data: 1, eventId }, ids()), /events\[0\]\.eventId must be a non-empty string of at most 200 characters/);
    }
    assert.equal(normalizeEvents({ type: 'T', data: 1, eventId: 'x'.repeat(200) }, ids())[0]?.eventId.length, 200);
  });

  it('calls newId only for events without an eventId', () => {
    let calls = 0;
    normalizeEvents([{ type: 'A', data: 1, eventId: 'given' }, { type: 'B', data: 2 }], () => `gen-${++calls}`);
    assert.equal(calls, 1);
  });
});

describe('json helpers', () => {
  it('isPlainObject accepts only object literals and null-prototype objects', () => {
    assert.equal(isPlainObject({}), true);
    assert.equal(isPlainObject(Object.create(null)), true);
    for (const value of [[], new Date(), null, 'x', new (class {})()]) assert.equal(isPlainObject(value), false);
  });

  it('stringProblem accepts surrogate pairs and ordinary text', () => {
    assert.equal(stringProblem('plain ascii'), undefined);
    assert.equal(stringProblem('pair 😀 ok'), undefined);
    assert.match(stringProblem('\ud83d') ?? '', /lone/);
  });

  it('copies plain values of every depth as JSON would, without sharing a single object with the input', () => {
    let deep: unknown = { leaf: ['x', 1, true, null] };
    for (let i = 0; i < 60; i++) deep = i % 2 === 0 ? { level: i, next: deep } : [deep, i];
    const values: unknown[] = [
      { orderId: 'order-1', amount: 12.5, lines: [{ sku: 'A', qty: 2 }, { sku: 'B', qty: 1 }], paid: false, note: null },
      [[], {}, [[[]]], ''],
      deep,
      { mixed: [{ at: new Date(0) }, { ok: 1 }], gone: undefined },
    ];
    for (const value of values) {
      const copy = toStorableJson(value, 'data');
      assert.deepEqual(copy, JSON.parse(JSON.stringify(value)));
      const inputs = new Set<unknown>();
      const collect = (v: unknown, into: Set<unknown>): void => {
        if (typeof v !== 'object' || v === null) return;
        into.add(v);
        for (const item of Object.values(v)) collect(item, into);
      };
      collect(value, inputs);
      const outputs = new Set<unknown>();
      collect(copy, outputs);
      for (const object of outputs) assert.ok(!inputs.has(object), 'the copy shares no object with the input');
    }
  });

  it('toStorableJson starts messages with the label given', () => {
    assertInvalid(() => toStorableJson({ a: NaN }, 'payload'), /^payload\.a: NaN is not JSON$/);
    assertInvalid(() => toStorableJson(undefined, 'payload'), /^payload: undefined is not JSON/);
  });
});
