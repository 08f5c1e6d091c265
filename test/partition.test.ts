import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workerForKey } from '../src/handler/partition.ts';

describe('partition hash', () => {
  it('maps the same key to the same worker every time', () => {
    for (const key of ['a', 'order-17', 42, '']) assert.equal(workerForKey(key, 8), workerForKey(key, 8));
  });

  it('stays within the worker range', () => {
    for (let i = 0; i < 1000; i++) {
      const worker = workerForKey(`key-${i}`, 7);
      assert.ok(worker >= 0 && worker < 7);
    }
  });

  it('spreads many keys over all workers', () => {
    const counts = new Array<number>(4).fill(0);
    for (let i = 0; i < 400; i++) counts[workerForKey(`customer-${i}`, 4)]! += 1;
    for (const count of counts) assert.ok(count > 50, `uneven spread ${counts.join(',')}`);
  });

  it('distinguishes the number 1 from the string "1"', () => {
    const differs = Array.from({ length: 50 }, (_, i) => workerForKey(i, 16) !== workerForKey(String(i), 16));
    assert.ok(differs.some(Boolean));
  });
});
