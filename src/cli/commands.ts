/** The CLI's commands: each takes the parsed command line and an output, and returns the exit code. */
import { HandlerConfigError } from '../errors.ts';
import { readStatus, requireHandler } from '../ops/status.ts';
import { requestReplay, requestReset, type ResetTarget } from '../ops/requests.ts';
import type { PostgresStore } from '../store/postgres/index.ts';
import { parseDuration, UsageError, type Parsed } from './args.ts';
import { oneLine, ranges, table } from './table.ts';

/** Where commands write. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/** What a command gets. */
export interface CommandContext {
  readonly parsed: Parsed;
  readonly store: PostgresStore;
  readonly io: Output;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM); long-running commands end then. */
  readonly interrupted: Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 30_000;

const json = (value: unknown): string => JSON.stringify(value, null, 2);
const str = (value: string | boolean | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

function timeoutOf(parsed: Parsed): number {
  const text = str(parsed.values.timeout);
  return text === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(text, '--timeout');
}

async function status({ parsed, store, io }: CommandContext): Promise<number> {
  const report = await readStatus(store);
  if (parsed.values.json === true) {
    io.out(json(report));
    return 0;
  }
  io.out(`head ${report.head}`);
  if (report.handlers.length === 0) {
    io.out('no handlers registered in this schema');
    return 0;
  }
  io.out(table(
    ['HANDLER', 'STATE', 'CURSOR', 'LAG', 'SLOTS', 'DEAD', 'MEMBERS'],
    report.handlers.map((h) => [
      oneLine(h.name, 40), h.state, String(h.cursor), String(h.lag), String(h.slots), String(h.deadLetters),
      h.members.length === 0 ? '-' : h.members.map((m) => `${oneLine(m.label, 40)} [${ranges(m.slots) || 'standby'}]`).join(', '),
    ]),
  ));
  return 0;
}

async function deadLettersList({ parsed, store, io }: CommandContext): Promise<number> {
  const handler = str(parsed.values.handler);
  if (handler !== undefined) await requireHandler(store, handler);
  const letters = await store.listDeadLetters({ handlerName: handler });
  if (parsed.values.json === true) {
    io.out(json(letters));
    return 0;
  }
  if (letters.length === 0) {
    io.out('no dead letters');
    return 0;
  }
  io.out(table(
    ['ID', 'HANDLER', 'EVENT', 'TYPE', 'STREAM', 'ATTEMPTS', 'DEAD AT', 'ERROR'],
    letters.map((d) => [
      d.id, oneLine(d.handlerName, 30), String(d.event.eventNumber), oneLine(d.event.type, 30), oneLine(d.event.streamId, 30),
      String(d.attempts), d.deadAt.toISOString(), oneLine(d.error.message, 60),
    ]),
  ));
  return 0;
}

async function deadLettersReplay({ parsed, store, io }: CommandContext): Promise<number> {
  const timeoutMs = timeoutOf(parsed);
  const handler = str(parsed.values.handler);
  const [id] = parsed.positionals;
  let ids: string[];
  if (parsed.values.all === true) {
    if (handler === undefined || id !== undefined) throw new UsageError('dead-letters replay: give either <id>, or --handler H --all');
    await requireHandler(store, handler);
    ids = (await store.listDeadLetters({ handlerName: handler })).map((d) => d.id);
    if (ids.length === 0) {
      io.out(`no dead letters of "${handler}"`);
      return 0;
    }
  } else {
    if (id === undefined) throw new UsageError('dead-letters replay: missing <id> (or --handler H --all)');
    if (handler !== undefined) throw new UsageError('dead-letters replay: --handler needs --all');
    ids = [id];
  }
  let failed = 0;
  for (const each of ids) {
    try {
      const result = await requestReplay(store, each, { timeoutMs });
      io.out(result.state === 'queued'
        ? `${each}: queued; no process runs the handler now, the next one to start it replays it`
        : `${each}: ${result.outcome}`);
    } catch (error) {
      if (ids.length === 1) throw error;
      failed++;
      io.err(`${each}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

async function deadLettersDelete({ parsed, store, io }: CommandContext): Promise<number> {
  const [id] = parsed.positionals;
  if (id === undefined) throw new UsageError('dead-letters delete: missing <id>');
  if (!(await store.removeDeadLetter(id))) throw new HandlerConfigError(`no dead letter with id ${JSON.stringify(id)}`, 'id');
  io.out(`deleted ${id}`);
  return 0;
}

function resetTarget(text: string | undefined): ResetTarget {
  if (text === undefined) return 'initial';
  if (text === 'origin' || text === 'current') return text;
  if (/^\d+$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  throw new UsageError(`reset: --to must be origin, current or an event number, got "${text}"`);
}

async function reset({ parsed, store, io }: CommandContext): Promise<number> {
  const [handler] = parsed.positionals;
  if (handler === undefined) throw new UsageError('reset: missing <handler>');
  const to = resetTarget(str(parsed.values.to));
  const timeoutMs = timeoutOf(parsed);
  const result = await requestReset(store, handler, { to, timeoutMs });
  if (parsed.values.json === true) io.out(json({ handler, ...result }));
  else if (result.by === 'direct') io.out(`reset ${handler}: no process runs it; cursors moved to ${String(result.position)} (beforeReset did not run)`);
  else io.out(`reset ${handler}: done by the processes running it; cursors at ${String(result.position)}`);
  return 0;
}

async function prune({ parsed, store, io }: CommandContext): Promise<number> {
  const text = str(parsed.values['dead-letters-older-than']);
  if (text === undefined) throw new UsageError('prune: missing --dead-letters-older-than <duration> (e.g. 30d)');
  const olderThan = new Date(Date.now() - parseDuration(text, '--dead-letters-older-than'));
  const count = await store.pruneDeadLetters(olderThan);
  io.out(parsed.values.json === true ? json({ pruned: count }) : `pruned ${count} dead letter${count === 1 ? '' : 's'} older than ${text}`);
  return 0;
}

async function migrate({ store, io }: CommandContext): Promise<number> {
  await store.migrate();
  io.out(`schema "${store.schema}" is migrated`);
  return 0;
}

/** Every command but `dashboard` (which lives with the status page). */
export const commandTable: Readonly<Record<string, (context: CommandContext) => Promise<number>>> = {
  status,
  'dead-letters list': deadLettersList,
  'dead-letters replay': deadLettersReplay,
  'dead-letters delete': deadLettersDelete,
  reset,
  prune,
  migrate,
};
