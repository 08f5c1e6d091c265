/** Parses the CLI's arguments with `node:util` `parseArgs`: the command, its positionals and its options. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad usage: the CLI prints the message and exits with 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

const common = {
  url: { type: 'string' },
  schema: { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/** Options per command key, besides the common ones. */
const commands: Readonly<Record<string, { options: Options; positionals: number }>> = {
  status: { options: { json: { type: 'boolean' } }, positionals: 0 },
  'dead-letters list': { options: { handler: { type: 'string' }, json: { type: 'boolean' } }, positionals: 0 },
  'dead-letters replay': { options: { handler: { type: 'string' }, all: { type: 'boolean' }, timeout: { type: 'string' }, json: { type: 'boolean' } }, positionals: 1 },
  'dead-letters delete': { options: { json: { type: 'boolean' } }, positionals: 1 },
  reset: { options: { to: { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean' } }, positionals: 1 },
  prune: { options: { 'dead-letters-older-than': { type: 'string' }, json: { type: 'boolean' } }, positionals: 0 },
  migrate: { options: {}, positionals: 0 },
  dashboard: { options: { port: { type: 'string' }, host: { type: 'string' }, token: { type: 'string' } }, positionals: 0 },
};

/** A parsed command line. */
export interface Parsed {
  /** `'status'`, `'dead-letters list'`, ...; `''` when none was given; `'dead-letters'` for the group alone. */
  readonly command: string;
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
}

const allOptions: Options = Object.assign({}, common, ...Object.values(commands).map((c) => c.options)) as Options;

/** Parses `argv` (without node and the script); throws {@link UsageError} naming what is wrong. */
export function parseCommandLine(argv: readonly string[]): Parsed {
  // A first, lenient pass finds the command words wherever the options are.
  const loose = parseArgs({ args: [...argv], options: allOptions, strict: false, allowPositionals: true });
  const words = loose.positionals;
  let command = words[0] ?? '';
  let rest = words.slice(1);
  if (command === 'dead-letters') {
    const sub = words[1];
    if (sub !== undefined) {
      command = `dead-letters ${sub}`;
      rest = words.slice(2);
    }
  }
  if (command === '' || command === 'dead-letters' || (loose.values.help === true && !(command in commands))) {
    if (command !== '' && command !== 'dead-letters') throw new UsageError(`unknown command "${command}" (see herald --help)`);
    return { command, positionals: [], values: { help: loose.values.help === true || command === '' || command === 'dead-letters' } };
  }
  const spec = commands[command];
  if (spec === undefined) {
    const what = command.startsWith('dead-letters ') ? `unknown dead-letters command "${command.slice(13)}" (list, replay or delete)` : `unknown command "${command}"`;
    throw new UsageError(`${what} (see herald --help)`);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...common, ...spec.options }, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(`${command}: ${conciseParseError(error)}`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help !== true && rest.length > spec.positionals) {
    throw new UsageError(`${command}: unexpected argument "${rest[spec.positionals] ?? ''}"`);
  }
  if (values.help !== true) checkUsage(command, rest, values);
  return { command, positionals: rest, values };
}

/** Usage a command needs before it connects: required arguments and the form of option values. */
function checkUsage(command: string, positionals: readonly string[], values: Readonly<Record<string, string | boolean | undefined>>): void {
  const [first] = positionals;
  if (command === 'reset' && first === undefined) throw new UsageError('reset: missing <handler>');
  if (command === 'dead-letters delete' && first === undefined) throw new UsageError('dead-letters delete: missing <id>');
  if (command === 'dead-letters replay') {
    if (values.all === true && (values.handler === undefined || first !== undefined)) throw new UsageError('dead-letters replay: give either <id>, or --handler H --all');
    if (values.all !== true && first === undefined) throw new UsageError('dead-letters replay: missing <id> (or --handler H --all)');
    if (values.all !== true && values.handler !== undefined) throw new UsageError('dead-letters replay: --handler needs --all');
  }
  if (command === 'prune' && values['dead-letters-older-than'] === undefined) throw new UsageError('prune: missing --dead-letters-older-than <duration> (e.g. 30d)');
  for (const option of ['timeout', 'dead-letters-older-than'] as const) {
    const text = values[option];
    if (typeof text === 'string') parseDuration(text, `--${option}`);
  }
  const to = values.to;
  if (typeof to === 'string' && to !== 'origin' && to !== 'current' && !(/^\d+$/.test(to) && Number.isSafeInteger(Number(to)))) {
    throw new UsageError(`reset: --to must be origin, current or an event number, got "${to}"`);
  }
  const port = values.port;
  if (typeof port === 'string' && !(/^\d+$/.test(port) && Number(port) <= 65_535)) throw new UsageError(`dashboard: --port must be a port number (0-65535), got "${port}"`);
  const token = values.token;
  if (typeof token === 'string' && token.length < 16) throw new UsageError('dashboard: --token must be at least 16 characters');
}

function conciseParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // parseArgs appends advice about '--' to some messages; the first sentence says what is wrong.
  const line = message.split('\n')[0] ?? message;
  return (line.split('. ')[0] ?? line).replace(/\.$/, '');
}

/** Parses a duration such as `30d`, `12h`, `90m`, `45s` or `500ms` into ms; throws {@link UsageError} naming `option`. */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (match === null) throw new UsageError(`${option} must be a duration such as 30d, 12h, 90m, 45s or 500ms, got "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(match[1]) * unit);
}
