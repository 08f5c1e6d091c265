/**
 * Checks at run time that the postgres.js herald loads carries herald's patch against the connection-close
 * crash (`scripts/patch-postgres.mjs`, run at install): unpatched, a connection dying can end the process
 * from the driver's immediate queue, where no `catch` reaches (porsager/postgres#1066).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The comment `scripts/patch-postgres.mjs` leaves in every change it makes. */
export const driverPatchMarker = '/* herald-patch: deferred-write guard */';
const patchedVersion = '3.4.9';

/** The `connection.js` of the postgres.js herald imports (its ESM build). */
function loadedConnectionFile(): string {
  const entry = typeof import.meta.resolve === 'function' ? fileURLToPath(import.meta.resolve('postgres')) : createRequire(import.meta.url).resolve('postgres');
  return join(dirname(entry), 'connection.js');
}

function versionOf(connectionFile: string): string | undefined {
  for (let dir = dirname(connectionFile), i = 0; i < 3; dir = dirname(dir), i++) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown; version?: unknown };
    if (name === 'postgres') return typeof version === 'string' ? version : undefined;
  }
  return undefined;
}

/**
 * The warning for a postgres.js `connection.js` that lacks herald's patch, or `undefined` when it is
 * patched, or is another version than the one the patch is for, or cannot be read.
 * @example
 * patchWarning('/app/node_modules/postgres/src/connection.js'); // undefined once patched
 */
export function patchWarning(connectionFile: string): string | undefined {
  let source: string;
  try {
    source = readFileSync(connectionFile, 'utf8');
  } catch {
    return undefined;
  }
  if (source.includes(driverPatchMarker) || versionOf(connectionFile) !== patchedVersion) return undefined;
  return (
    `herald: postgres.js ${patchedVersion} at ${connectionFile} is not patched against the connection-close crash ` +
    '(porsager/postgres#1066): a dying connection can end the process; run node node_modules/herald/scripts/patch-postgres.mjs'
  );
}

let checked = false;

/**
 * Emits a one-time process warning (code `HERALD_PG_UNPATCHED`) when the postgres.js herald loads is not
 * patched. Never throws; later calls do nothing.
 * @example
 * assertDriverPatched(); // in postgresStore(), before opening connections
 */
export function assertDriverPatched(): void {
  if (checked) return;
  checked = true;
  let warning: string | undefined;
  try {
    warning = patchWarning(loadedConnectionFile());
  } catch {
    return; // postgres.js not resolvable from here: nothing to check
  }
  if (warning !== undefined) process.emitWarning(warning, { code: 'HERALD_PG_UNPATCHED' });
}
