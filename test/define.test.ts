import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandlerConfigError } from '../src/errors.ts';
import { applyOverrides, defineHandler, isHandlerDefinition, validateHandlerConfig } from '../src/handler/define.ts';
import type { HandlerConfig, HandlerOptions, HandlerOverrides } from '../src/handler/types.ts';

const handle = (): void => {};

function define(extra: Record<string, unknown>): unknown {
  return defineHandler({ name: 'H', handle, ...extra } as HandlerOptions);
}

function assertConfigError(fn: () => unknown, field: string | undefined, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HandlerConfigError, `expected HandlerConfigError, got ${String(error)}`);
    assert.equal(error.code, 'HANDLER_CONFIG');
    assert.equal(error.field, field);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('defineHandler', () => {
  it('applies the defaults to the options not given', () => {
    const { kind, config } = defineHandler({ name: 'Projector', handle });
    assert.equal(kind, 'handler');
    assert.deepEqual(
      { ...config, handle: undefined },
      {
        name: 'Projector',
        startFrom: 'origin',
        subscribeTo: '$all',
        concurrency: 1,
        consistency: 'eventual',
        state: undefined,
        timeoutMs: undefined,
        transactional: false,
        crashLimit: 3,
        handle: undefined,
      },
    );
    assert.equal(config.handle, handle);
    assert.equal('error' in config, false);
  });

  it('keeps every option given', () => {
    const callbacks = { partitionBy: () => 'k', init: (c: HandlerConfig<{ n: number }>) => c, afterStart: () => {}, beforeReset: () => {}, error: () => ({ action: 'skip' as const }) };
    const { config } = defineHandler({
      name: 'Full',
      startFrom: 7,
      subscribeTo: 'orders-1',
      concurrency: 4,
      consistency: 'strong',
      state: { n: 1 },
      timeoutMs: 2500,
      transactional: true,
      handle,
      ...callbacks,
    });
    assert.equal(config.startFrom, 7);
    assert.equal(config.subscribeTo, 'orders-1');
    assert.equal(config.concurrency, 4);
    assert.equal(config.consistency, 'strong');
    assert.deepEqual(config.state, { n: 1 });
    assert.equal(config.timeoutMs, 2500);
    assert.equal(config.transactional, true);
    assert.equal(config.partitionBy, callbacks.partitionBy);
    assert.equal(config.error, callbacks.error);
  });

  it('returns a frozen definition with a frozen config', () => {
    const definition = defineHandler({ name: 'H', handle });
    assert.ok(Object.isFrozen(definition));
    assert.ok(Object.isFrozen(definition.config));
  });

  it('treats an option given as undefined as not given', () => {
    const { config } = define({ concurrency: undefined, startFrom: undefined, error: undefined }) as { config: HandlerConfig };
    assert.equal(config.concurrency, 1);
    assert.equal(config.startFrom, 'origin');
    assert.equal('error' in config, false);
  });

  it("accepts 'current', 0 and a large event number as startFrom", () => {
    for (const startFrom of ['current', 0, Number.MAX_SAFE_INTEGER]) assert.doesNotThrow(() => define({ startFrom }));
  });

  it('rejects options that are not an object', () => {
    for (const options of [undefined, null, 'H', 42, [{ name: 'H', handle }]]) {
      assertConfigError(() => defineHandler(options as unknown as HandlerOptions), undefined, /defineHandler\(\): options must be an object/);
    }
  });

  it('rejects a missing, empty or non-string name', () => {
    for (const name of [undefined, '', '   ', 42, null, 'a\u0000b']) {
      assertConfigError(() => defineHandler({ name, handle } as unknown as HandlerOptions), 'name', /option "name" must be a non-empty string/);
    }
  });

  it('rejects an unknown option, suggesting the closest and listing the known ones', () => {
    assertConfigError(
      () => define({ concurency: 2 }),
      'concurency',
      /handler "H": unknown option "concurency" \(did you mean "concurrency"\?\) \(known options: name, startFrom, .*concurrency/,
    );
    assertConfigError(() => define({ xyz: 1 }), 'xyz', /unknown option "xyz" \(known options/);
  });

  it('rejects a concurrency that is not a positive safe integer', () => {
    for (const concurrency of [0, -1, 1.5, NaN, Infinity, '2', 2 ** 53]) {
      assertConfigError(() => define({ concurrency }), 'concurrency', /"concurrency" must be a positive safe integer, got /);
    }
    assertConfigError(() => define({ concurrency: '2' }), 'concurrency', /got "2"$/);
  });

  it('rejects a bad startFrom', () => {
    for (const startFrom of [-1, 'yesterday', 1.5, null, NaN, 'ORIGIN']) {
      assertConfigError(() => define({ startFrom }), 'startFrom', /'origin', 'current' or a non-negative safe integer/);
    }
  });

  it('rejects a subscribeTo that is neither $all nor a stream id', () => {
    for (const subscribeTo of ['', '$orders', 42, null]) {
      assertConfigError(() => define({ subscribeTo }), 'subscribeTo', /'\$all' or a stream id/);
    }
  });

  it('rejects a consistency other than eventual or strong', () => {
    assertConfigError(() => define({ consistency: 'Strong' }), 'consistency', /'eventual' or 'strong', got "Strong"/);
  });

  it('rejects a timeoutMs that is not a positive finite number of ms', () => {
    for (const timeoutMs of [0, -5, NaN, Infinity, '100', 2 ** 31]) {
      assertConfigError(() => define({ timeoutMs }), 'timeoutMs', /"timeoutMs" must be undefined or a positive number/);
    }
  });

  it('rejects a transactional that is not a boolean', () => {
    assertConfigError(() => define({ transactional: 'yes' }), 'transactional', /a boolean, got "yes"/);
  });

  it('rejects a missing handle or one that is not a function', () => {
    assertConfigError(() => defineHandler({ name: 'H' } as HandlerOptions), 'handle', /"handle" must be a function, got undefined/);
    assertConfigError(() => define({ handle: 'run' }), 'handle', /must be a function, got "run"/);
  });

  it('rejects callbacks that are not functions', () => {
    for (const field of ['partitionBy', 'init', 'afterStart', 'beforeReset', 'error']) {
      assertConfigError(() => define({ [field]: 'nope' }), field, new RegExp(`"${field}" must be a function`));
    }
  });

  it('accepts a class-like object whose methods live on its prototype', () => {
    const proto = { handle() {} };
    const options = Object.assign(Object.create(proto) as object, { name: 'Proto' });
    assert.equal(defineHandler(options as HandlerOptions).config.handle, proto.handle);
  });
});

describe('validateHandlerConfig', () => {
  const base = defineHandler({ name: 'Tenant', handle }).config;

  it('accepts a changed config and returns a frozen copy', () => {
    const config = validateHandlerConfig({ ...base, name: 'Tenant-42' }, 'init() of "Tenant"');
    assert.equal(config.name, 'Tenant-42');
    assert.ok(Object.isFrozen(config));
  });

  it('fills defaults for fields the returned config leaves out', () => {
    const config = validateHandlerConfig({ name: 'Short', handle } as unknown as HandlerConfig, 'init() of "Short"');
    assert.equal(config.concurrency, 1);
  });

  it('names the source and the bad field', () => {
    assertConfigError(
      () => validateHandlerConfig({ ...base, concurrency: 0 }, 'init() of "Tenant"'),
      'concurrency',
      /^init\(\) of "Tenant": option "concurrency" must be a positive safe integer, got 0$/,
    );
  });

  it('rejects a non-object result', () => {
    for (const result of [undefined, null, 'config']) {
      assertConfigError(() => validateHandlerConfig(result as unknown as HandlerConfig, 'init() of "Tenant"'), undefined, /init\(\) of "Tenant": options must be an object/);
    }
  });

  it('rejects an unknown key in the result', () => {
    assertConfigError(() => validateHandlerConfig({ ...base, extra: 1 } as HandlerConfig, 'init() of "T"'), 'extra', /unknown option "extra"/);
  });
});

describe('applyOverrides', () => {
  const mailer = defineHandler({ name: 'Mailer', concurrency: 2, timeoutMs: 1000, handle, error: () => ({ action: 'skip' as const }) });

  it('keeps the definition and a permanent restart without overrides', () => {
    const { config, restart } = applyOverrides(mailer, {});
    assert.equal(restart, 'permanent');
    assert.equal(config.concurrency, 2);
    assert.equal(config.error, mailer.config.error);
  });

  it('applies each overridable option and the restart type', () => {
    const overrides: HandlerOverrides = {
      startFrom: 'current',
      subscribeTo: 'mail-1',
      concurrency: 8,
      consistency: 'strong',
      state: { sent: 0 },
      timeoutMs: 50,
      transactional: true,
      restart: 'transient',
    };
    const { config, restart } = applyOverrides(mailer, overrides);
    assert.equal(restart, 'transient');
    assert.deepEqual(
      [config.startFrom, config.subscribeTo, config.concurrency, config.consistency, config.state, config.timeoutMs, config.transactional],
      ['current', 'mail-1', 8, 'strong', { sent: 0 }, 50, true],
    );
    assert.equal(config.name, 'Mailer');
    assert.ok(Object.isFrozen(config));
    assert.equal(mailer.config.concurrency, 2, 'the definition itself is unchanged');
  });

  it('clears the timeout with timeoutMs: undefined, but keeps other options given as undefined', () => {
    const { config } = applyOverrides(mailer, { timeoutMs: undefined, concurrency: undefined } as unknown as HandlerOverrides);
    assert.equal(config.timeoutMs, undefined);
    assert.equal(config.concurrency, 2);
  });

  it('accepts temporary as a restart type and treats missing overrides as none', () => {
    assert.equal(applyOverrides(mailer, { restart: 'temporary' }).restart, 'temporary');
    assert.equal(applyOverrides(mailer, undefined as unknown as HandlerOverrides).restart, 'permanent');
  });

  it('refuses to change the name, handle or a callback', () => {
    for (const key of ['name', 'handle', 'error', 'init', 'partitionBy', 'afterStart', 'beforeReset']) {
      assertConfigError(
        () => applyOverrides(mailer, { [key]: 'x' } as HandlerOverrides),
        key,
        new RegExp(`overrides of handler "Mailer" cannot change "${key}"`),
      );
    }
  });

  it('rejects an unknown override key', () => {
    assertConfigError(() => applyOverrides(mailer, { restrat: 'transient' } as HandlerOverrides), 'restrat', /unknown option "restrat" \(did you mean "restart"\?\)/);
  });

  it('rejects bad override values', () => {
    assertConfigError(() => applyOverrides(mailer, { concurrency: 0 }), 'concurrency', /positive safe integer, got 0/);
    assertConfigError(() => applyOverrides(mailer, { restart: 'always' } as unknown as HandlerOverrides), 'restart', /'permanent', 'transient' or 'temporary', got "always"/);
    assertConfigError(() => applyOverrides(mailer, { startFrom: -1 }), 'startFrom', /got -1/);
  });

  it('rejects overrides that are not an object', () => {
    assertConfigError(() => applyOverrides(mailer, 4 as unknown as HandlerOverrides), undefined, /must be an object, got 4/);
  });

  it('rejects something that is not a handler definition', () => {
    assertConfigError(() => applyOverrides({ kind: 'supervisor' } as unknown as typeof mailer, {}), undefined, /expected a handler from defineHandler/);
  });

  it('validates a hand-built definition in full', () => {
    const forged = { kind: 'handler', config: { name: 'Forged', handle, concurrency: -3 } } as unknown as typeof mailer;
    assertConfigError(() => applyOverrides(forged, {}), 'concurrency', /got -3/);
  });
});

describe('isHandlerDefinition', () => {
  it('recognizes a definition and rejects anything else', () => {
    assert.equal(isHandlerDefinition(defineHandler({ name: 'A', handle })), true);
    for (const value of [null, undefined, {}, { kind: 'handler' }, { kind: 'handler', config: { name: 'A' } }, { kind: 'supervisor', config: { name: 'A', handle } }, 'handler']) {
      assert.equal(isHandlerDefinition(value), false);
    }
  });
});
