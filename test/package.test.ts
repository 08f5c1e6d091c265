/**
 * The package installs and type-checks in someone else's project: `npm pack` this checkout, install the tarball into
 * a fresh temporary project with TypeScript, type-check a small program that imports from `herald` under
 * `moduleResolution: "nodenext"` and `"bundler"`, and run it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = join(root, 'test', 'fixtures', 'consumer', 'main.ts');

/** Runs a command; rejects with its output when it fails. */
function sh(file: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // The bound only keeps a hung install from hanging the suite; nothing asserts a duration.
    execFile(file, args, { cwd, timeout: 240_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: '' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

const versionOf = (name: string): string =>
  (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/** The strictest options an application may use; `skipLibCheck: false` so herald's own .d.ts files are checked too. */
const strict = {
  target: 'ES2022',
  lib: ['ES2023'],
  types: ['node'],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  verbatimModuleSyntax: true,
  skipLibCheck: false,
};

let work: string;
let project: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'herald-pack-'));
  project = join(work, 'consumer');
  await sh('npm', ['pack', '--silent', '--pack-destination', work], root);
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
  assert.ok(tarball !== undefined, 'npm pack wrote no tarball');
  await sh('mkdir', ['-p', project], work);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  await sh(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball), `typescript@${versionOf('typescript')}`, `@types/node@${versionOf('@types/node')}`],
    project,
  );
  copyFileSync(fixture, join(project, 'main.ts'));
});

after(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

function tsconfig(name: string, compilerOptions: Record<string, unknown>): string {
  const file = join(project, name);
  writeFileSync(file, JSON.stringify({ compilerOptions: { ...strict, ...compilerOptions }, files: ['main.ts'] }, null, 2));
  return file;
}

describe('the packed package in a fresh project', { timeout: 600_000 }, () => {
  it('ships the built entry points and types, and no tests', () => {
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules', 'herald', 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    assert.ok('.' in manifest.exports);
    const files = readdirSync(join(project, 'node_modules', 'herald'));
    assert.ok(files.includes('dist'), `package has ${files.join(', ')}`);
    assert.ok(!files.includes('test'), 'tests are not shipped');
    assert.ok(readdirSync(join(project, 'node_modules', 'herald', 'dist')).includes('index.d.ts'));
  });

  it('type-checks with moduleResolution "nodenext", and the compiled program runs', async () => {
    const config = tsconfig('tsconfig.nodenext.json', { module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out' });
    await sh(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], project);
    const output = JSON.parse(await sh(process.execPath, [join(project, 'out', 'main.js')], project)) as Record<string, unknown>;
    assert.deepEqual(output['seen'], ['Hello#1']);
    assert.equal(output['handled'], 1);
    assert.equal(output['state'], 'live');
    assert.equal(output['running'], 'running');
    assert.deepEqual(output['states'], ['starting', 'catching_up', 'live', 'standby', 'stopping', 'stopped', 'failed']);
    assert.equal(output['heraldError'], true);
  });

  it('type-checks with moduleResolution "bundler"', async () => {
    const config = tsconfig('tsconfig.bundler.json', { module: 'ESNext', moduleResolution: 'Bundler', noEmit: true });
    await sh(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], project);
  });

  it('fails to type-check a program that misuses the public types (the check is real)', async () => {
    writeFileSync(join(project, 'wrong.ts'), "import type { HandlerState } from 'herald';\nexport const state: HandlerState = 'sleeping';\n");
    const file = join(project, 'tsconfig.wrong.json');
    writeFileSync(file, JSON.stringify({ compilerOptions: { ...strict, module: 'NodeNext', moduleResolution: 'NodeNext', noEmit: true }, files: ['wrong.ts'] }));
    await assert.rejects(sh(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', file], project), /TS2322: Type '"sleeping"' is not assignable/);
  });
});
