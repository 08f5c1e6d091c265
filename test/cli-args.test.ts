import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommandLine, parseDuration, UsageError } from '../src/cli/args.ts';
import { oneLine, ranges, table } from '../src/cli/table.ts';

describe('parseCommandLine', () => {
  it('finds the command and its argument wherever the options are', () => {
    const parsed = parseCommandLine(['--url', 'postgres://h/db', 'reset', '--schema', 's', 'Counter', '--to', '12']);
    assert.equal(parsed.command, 'reset');
    assert.deepEqual(parsed.positionals, ['Counter']);
    assert.equal(parsed.values.url, 'postgres://h/db');
    assert.equal(parsed.values.schema, 's');
    assert.equal(parsed.values.to, '12');
  });

  it('reads the dead-letters subcommands', () => {
    assert.equal(parseCommandLine(['dead-letters', 'list', '--handler', 'A', '--json']).command, 'dead-letters list');
    const replay = parseCommandLine(['dead-letters', 'replay', '--handler', 'A', '--all', '--timeout', '5s']);
    assert.equal(replay.command, 'dead-letters replay');
    assert.equal(replay.values.all, true);
  });

  it('asks for help with no command, for the group alone, and with --help anywhere', () => {
    assert.deepEqual(parseCommandLine([]), { command: '', positionals: [], values: { help: true } });
    assert.equal(parseCommandLine(['dead-letters']).values.help, true);
    assert.equal(parseCommandLine(['reset', '--help']).values.help, true, 'no <handler> needed for help');
  });

  it('rejects bad usage with a UsageError naming what is wrong', () => {
    const cases: [string[], RegExp][] = [
      [['frob'], /unknown command "frob"/],
      [['frob', '--help'], /unknown command "frob"/],
      [['dead-letters', 'burn'], /unknown dead-letters command "burn" \(list, replay or delete\)/],
      [['status', '--handler', 'A'], /status: Unknown option '--handler'/],
      [['status', '--json=yes'], /status: Option '--json' does not take an argument/],
      [['reset', 'A', 'B'], /unexpected argument "B"/],
      [['reset'], /reset: missing <handler>/],
      [['dead-letters', 'replay', 'id', '--handler', 'A'], /--handler needs --all/],
      [['dead-letters', 'replay', 'id', '--handler', 'A', '--all'], /give either <id>, or --handler H --all/],
      [['dead-letters', 'replay', '--all'], /give either <id>, or --handler H --all/],
      [['reset', 'A', '--to', '-1'], /reset: Option '--to' argument is ambiguous$/],
      [['reset', 'A', '--to=-1'], /--to must be origin, current or an event number, got "-1"/],
      [['reset', 'A', '--timeout', '10'], /--timeout must be a duration/],
      [['dashboard', '--port', '70000'], /--port must be a port number/],
      [['dashboard', '--token', 'short'], /--token must be at least 16 characters/],
    ];
    for (const [argv, pattern] of cases) assert.throws(() => parseCommandLine(argv), (error: unknown) => error instanceof UsageError && pattern.test(error.message), argv.join(' '));
  });
});

describe('parseDuration', () => {
  it('reads ms, s, m, h and d', () => {
    assert.deepEqual(['500ms', '45s', '90m', '12h', '30d', '1.5h'].map((text) => parseDuration(text, '--x')), [500, 45_000, 5_400_000, 43_200_000, 2_592_000_000, 5_400_000]);
  });

  it('rejects anything else, naming the option and the value', () => {
    for (const text of ['', '30', 'd', '-1d', '3 weeks', '1e3s']) assert.throws(() => parseDuration(text, '--older'), new RegExp(`--older must be a duration .* got "${text}"`));
  });
});

describe('tables', () => {
  it('pads columns to the widest cell', () => {
    assert.equal(table(['A', 'BB'], [['xyz', '1'], ['x', '22']]), 'A    BB\nxyz  1\nx    22');
  });

  it('shows text from events on one line, shortened', () => {
    assert.equal(oneLine('a\nb\tc\u0000d'), 'a b c d');
    assert.equal(oneLine('x'.repeat(10), 5), 'xxxx…');
  });

  it('compacts slot numbers into ranges', () => {
    assert.equal(ranges([3, 0, 1, 2, 7, 9, 10]), '0-3,7,9-10');
    assert.equal(ranges([]), '');
  });
});
