/** The CLI's help texts: one per command, and the overview. */

const common = `Options of every command:
  --url <url>        PostgreSQL connection URL (default: $DATABASE_URL)
  --schema <name>    schema of herald's tables (default: herald)
  --verbose          print the stack of an error
  --help             this help`;

/** Help per command key (`status`, `dead-letters list`, ...); `''` is the overview. */
export const help: Readonly<Record<string, string>> = {
  '': `herald: operate herald handlers on PostgreSQL

Usage: herald <command> [options]

Commands:
  status                               every handler: state, cursor, head, lag, slots, members, dead letters
  dead-letters list [--handler H]      dead letters, oldest first
  dead-letters replay <id>             hand a dead letter's event to its handler again
  dead-letters replay --handler H --all
  dead-letters delete <id>             remove a dead letter
  reset <handler> [--to origin|current|N]
                                       stop the handler everywhere, move its cursors back, resume
  prune --dead-letters-older-than 30d  remove old dead letters
  migrate                              create or upgrade the schema
  dashboard [--port 4680] [--host 127.0.0.1] [--token T]
                                       serve the status page

Run "herald <command> --help" for a command's options.
Exit codes: 0 success, 1 failure (one line on stderr), 2 bad usage.

${common}`,
  status: `Usage: herald status [--json]

Every handler of the schema: state, cursor (lowest slot cursor), head, lag, slots and the live processes
holding them, dead letters. --json prints { head, handlers: [...] }.

${common}`,
  'dead-letters': `Usage: herald dead-letters <list|replay|delete> ...

  list [--handler H] [--json]
  replay <id> [--timeout 30s]
  replay --handler H --all [--timeout 30s]
  delete <id>

${common}`,
  'dead-letters list': `Usage: herald dead-letters list [--handler H] [--json]

Dead letters, oldest first (--json: the records as app.deadLetters() returns them).

${common}`,
  'dead-letters replay': `Usage: herald dead-letters replay <id> [--timeout 30s]
       herald dead-letters replay --handler H --all [--timeout 30s]

The process owning the event's slot hands it to the handler again; the dead letter is removed once that
succeeds. Waits for the outcome up to --timeout. When no process runs the handler, the replay is queued
for the next process that starts it.

${common}`,
  'dead-letters delete': `Usage: herald dead-letters delete <id>

Removes one dead letter.

${common}`,
  reset: `Usage: herald reset <handler> [--to origin|current|N] [--timeout 30s]

Every process running the handler stops it, one runs beforeReset, every slot cursor moves back, every
process resumes; waits until done or --timeout. Without --to the cursors go back to where startFrom first
put them; origin: before the first event; current: the head; N: after event N. When no process runs the
handler, the cursors are moved at once (beforeReset does not run: its code lives in the app).

${common}`,
  prune: `Usage: herald prune --dead-letters-older-than <duration>

Removes dead letters recorded longer ago than the duration (e.g. 30d, 12h, 90m, 45s).

${common}`,
  migrate: `Usage: herald migrate

Creates or upgrades the schema (idempotent).

${common}`,
  dashboard: `Usage: herald dashboard [--port 4680] [--host 127.0.0.1] [--token T]

Serves the status page. Its actions (replay, delete, reset) need the token, printed at start (a random
one unless --token is given).

${common}`,
};
