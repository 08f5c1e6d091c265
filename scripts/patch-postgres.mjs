#!/usr/bin/env node
/* global process, console */
/**
 * Patches postgres.js 3.4.9 so that a connection dying never crashes the process nor wedges the pool
 * (porsager/postgres#1066, #1154, #1208; herald's docs: HARD-PARTS §8).
 *
 *   node scripts/patch-postgres.mjs [--check | --revert] [<postgres package dir> ...]
 *
 * Without directories, patches the `postgres` package that herald itself loads and the one the project
 * that installs herald loads (INIT_CWD, the current directory), once each. Another version than 3.4.9 is
 * left alone with a notice. Applying is idempotent: each change carries the marker comment and is skipped
 * when already present; a snippet that is neither patched nor found as expected fails loudly (exit 1).
 * `--check` exits 1 if a copy is unpatched; `--revert` restores the original text (for tests).
 *
 * What changes, in each build (`src/`, `cjs/src/`, `cf/src/`):
 * - connection.js, `nextWrite`: without a socket, drops the buffered bytes, clears the deferred-write timer
 *   and rejects the queries the connection holds with `CONNECTION_CLOSED`, instead of throwing a TypeError
 *   from the immediate queue; on a destroyed socket only drops the bytes (its coming close settles them);
 * - connection.js, `execute`: a query on a connection without a socket (a transaction's query after its
 *   connection died) rejects with `CONNECTION_CLOSED` and leaves the connection in the pool's closed queue;
 * - connection.js, `terminate()` and `closed()` reset `nextWriteTimer` and `chunk` after `clearImmediate`,
 *   so a stale timer cannot hold back every write of the reconnected socket (a wedged connection);
 * - connection.js, `closed()` also settles queries written between a socket error and its close;
 * - connection.js: the array-types query run on connect is caught, so a connection dying during it leaves
 *   no unhandled rejection (the next connection fetches the types again);
 * - index.js, `begin`: queries a transaction queued while its connection was busy are rejected when that
 *   connection closes, instead of never settling.
 */
import { readFileSync, realpathSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const marker = '/* herald-patch: deferred-write guard */';
const version = '3.4.9';
const builds = ['src', 'cjs/src', 'cf/src'];

/** Each change: the original snippet (found exactly once) and its replacement (carrying the marker). */
const changes = [
  {
    file: 'connection.js',
    name: 'nextWrite guard',
    from: `  function nextWrite(fn) {
    const x = socket.write(chunk, fn)
    nextWriteTimer !== null && clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null
    return x
  }
`,
    to: `  function nextWrite(fn) {
    ${marker}
    if (!socket || socket.destroyed)
      return dropWrite()

    const x = socket.write(chunk, fn)
    nextWriteTimer !== null && clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null
    return x
  }

  function dropWrite() {
    // The bytes can never reach the server. A destroyed socket's coming close settles its queries (closed()),
    // so that retries do not land on this connection before it leaves the pool; without a socket, settle here
    nextWriteTimer !== null && clearImmediate(nextWriteTimer)
    chunk = nextWriteTimer = null
    if (socket)
      return true

    const err = Errors.connection('CONNECTION_CLOSED', options, socket)
    query && queryError(query, err)
    while (sent.length)
      queryError(sent.shift(), err)
    query = null
    return true
  }
`,
  },
  {
    file: 'connection.js',
    name: 'execute guard',
    from: `    if (q.cancelled)
      return

    try {
`,
    to: `    if (q.cancelled)
      return

    if (!socket) ${marker}
      return queryError(q, Errors.connection('CONNECTION_CLOSED', options)), true

    try {
`,
  },
  {
    file: 'connection.js',
    name: 'terminate clears the deferred write',
    from: `    clearImmediate(nextWriteTimer)
    if (socket) {
`,
    to: `    clearImmediate(nextWriteTimer)
    nextWriteTimer = chunk = null ${marker}
    if (socket) {
`,
  },
  {
    file: 'connection.js',
    name: 'closed clears the deferred write',
    from: `    clearImmediate(nextWriteTimer)
    socket.removeListener('data', data)
`,
    to: `    clearImmediate(nextWriteTimer)
    nextWriteTimer = chunk = null ${marker}
    socket.removeListener('data', data)
`,
  },
  {
    file: 'connection.js',
    name: 'closed settles queries written after an error',
    from: `    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))
`,
    to: `    if (query || sent.length) ${marker}
      error(Errors.connection('CONNECTION_CLOSED', options, socket))
`,
  },
  {
    file: 'connection.js',
    name: 'array types query is caught',
    from: `        return fetchArrayTypes()
`,
    to: `        return fetchArrayTypes().catch(noop) ${marker}
`,
  },
  {
    file: 'index.js',
    name: 'a closed transaction rejects its queued queries',
    from: `        new Promise((_, reject) => connection.onclose = reject)
`,
    to: `        new Promise((_, reject) => connection.onclose = e => {
          while (queries.length) ${marker}
            queries.shift().reject(e)
          reject(e)
        })
`,
  },
];

function count(text, snippet) {
  return text.split(snippet).length - 1;
}

/** Applies (or reverts) every change to one file's text; throws when a snippet is not as expected. */
export function transform(text, file, revert = false) {
  let out = text;
  for (const { name, from, to } of changes.filter((change) => file.endsWith(`/${change.file}`))) {
    const [want, have] = revert ? [from, to] : [to, from];
    if (count(out, want) === 1 && count(out, have) === 0) continue;
    if (count(out, have) !== 1) throw new Error(`herald: cannot patch ${file}: the snippet for "${name}" is not found exactly once`);
    out = out.replace(have, () => want);
  }
  return out;
}

function packageDirOf(entry) {
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'postgres') return dir;
  }
  return undefined;
}

/** The installed `postgres` packages reachable from herald's location and from the installing project. */
export function installedPackages(from = [here, process.env.INIT_CWD, process.cwd()]) {
  const found = new Set();
  for (const base of from) {
    if (base === undefined || base === '') continue;
    try {
      const entry = createRequire(join(resolve(base), 'noop.js')).resolve('postgres');
      const dir = packageDirOf(entry);
      if (dir !== undefined) found.add(realpathSync(dir));
    } catch {
      // not reachable from there
    }
  }
  return [...found];
}

/** Patches (or checks, or reverts) one package directory. Returns what happened, as a sentence. */
export function patchPackage(dir, mode = 'apply') {
  const installed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  if (installed !== version) return `herald: postgres ${installed} at ${dir} is not ${version}; left unpatched (check that it fixes porsager/postgres#1066)`;
  const unpatched = [];
  for (const copy of builds.flatMap((build) => [`${build}/connection.js`, `${build}/index.js`])) {
    const file = join(dir, copy);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const next = transform(text, file, mode === 'revert');
    if (mode === 'check') {
      if (next !== text) unpatched.push(copy);
      continue;
    }
    if (next === text) continue;
    // A new file rather than an in-place write: never half-written, and a hard link into a shared store is left alone.
    writeFileSync(`${file}.herald-tmp`, next);
    renameSync(`${file}.herald-tmp`, file);
  }
  if (mode === 'check') return unpatched.length === 0 ? `herald: postgres at ${dir} is patched` : `herald: postgres at ${dir} is NOT patched (${unpatched.join(', ')})`;
  return `herald: postgres ${version} at ${dir} ${mode === 'revert' ? 'restored' : 'patched against connection-close crashes'}`;
}

function main(argv) {
  const mode = argv.includes('--check') ? 'check' : argv.includes('--revert') ? 'revert' : 'apply';
  const dirs = argv.filter((a) => !a.startsWith('--'));
  const targets = dirs.length > 0 ? dirs.map((d) => resolve(d)) : installedPackages();
  if (targets.length === 0) {
    console.log('herald: no postgres package found to patch');
    return 0;
  }
  let status = 0;
  for (const dir of targets) {
    const message = patchPackage(dir, mode);
    if (message.includes('NOT patched')) status = 1;
    console.log(message);
  }
  return status;
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
