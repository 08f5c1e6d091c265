import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HandlerConfigError } from '../src/errors.ts';
import { resolveSupervisorOptions, supervisor, type SupervisorDefinition } from '../src/supervisor/spec.ts';
import type { ChildSpec } from '../src/supervisor/types.ts';

const handlerLike = { name: 'h' } as unknown as ChildSpec;

function rejects(options: unknown, field: string | undefined): void {
  assert.throws(
    () => supervisor(options as SupervisorDefinition),
    (error: unknown) => error instanceof HandlerConfigError && error.code === 'HANDLER_CONFIG' && error.field === field,
  );
}

describe('supervisor()', () => {
  it('fills in the OTP defaults', () => {
    const spec = supervisor({ name: 'projections', children: [handlerLike] });
    assert.deepEqual(spec, {
      kind: 'supervisor', name: 'projections', strategy: 'one_for_one', maxRestarts: 3, withinMs: 5000,
      restart: 'permanent', children: [handlerLike],
    });
  });

  it('keeps every option given', () => {
    const nested = supervisor({ name: 'inner', children: [] });
    const spec = supervisor({
      name: 'outer', strategy: 'rest_for_one', maxRestarts: 0, withinMs: 0.5, restart: 'transient',
      children: [nested, [handlerLike as never, { concurrency: 2 }]],
    });
    assert.equal(spec.strategy, 'rest_for_one');
    assert.equal(spec.maxRestarts, 0);
    assert.equal(spec.withinMs, 0.5);
    assert.equal(spec.restart, 'transient');
    assert.equal(spec.children.length, 2);
  });

  it('copies the children array, so later changes to it do not leak in', () => {
    const children: ChildSpec[] = [handlerLike];
    const spec = supervisor({ name: 's', children });
    children.push(handlerLike);
    assert.equal(spec.children.length, 1);
  });

  it('accepts an empty list of children', () => {
    assert.deepEqual(supervisor({ name: 's', children: [] }).children, []);
  });

  it('rejects options that are not an object', () => {
    rejects(undefined, undefined);
    rejects('projections', undefined);
  });

  it('rejects a missing or empty name', () => {
    rejects({ children: [] }, 'name');
    rejects({ name: '', children: [] }, 'name');
    rejects({ name: '   ', children: [] }, 'name');
    rejects({ name: 42, children: [] }, 'name');
  });

  it('rejects an unknown option, naming it', () => {
    rejects({ name: 's', children: [], maxRestart: 3 }, 'maxRestart');
  });

  it('rejects an unknown strategy', () => {
    rejects({ name: 's', children: [], strategy: 'one_for_some' }, 'strategy');
    rejects({ name: 's', children: [], strategy: 'simple_one_for_one' }, 'strategy');
  });

  it('rejects maxRestarts that is not a non-negative integer', () => {
    for (const maxRestarts of [-1, 1.5, Number.NaN, Infinity, '3', null]) rejects({ name: 's', children: [], maxRestarts }, 'maxRestarts');
  });

  it('rejects withinMs that is not a positive finite number', () => {
    for (const withinMs of [0, -5, Infinity, Number.NaN, '5000', null]) rejects({ name: 's', children: [], withinMs }, 'withinMs');
  });

  it('rejects children that is not an array', () => {
    rejects({ name: 's' }, 'children');
    rejects({ name: 's', children: handlerLike }, 'children');
  });

  it('rejects a child that is neither an object nor a pair', () => {
    rejects({ name: 's', children: [null] }, 'children');
    rejects({ name: 's', children: ['OrderProjector'] }, 'children');
    rejects({ name: 's', children: [[handlerLike]] }, 'children');
    rejects({ name: 's', children: [[handlerLike, {}, {}]] }, 'children');
  });

  it('rejects a bad restart type', () => {
    rejects({ name: 's', children: [], restart: 'sometimes' }, 'restart');
    rejects({ name: 's', children: [], restart: null }, 'restart');
  });

  it('names the supervisor in the message', () => {
    assert.throws(() => supervisor({ name: 'billing', children: [], strategy: 'x' } as never), /supervisor "billing"/);
  });
});

describe('resolveSupervisorOptions()', () => {
  it("defaults the root's options, named after the given default", () => {
    assert.deepEqual(resolveSupervisorOptions(undefined, 'root'), {
      name: 'root', strategy: 'one_for_one', maxRestarts: 3, withinMs: 5000, restart: 'permanent',
    });
  });

  it('keeps the options given', () => {
    const resolved = resolveSupervisorOptions({ name: 'tenant-a', strategy: 'one_for_all', maxRestarts: 1, withinMs: 100 }, 'root');
    assert.deepEqual(resolved, { name: 'tenant-a', strategy: 'one_for_all', maxRestarts: 1, withinMs: 100, restart: 'permanent' });
  });

  it('validates like supervisor()', () => {
    const field = (options: unknown): string | undefined => {
      try {
        resolveSupervisorOptions(options as never, 'root');
      } catch (error) {
        assert.ok(error instanceof HandlerConfigError);
        return error.field;
      }
      assert.fail('expected a HandlerConfigError');
    };
    assert.equal(field({ strategy: 'nope' }), 'strategy');
    assert.equal(field({ maxRestarts: -1 }), 'maxRestarts');
    assert.equal(field({ withinMs: 0 }), 'withinMs');
    assert.equal(field({ name: '' }), 'name');
    assert.equal(field({ children: [] }), 'children');
    assert.equal(field({ restart: 'temporary' }), 'restart');
    assert.equal(field(7), undefined);
  });
});
