/** Runs one CLI invocation: parse, open the store, check the schema, run the command, report, close. */
import { migrations } from '../store/postgres/migrations/index.ts';
import { postgresStore, type PostgresStore } from '../store/postgres/index.ts';
import { parseCommandLine, UsageError, type Parsed } from './args.ts';
import { commandTable, type Output } from './commands.ts';
import { runDashboard } from './dashboard.ts';
import { help } from './help.ts';

/** What one invocation gets from its process. */
export interface CliEnvironment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly io: Output;
  /** Resolves on SIGINT/SIGTERM. */
  readonly interrupted: Promise<void>;
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

/** A one-line reason for a failure, naming the database when it could not be reached. */
function reason(error: unknown, url: string): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'CONNECT_TIMEOUT' || code === 'EHOSTUNREACH' || code === 'ECONNRESET') {
    return `cannot reach PostgreSQL at ${redact(url)} (${String(code)})`;
  }
  if (code === '28P01' || code === '28000' || code === '3D000') return `PostgreSQL refused the connection to ${redact(url)}: ${(cause as Error).message}`;
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/** Fails with a clear reason when the schema was never migrated or lacks migrations this herald ships. */
async function checkMigrated(store: PostgresStore): Promise<string | undefined> {
  const applied = await store.control.migrated();
  const hint = `run: herald migrate${store.schema === 'herald' ? '' : ` --schema ${store.schema}`}`;
  if (applied === undefined) return `schema "${store.schema}" is not migrated (${hint})`;
  const missing = migrations.filter((m) => !applied.includes(m.version));
  if (missing.length > 0) return `schema "${store.schema}" lacks migration ${missing.map((m) => m.version).join(', ')} (${hint})`;
  return undefined;
}

async function execute(parsed: Parsed, url: string, environment: CliEnvironment): Promise<number> {
  const schema = typeof parsed.values.schema === 'string' ? parsed.values.schema : 'herald';
  // An operator's command never changes the schema by itself: only `herald migrate` does.
  const store = postgresStore({ url, schema, maxConnections: 4, connectionRetryMs: 0, autoMigrate: false });
  try {
    if (parsed.command !== 'migrate') {
      const problem = await checkMigrated(store);
      if (problem !== undefined) {
        environment.io.err(`herald: ${problem}`);
        return 1;
      }
    }
    const context = { parsed, store, io: environment.io, interrupted: environment.interrupted };
    if (parsed.command === 'dashboard') return await runDashboard(context);
    const command = commandTable[parsed.command];
    if (command === undefined) throw new UsageError(`unknown command "${parsed.command}"`);
    return await command(context);
  } finally {
    await store.close();
  }
}

/** Runs the CLI with `argv` (without node and the script); resolves with the exit code (0, 1 failure, 2 usage). */
export async function runCli(argv: readonly string[], environment: CliEnvironment): Promise<number> {
  const { io } = environment;
  const verbose = argv.includes('--verbose');
  let url = '';
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.values.help === true) {
      io.out(help[parsed.command] ?? help[''] ?? '');
      return 0;
    }
    const given = typeof parsed.values.url === 'string' ? parsed.values.url : environment.env.DATABASE_URL;
    if (given === undefined || given === '') throw new UsageError('no database: pass --url <url> or set DATABASE_URL');
    url = given;
    return await execute(parsed, url, environment);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`herald: ${error.message}`);
      return 2;
    }
    io.err(`herald: ${reason(error, url)}`);
    if (verbose) io.err(error instanceof Error ? (error.stack ?? error.message) : String(error));
    return 1;
  }
}
