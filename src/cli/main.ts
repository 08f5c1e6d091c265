#!/usr/bin/env node
/**
 * The `herald` command (package bin): operate herald handlers on PostgreSQL. `herald --help` lists the commands;
 * see docs/operations.md. From a checkout: `node --import tsx src/cli/main.ts status`.
 */
import { runCli } from './run.ts';

const interrupted = new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
});

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  io: {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  },
  interrupted,
});
// Nothing of the command is left running; signal listeners must not keep the process alive.
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
